"""md_escape: user text as Markdown that shows exactly that text, with no link, image or
autolink in it, read the way Streamlit renders Markdown (tests/payloads.py) and a GFM renderer
with linkify does (tests/markdown_check.py), escaping nothing in plain words."""

from __future__ import annotations

import re
from html import escape

import pytest
from markdown_check import rendered
from payloads import PAYLOAD, live_links

from nsexp.report.text import md_escape

WORD_JOINER = "\u2060"


def shown(markdown: str) -> str:
    """The text a reader sees: backslash escapes resolved, the invisible word joiner gone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(WORD_JOINER, "")


@pytest.mark.parametrize(
    "text",
    [
        PAYLOAD,
        "HTTPS://evil.invalid/x",
        "see www.evil.invalid, or mailto:a@evil.invalid",
        "[a](<http://evil.invalid>)",
        "<http://evil.invalid>",
        "![x]\n(http://evil.invalid/a.png)",
        "ftp://evil.invalid/x xmpp:a@evil.invalid",
    ],
)
def test_escaped_text_holds_no_live_link_and_reads_the_same(text: str) -> None:
    assert live_links(text)
    escaped = md_escape(text)
    assert live_links(escaped) == []
    assert shown(escaped) == " ".join(text.split())


def test_plain_text_and_intervals_stay_as_they_are() -> None:
    assert md_escape("Lessons completed [+5.2%, +11.0%]") == "Lessons completed [+5.2%, +11.0%]"
    assert md_escape("www") == "www" and md_escape("http") == "http"


TRICKY = [
    "_x_ and __y__, a*b*c, `code`, ~~gone~~ and ~one~",
    "# heading",
    "## heading",
    "> quote",
    "- item",
    "+ item",
    "---",
    "1. first",
    "12) twelfth",
    "[x] task",
    "[ref]: http://a.example",
    "<b>bold</b> <!-- c --> <?pi?> &amp; &#38; &#x26;",
    "see example.com and shop.example.org",
    "a\\*b c\\ d, ends with \\",
    "|a|b|",
    "[a](b) ![c](d) [e][f]",
    ":smile: :red[text] :material/home:",
]


@pytest.mark.parametrize("text", TRICKY)
def test_a_gfm_renderer_shows_escaped_text_as_it_is(text: str) -> None:
    html = rendered(md_escape(text)).replace(WORD_JOINER, "")
    assert html == f"<p>{escape(text, quote=False)}</p>\n"


@pytest.mark.parametrize(
    "text",
    [
        "The North Star improved: flat",
        "p < 0.001, p = 0.03",
        "Kohavi, Deng & Vermeer 2022",
        "Kevin_Hillstrom",
        "+4.2% [+3.1%, +5.2%] (95%)",
        "#1 priority, -5% churn, e.g. this, v1.2, 3 < 4 > 2",
    ],
)
def test_plain_words_need_no_escape(text: str) -> None:
    assert md_escape(text) == text
