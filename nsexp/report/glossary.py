"""The words a page counts and decides by, read from docs/glossary.md: the one place they are
defined, which the pages' help popovers quote (never a second copy in pages/).

An entry is a list item `- **word**: definition` (its continuation lines indented) under a
`## ` section; `terms` returns a section's entries, `help_text` one of them for a popover.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
COUNTING = "Counting"
_ENTRY = re.compile(r"^- \*\*(?P<term>[^*]+)\*\*: (?P<text>.*)$")


@functools.cache
def terms(section: str = COUNTING, path: Path = GLOSSARY) -> dict[str, str]:
    """The entries of the section whose heading starts with `section`: word -> definition
    (Markdown, one line)."""
    out: dict[str, str] = {}
    inside, term = False, None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inside, term = line[3:].startswith(section), None
            continue
        if not inside:
            continue
        match = _ENTRY.match(line)
        if match:
            term = match["term"]
            out[term] = match["text"]
        elif term and line.startswith("  ") and line.strip():
            out[term] += " " + line.strip()
        else:
            term = None
    return out


def help_text(*words: str, section: str = COUNTING) -> str:
    """The definitions of `words` for a help popover, each '**word**: definition'."""
    found = terms(section)
    return "\n\n".join(f"**{w}**: {found[w]}" for w in words)


def section_text(section: str = COUNTING) -> str:
    """Every entry of a section as a Markdown list, for a "what the counts mean" popover."""
    return "\n".join(f"- **{w}**: {text}" for w, text in terms(section).items())
