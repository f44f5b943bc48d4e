"""Headless Chromium as the browser tests (tests/served.py) and the benchmarks (bench/browser.py,
bench/load.py) launch it: Debian's binary and one set of flags, so a test and a figure see the
same browser."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
