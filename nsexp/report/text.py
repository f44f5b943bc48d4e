"""One table writer for text: aligned columns for a terminal and pipe tables for Markdown."""

from __future__ import annotations

from collections.abc import Sequence


def aligned(
    headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "", rule: bool = True
) -> str:
    """Columns padded to their widest cell, with a dashed rule under the headers."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    head = [line(headers), line(["-" * w for w in widths])] if rule else [line(headers)]
    return "\n".join([*head, *map(line, rows)])


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
