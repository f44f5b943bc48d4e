"""One table writer for text: aligned columns for a terminal and pipe tables for Markdown."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

# What a terminal acts on rather than shows: C0 controls but the line feed (ESC starts the
# sequences that retitle a window, clear the screen or write the clipboard; CR overwrites a
# line), DEL, the C1 controls (U+009B is a one-character CSI) and the bidirectional embeddings,
# overrides and isolates, which can reorder a verdict line.
_TERMINAL_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in (*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A))
    if c != 0x0A
}
_ONE_LINE_ESCAPES = {**_TERMINAL_ESCAPES, 0x0A: "\\u000a"}


@functools.cache
def _finder(one_line: bool) -> tuple[dict[int, str], bytes, re.Pattern[str]]:
    """The escapes, the ASCII bytes that need none and one character class of the escaped
    characters. Text is checked in C first: its UTF-8 with the safe bytes deleted is small (what
    is left of a 70 MB readout is its few non-ASCII characters) and still UTF-8 (no ASCII byte is
    part of another character's), so the class reads it decoded; only text that holds one is
    rewritten by the regex (str.translate looked every character of a 40 MB text up in a dict).
    Compiled on first use: a command that prints no error line never compiles the other."""
    escapes = _ONE_LINE_ESCAPES if one_line else _TERMINAL_ESCAPES
    safe = bytes(c for c in range(128) if c not in escapes)
    return escapes, safe, re.compile("[" + "".join(re.escape(chr(c)) for c in escapes) + "]")


def aligned(
    headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "", rule: bool = True
) -> str:
    """Columns padded to their widest cell, with a dashed rule under the headers."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    head = [line(headers), line(["-" * w for w in widths])] if rule else [line(headers)]
    return "\n".join([*head, *map(line, rows)])


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    r"""Text for a terminal with every control and bidirectional override written as a `\uXXXX`
    escape, so no label, name or variant in it can act on the terminal (`one_line`: line feeds
    too, for an error line). In JSON text those characters only occur inside strings, where the
    escape is valid JSON for the same string."""
    escapes, safe, finder = _finder(one_line)
    try:
        rest = text.encode().translate(None, safe).decode()
    except UnicodeEncodeError:  # a lone surrogate: the regex reads it
        rest = text
    if finder.search(rest) is None:
        return text
    return finder.sub(lambda m: escapes[ord(m.group())], text)


def terminal_safe_utf8(text: str | bytes) -> bytes | None:
    """`terminal_safe(text)` as UTF-8, the text encoded once (its check encodes it anyway);
    None for text with a lone surrogate, which has no UTF-8. Bytes are UTF-8 text (a JSON
    writer's), checked as they are and returned unchanged when safe, never decoded whole."""
    escapes, safe, finder = _finder(False)
    try:
        data = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:
        return None
    if finder.search(data.translate(None, safe).decode()) is None:
        return data
    whole = text if isinstance(text, str) else text.decode()
    return finder.sub(lambda m: escapes[ord(m.group())], whole).encode()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# Where GitHub-flavoured Markdown (Streamlit's) finds a link in plain text, escapes or not: a
# scheme before its ':', 'www' before its '.', the '@' of an e-mail address.
_AUTOLINK_START = re.compile(r"(?i)(?:https?|ftp|mailto|xmpp)(?=:)|www(?=\.)|(?=@)")
_WORD_JOINER = "\u2060"  # invisible; splits what the autolink finder reads as one run
# Each character that would act as Markdown where it stands (CommonMark, GitHub's extensions,
# Streamlit's): code, emphasis, strikethrough, table cells and LaTeX anywhere; '_' outside a
# word; a backslash before punctuation or at the end; an HTML tag or entity; a colon opening an
# emoji code, a colour or an icon; the '.' of a domain (linkifiers link 'example.com'); the '('
# of a link and the '[' of an image; a quote, heading, task, reference or list at the start.
_ACTS = re.compile(
    r"[`*~|$]"
    r"|(?<![^\W_])_|_(?![^\W_])"
    r"|\\(?=[!-/:-@\[-`{-~]|$)"
    r"|<(?=[A-Za-z/!?])"
    r"|&(?=#?\w+;)"
    r"|:(?=[\w+\-/])"
    r"|(?<=[^\W_]|\u2060)\.(?=[^\W\d_]{2})"
    r"|(?<=\])\(|(?<=!)\["
    r"|^(?:>|\[(?=[ xX]\]|[^\]]*\]:)|#(?=#*(?:\s|$))|[-+](?=\s|$)|-(?=-)|\d{1,9}[.)](?=\s|$))"
)


def md_escape(text: str) -> str:
    """Text (names, labels, hypotheses, variants, or a sentence quoting them) as inert
    Markdown, the one way user text reaches Markdown, escaping only what would act where it
    stands, so a sentence of plain words comes out as written ('p < 0.001', 'Deng & Vermeer',
    'improved: flat', 'Kevin_Hillstrom') while emphasis, code, HTML, table cells, LaTeX, emoji
    codes, headings and lists in it are backslash-escaped, a link or image cannot form, an
    autolink ('http:', 'www.', 'a@b.c') is split by an invisible word joiner (Streamlit links
    them even when escaped) and a bare domain's dot escaped (a linkifier links 'example.com'),
    and line breaks become spaces. Brackets alone stay: '[+5.2%, +11.0%]' reads as it is."""
    flat = _AUTOLINK_START.sub(lambda m: m.group(0) + _WORD_JOINER, " ".join(str(text).split()))
    # the backslash goes before a match's last character (a list number's '.' or ')')
    return _ACTS.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], flat)


def md_code(text: str) -> str:
    """User text as a Markdown code span that no backtick in it can break out of."""
    flat = " ".join(str(text).split())
    run, best = 0, 0
    for c in flat:
        run = run + 1 if c == "`" else 0
        best = max(best, run)
    fence = "`" * (best + 1)
    pad = " " if best else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
