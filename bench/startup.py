"""CLI start time: `nsexp --help` and `nsexp readout` on a one-experiment CSV, and what it imports.

Each command is a fresh process, median of `--repeats`; the bare interpreter (`python -c pass`) is
measured the same way and subtracted, which is the issue's target: under 0.5 s of the process's own
time beyond the interpreter's start. The import floor (`python -c "import polars, numpy,
scipy.special"`) runs in the same rounds, and a readout of one small summary (the demo's
dark_mode.csv beside metrics.toml) is reported as its ratio to the floor, paired per round (target
1.3x). nsexp is byte-compiled first (`compileall`): an installed package has .pyc files, a checkout
run with PYTHONDONTWRITEBYTECODE would compile ~85 modules every run. `python -X importtime -m
nsexp --help` names the modules that cost the most (cumulative import time, the slowest top-level
packages and nsexp modules). Run alone: `python -m bench.run --only startup`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from bench._measure import REPO, paired, python, rounds

SECTION = "CLI start time"
TARGET_S = 0.5
FLOOR_TARGET = 1.3
FLOOR = "import polars, numpy, scipy.special"
DEMO = REPO / "data"


def small_summary(root: Path) -> Path:
    """The demo's dark_mode summary file alone in a directory with the demo catalog."""
    root.mkdir()
    (root / "dark_mode.csv").write_text((DEMO / "dark_mode.csv").read_text())
    (root / "metrics.toml").write_text((DEMO / "metrics.toml").read_text())
    return root


def one_experiment_csv(root: Path) -> Path:
    """The demo's streak_freeze experiment as a unit-level CSV beside the demo catalog."""
    pl.read_parquet(DEMO / "streak_freeze.parquet").write_csv(root / "streak_freeze.csv")
    (root / "metrics.toml").write_text((DEMO / "metrics.toml").read_text())
    return root / "streak_freeze.csv"


def import_offenders(limit: int = 12) -> list[tuple[str, float]]:
    """(module, cumulative ms) of the slowest imports of `nsexp --help`: top-level packages and
    nsexp's own modules, each counted where it is first imported."""
    done = subprocess.run(
        python("-X", "importtime", "-m", "nsexp", "--help"),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, name = int(match.group(1)) / 1000, match.group(3)
        if name.count(".") <= 2 or name.startswith("nsexp."):
            found[name] = max(found.get(name, 0.0), cumulative)
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    return [(name, ms) for name, ms in ranked if name != "nsexp"][:limit]


def run(argv: list[str] | None = None) -> str:
    """Measure the commands, rank the imports, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.startup")
    parser.add_argument("--repeats", type=int, default=7)
    args, _ = parser.parse_known_args(argv)
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        csv = one_experiment_csv(Path(tmp))
        small = small_summary(Path(tmp) / "small")
        results = rounds(
            {
                "python -c pass": python("-c", "pass"),
                f"python -c '{FLOOR}'": python("-c", FLOOR),
                "nsexp readout small/ --format json": python(
                    "-m", "nsexp", "readout", str(small), "--format", "json"
                ),
                "nsexp --help": python("-m", "nsexp", "--help"),
                "nsexp readout one.csv --format json": python(
                    "-m", "nsexp", "readout", str(csv), "--format", "json"
                ),
            },
            args.repeats,
        )
    bare = results["python -c pass"]
    floor = results[f"python -c '{FLOOR}'"]
    ratio = paired(results["nsexp readout small/ --format json"], floor)
    lines = [
        f"Fresh processes, median of {args.repeats} (wall; CPU = user + system). Beyond the "
        "interpreter = the command's median minus `python -c pass`'s. nsexp byte-compiled "
        "first (`python -m compileall -q nsexp`), as an install would be. `small/` is the "
        "demo's dark_mode.csv alone with metrics.toml. Command: "
        "`python -m bench.run --only startup`.",
        "",
        "| command | wall s | CPU s | beyond the interpreter s | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, runs in results.items():
        beyond = runs.wall - bare.wall
        met = "met" if beyond < TARGET_S else "**missed**"
        target = "—" if runs in (bare, floor) else f"< {TARGET_S} s: {met}"
        lines.append(f"| `{label}` | {runs.wall:.2f} | {runs.cpu:.2f} | {beyond:.2f} | {target} |")
    verdict = "met" if ratio <= FLOOR_TARGET else "**missed**"
    lines += [
        "",
        f"`nsexp readout small/` / the import floor (`{FLOOR}`), median over rounds of the "
        f"ratio in one round: **{ratio:.2f}x** (target {FLOOR_TARGET}x: {verdict}).",
        "",
        "Slowest imports of `nsexp --help` (`python -X importtime`, cumulative ms; a package's "
        "figure includes what it imports):",
        "",
        "| module | ms |",
        "|---|---:|",
        *(f"| `{name}` | {ms:,.0f} |" for name, ms in import_offenders()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
