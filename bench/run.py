"""Run the benchmark sections and write docs/benchmarks.md, one marked block per section."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import pkgutil
import platform
import re
import sys
from pathlib import Path
from types import ModuleType

import bench

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (`python -m bench.run`); each section by its own bench/ module.\n"
)
_SKIP = {"run"}


def sections() -> dict[str, ModuleType]:
    """Every bench module that defines a section (SECTION and run), by module name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"bench.{info.name}")
        except ImportError as exc:  # one section's missing extra must not stop the others
            print(f"[bench] skipping {info.name}: {exc}", file=sys.stderr)
            continue
        if hasattr(module, "SECTION") and callable(getattr(module, "run", None)):
            found[info.name] = module
    return found


def machine() -> str:
    """One line about where the numbers were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = next(
            int(line.split()[1]) / 2**20
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        memory = f", {mem:.0f} GiB RAM"
    except (OSError, StopIteration):
        memory = ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average " + " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cores} cores ({cpu}){memory}, Python {platform.python_version()}{load}"


def write_section(name: str, markdown: str, doc: Path = DOC) -> None:
    """Replace (or append) the block between this section's markers; keep everything else."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections, print their Markdown and write it to docs/benchmarks.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", action="append", help="run only this section (repeatable)")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    args, rest = parser.parse_known_args(argv)
    found = sections()
    chosen = args.only or list(found)
    unknown = [s for s in chosen if s not in found]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; known: {', '.join(found)}")
    stamp = f"_{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}._"
    for name in chosen:
        markdown = found[name].run(rest)
        text = f"## {found[name].SECTION}\n\n{stamp}\n\n{markdown.strip()}\n"
        print(text)
        if not args.no_write:
            write_section(name, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
