"""Summarise py-spy's collapsed stacks ("frame;frame;frame count" lines) by function: the share
of samples a function is on the stack for (inclusive), for the project's own code and for the
libraries it calls into."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from bench._measure import REPO

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^)]*?)(?::\d+)?\)$")


def _short(file: str) -> str:
    for marker in (f"{REPO}/", "site-packages/", "/wt14/", "/main/", "lib/python3"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def inclusive(stacks: Path) -> tuple[Counter, int]:
    """Samples per (file, function) on the stack, each counted once per sample; the total."""
    seen: Counter = Counter()
    total = 0
    for line in stacks.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        keys = set()
        for frame in frames.split(";"):
            match = _FRAME.match(frame.strip())
            if match:
                keys.add((_short(match["file"]), match["func"]))
        for key in keys:
            seen[key] += n
    return seen, total


def summary(stacks: Path, top: int = 18) -> list[str]:
    """A Markdown table of the functions of nsexp/, pages/ and app.py with the most samples,
    and the library functions under them."""
    seen, total = inclusive(stacks)
    if not total:
        return ["(no samples)"]
    ours = [(k, n) for k, n in seen.most_common() if k[0].startswith(("nsexp/", "pages/", "app"))]
    theirs = [
        (k, n)
        for k, n in seen.most_common()
        if k[0].startswith(("streamlit/", "polars/", "altair/", "pyarrow/", "narwhals/"))
    ]
    lines = ["| code | function | share of samples |", "|---|---|---:|"]
    lines += [f"| `{f}` | `{fn}` | {n / total:.0%} |" for (f, fn), n in ours[:top]]
    lines += ["", "| library | function | share of samples |", "|---|---|---:|"]
    lines += [f"| `{f}` | `{fn}` | {n / total:.0%} |" for (f, fn), n in theirs[:top]]
    lines += ["", f"{total:,} samples."]
    return lines
