"""md_escape: user text as Markdown that shows exactly that text, with no link, image or
autolink in it, read the way Streamlit renders Markdown (tests/payloads.py)."""

from __future__ import annotations

import re

import pytest
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
