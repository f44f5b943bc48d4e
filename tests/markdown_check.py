"""A Markdown export read the way a review document takes it: rendered by markdown-it-py with
GitHub's extensions and linkify on (bare domains too), and checked clean: a backslash only inside
user text, no link, image or HTML that the template did not put there, and every piece of user
text shown as it is.

    rendered(md) -> the HTML a GFM renderer with linkify makes of it
    assert_clean(md, user_texts, links=()) -> raises AssertionError naming what is wrong

Readout exports (tests/report/test_markdown_export.py) and the review digest use it."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Collection, Iterable, Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

WORD_JOINER = "\u2060"  # md_escape splits autolinks with it; a reader does not see it
# GFM-like: tables, strikethrough, raw HTML and linkify with fuzzy links ('example.com'), the
# '.invalid' host of the planted payloads (tests/payloads.py) a known top-level domain.
_MD = MarkdownIt("gfm-like")
_MD.linkify.tlds("invalid", True)
# GitHub's autolink literals (remark-gfm, GitHub itself) in the text a renderer shows: a scheme,
# 'www.' or an e-mail address, which those renderers link after escapes are resolved.
_AUTOLINK = re.compile(r"(?i)(?:https?://|ftp://|www\.)[-.\w]+|[-.\w+]+@[-\w]+(?:\.[-\w]+)+")
_TAG = re.compile(r"<[^>]*>")


@functools.lru_cache(maxsize=4)
def rendered(md: str) -> str:
    """The HTML of `md` by a GFM-like renderer with linkify on (the last few kept: a check and
    its test render the same export)."""
    return _MD.render(md)


def shown(md: str) -> str:
    """The text a reader sees: the rendering's text, entities decoded, word joiners dropped."""
    return html.unescape(_TAG.sub(" ", rendered(md))).replace(WORD_JOINER, "")


def assert_clean(md: str, user_texts: Iterable[str], links: Collection[str] = ()) -> None:
    """`md` has a backslash only inside a piece of user text (as md_escape or md_code wrote
    it), no link but `links` (the template's own), no image and no raw HTML, and shows every
    one of `user_texts` as it is (whitespace runs read as one space)."""
    texts = [" ".join(str(t).split()) for t in user_texts]
    texts = [t for t in texts if t]
    stray = _stray_backslashes(md, texts)
    assert not stray, f"backslashes outside user text: {stray[:5]}"
    live = [f"{t.type} {t.attrs.get('href') or t.attrs.get('src') or t.content}" for t in _live(md)]
    allowed = {_MD.normalizeLink(link) for link in links} | set(links)
    live = [x for x in live if x.split(" ", 1)[1] not in allowed]
    assert not live, f"links, images or HTML from the data: {live[:5]}"
    seen = " ".join(shown(md).split())
    missing = [t for t in texts if t not in seen]
    assert not missing, f"user text not shown as it is: {missing[:3]}"
    plain = seen
    for t in sorted(texts, key=len, reverse=True):
        plain = plain.replace(t, "")
    assert "\\" not in plain, f"a backslash shows outside user text: {_around(plain)}"


def _stray_backslashes(md: str, texts: list[str]) -> list[str]:
    """The context of each backslash of the source that is not inside some user text's
    escaped or code form (each character optionally backslash-escaped, word joiners allowed)."""
    covered = bytearray(len(md))
    for t in dict.fromkeys(texts):  # a text quoted twice matches the same places
        for m in re.finditer(_escaped_form(t), md):
            covered[m.start() : m.end()] = b"\1" * (m.end() - m.start())
    return [md[max(0, i - 30) : i + 30] for i, c in enumerate(md) if c == "\\" and not covered[i]]


def _escaped_form(text: str) -> str:
    """A regex of `text` as md_escape or md_code may write it: a word joiner first, and each
    character optionally backslash-escaped and followed by a word joiner. The first character's
    options are spelled as alternatives (greedy order: with the joiner, with the backslash) so
    that the pattern starts with a literal and the regex engine skips ahead to candidates."""
    j, first = WORD_JOINER, re.escape(text[0])
    head = f"(?:{j}\\\\{first}|{j}{first}|\\\\{first}|{first}){j}?"
    return head + "".join(rf"(?:\\)?{re.escape(c)}{j}?" for c in text[1:])


def _live(md: str) -> Iterator[Token]:
    """Links, images and raw HTML in the parsed document, and text that GitHub's autolinks
    would make a link (as a text token whose content is the link)."""
    for block in _MD.parse(md):
        if block.type == "html_block":
            yield block
        in_link = False
        for token in block.children or []:
            if token.type in ("link_open", "image", "html_inline"):
                yield token
            in_link = token.type == "link_open" or (in_link and token.type != "link_close")
            if token.type == "text" and not in_link:
                for m in _AUTOLINK.finditer(token.content):
                    yield Token("autolink", "", 0, content=m.group(0))


def _around(text: str) -> str:
    """The text around its first backslash."""
    i = text.find("\\")
    return text[max(0, i - 40) : i + 40]
