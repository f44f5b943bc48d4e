"""CLI start time: `nsexp --help` and `nsexp readout` on a one-experiment CSV, and what it imports.

Each command is a fresh process, median of `--repeats`; the bare interpreter (`python -c pass`) is
measured the same way and subtracted, which is the issue's target: under 0.5 s of the process's own
time beyond the interpreter's start. The import floor (`python -c "import polars, numpy,
scipy.special"`) runs in the same rounds, and a readout of one small summary (the demo's
dark_mode.csv beside metrics.toml) is reported as its ratio to the floor, paired per round (target
1.3x). nsexp's CLI runs numpy's OpenBLAS on one thread (OPENBLAS_NUM_THREADS=1, which spares
the start of its idle worker threads); the floor as the issue defines it does not, so the floor
also runs with that setting, and the ratio is given against each. nsexp is byte-compiled
first (`compileall`): an installed package has .pyc files, a checkout run with
PYTHONDONTWRITEBYTECODE would compile ~85 modules every run. `python -X importtime -m
nsexp --help` names the modules that cost the most (cumulative import time, the slowest top-level
packages and nsexp modules). The same readout from nsexp as it was at `--before` (a git revision,
default BEFORE: main before issue 23's CLI work; `git archive` into a temporary directory,
byte-compiled the same way) runs in the same rounds, so the before/after ratios share the load.
Run alone: `python -m bench.run --only startup`.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import polars as pl

from bench._measure import REPO, Runs, paired, python, rounds

SECTION = "CLI start time"
TARGET_S = 0.5
FLOOR_TARGET = 1.3
FLOOR = "import polars, numpy, scipy.special"
# The floor with the one OpenBLAS thread nsexp's CLI asks for (nsexp.BLAS_THREADS).
FLOOR_ONE_BLAS = f"import os; os.environ.setdefault('OPENBLAS_NUM_THREADS', '1'); {FLOOR}"
DEMO = REPO / "data"
BEFORE = (
    "6ea05c3"  # main before issue 23's CLI work (the learning pass judged every experiment twice)
)


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


def checkout(revision: str, root: Path) -> Path | None:
    """nsexp's package as it was at a git revision, byte-compiled, under root (None when git
    or the revision is not there)."""
    done = subprocess.run(
        ["git", "archive", "--format=tar", revision, "nsexp"], cwd=REPO, capture_output=True
    )
    if done.returncode:
        return None
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        tar.extractall(root, filter="data")
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=root, check=True)
    return root


def readout_from(tree: Path, summary: Path) -> list[str]:
    """argv: `nsexp readout summary --format json` run from `tree` (`-m` puts the working
    directory first on the path, so that tree's nsexp is the one imported)."""
    command = shlex.join(python("-m", "nsexp", "readout", str(summary), "--format", "json"))
    return ["sh", "-c", f"cd {shlex.quote(str(tree))} && exec {command}"]


def cpu_ratio(a: Runs, b: Runs) -> float:
    """Median over rounds of a's CPU / b's CPU in the same round."""
    return statistics.median(x.cpu / y.cpu for x, y in zip(a.runs, b.runs, strict=True))


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
    parser.add_argument("--before", default=BEFORE, help="git revision to compare with")
    args, _ = parser.parse_known_args(argv)
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=REPO, check=True)
    floor_label, small_label = f"python -c '{FLOOR}'", "nsexp readout small/ --format json"
    one_blas_label = f"{floor_label} with OPENBLAS_NUM_THREADS=1"
    before_label = f"{small_label} (before, {args.before})"
    with tempfile.TemporaryDirectory() as tmp:
        csv = one_experiment_csv(Path(tmp))
        small = small_summary(Path(tmp) / "small")
        before = checkout(args.before, Path(tmp) / "before")
        commands = {
            "python -c pass": python("-c", "pass"),
            floor_label: python("-c", FLOOR),
            one_blas_label: python("-c", FLOOR_ONE_BLAS),
            small_label: python("-m", "nsexp", "readout", str(small), "--format", "json"),
            **({before_label: readout_from(before, small)} if before is not None else {}),
            "nsexp --help": python("-m", "nsexp", "--help"),
            "nsexp readout one.csv --format json": python(
                "-m", "nsexp", "readout", str(csv), "--format", "json"
            ),
        }
        results = rounds(commands, args.repeats)
    bare, floor = results["python -c pass"], results[floor_label]
    lines = [
        f"Fresh processes, median of {args.repeats} rounds, every command once per round in "
        "turn (wall; CPU = user + system). Beyond the interpreter = the command's median minus "
        "`python -c pass`'s. nsexp byte-compiled first (`python -m compileall -q nsexp`), as "
        "an install would be. `small/` is the demo's dark_mode.csv alone with metrics.toml; "
        f"_before_ is nsexp at {args.before} (`git archive`, byte-compiled the same way). "
        "Command: `python -m bench.run --only startup`.",
        "",
        "| command | wall s | CPU s | beyond the interpreter s | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, runs in results.items():
        beyond = runs.wall - bare.wall
        met = "met" if beyond < TARGET_S else "**missed**"
        floors = ("python -c pass", floor_label, one_blas_label)
        target = "—" if label in floors else f"< {TARGET_S} s: {met}"
        lines.append(f"| `{label}` | {runs.wall:.2f} | {runs.cpu:.2f} | {beyond:.2f} | {target} |")
    lines += [
        "",
        f"Against the import floor (`{FLOOR}`), the median over rounds of the ratio in one round "
        f"(target {FLOOR_TARGET}x, met when both ratios are within it: on a loaded machine both "
        "commands wait for a core, which pulls the wall ratio toward 1x and leaves CPU the "
        "steadier figure). The target is judged against the floor as the issue defines it; "
        "nsexp's CLI sets OPENBLAS_NUM_THREADS=1, which that floor does not, so the ratio "
        "against the floor run with the same setting (_1 BLAS_) is given beside it:",
        "",
        "| `nsexp readout small/` | wall / floor | CPU / floor | wall / floor, 1 BLAS | "
        "CPU / floor, 1 BLAS | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    one_blas = results[one_blas_label]
    for name, label in (("before", before_label), ("after", small_label)):
        if label not in results:
            continue
        ratio, cpu = paired(results[label], floor), cpu_ratio(results[label], floor)
        ratio_1, cpu_1 = paired(results[label], one_blas), cpu_ratio(results[label], one_blas)
        verdict = "met" if max(ratio, cpu) <= FLOOR_TARGET else "**missed**"
        lines.append(
            f"| {name} | **{ratio:.2f}x** | {cpu:.2f}x | **{ratio_1:.2f}x** | {cpu_1:.2f}x | "
            f"{verdict} |"
        )
    lines += [
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
