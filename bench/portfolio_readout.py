"""A 1,000-experiment portfolio in summary form: the full readout, end to end and stage by stage.

The data are bench/portfolio.py's generator at 1,000 experiments x 10 metrics x 3 variants, once
with 14 daily rows per cell (what a warehouse query returns; the readout then also draws every
North Star timeline) and once undated. End to end is `nsexp readout DIR --format json` in a fresh
process (median of `--repeats`); the stages are the same calls the CLI makes, timed in one
process after a warm-up: read the data, learn from every experiment (the tree's evidence, the
history lines, each comparison's predicted North Star, false-positive risk and alerts), build
the readout, turn it into a dict, write the JSON text (orjson, as the CLI does). Run alone:
`python -m bench.run --only portfolio_readout`. With `--before COMMIT` (default main before
issue 23's portfolio work, 6ea05c3) that commit's nsexp, exported with `git archive`, runs in
the same rounds, and the JSON texts are compared byte for byte; `--before A,B` compares
several (e.g. the issue's start and this session's). Stages are timed in CPU seconds (all
threads), steadier than wall on a shared machine, with the garbage collector paused where the
CLI pauses it (everything after the read).
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from bench._measure import REPO, Runs, measure, paired, python
from bench.portfolio import write_portfolio
from bench.startup import FLOOR

SECTION = "Portfolio of 1,000 experiments: full readout"
TARGET_S = 2.0
BEFORE = "6ea05c3,581eb10"  # main before issue 23's portfolio work; main at session 30's start
EXPERIMENTS, METRICS, VARIANTS = 1000, 10, 3


def write_both(root: Path) -> dict[str, Path]:
    """The dated and the undated portfolio, each in its own directory."""
    dated = write_portfolio(root / "dated", EXPERIMENTS, METRICS, VARIANTS, days=14)
    undated = write_portfolio(root / "undated", EXPERIMENTS, METRICS, VARIANTS, days=1)
    summary = undated / "summary.parquet"
    pl.read_parquet(summary).drop("date").write_parquet(summary)
    return {"14 daily rows per cell": dated, "undated": undated}


def stages(root: Path, repeats: int = 3) -> dict[str, float]:
    """Median CPU seconds (all threads) of each stage of `nsexp readout --format json`, the
    calls the CLI makes, in this process."""
    from nsexp.analysis.settings import Settings
    from nsexp.cli.collector import collector_paused
    from nsexp.io import load_dataset
    from nsexp.learning.history import learned_readout, readout_learning
    from nsexp.report.json import dumps_utf8, readout_dict
    from nsexp.report.text import terminal_safe_utf8

    settings = Settings()
    box: dict[str, Any] = {}

    def timed(fn: Callable[[], Any], paused: bool = True) -> float:
        """Median CPU seconds of fn, with the garbage collector paused as the CLI pauses it
        around everything after the read (nsexp.cli.collector)."""
        times = []
        for _ in range(repeats):
            with collector_paused() if paused else contextlib.nullcontext():
                start = time.process_time()
                fn()
                times.append(time.process_time() - start)
        return statistics.median(times)

    box["data"] = load_dataset(root)
    out = {
        "read the data (load_dataset)": timed(
            lambda: box.update(data=load_dataset(root)), paused=False
        )
    }
    out["learning (readout_learning)"] = timed(
        lambda: box.update(learning=readout_learning(box["data"], settings))
    )
    out["readout (build_readout)"] = timed(
        lambda: box.update(readout=learned_readout(box["data"], settings, learning=box["learning"]))
    )
    out["to a dict (readout_dict, plain=False)"] = timed(
        lambda: box.update(doc=readout_dict(box["readout"], plain=False))
    )
    out["JSON bytes (dumps_utf8)"] = timed(lambda: box.update(text=dumps_utf8(box["doc"])))
    out["checked for the terminal (terminal_safe_utf8)"] = timed(
        lambda: terminal_safe_utf8(box["text"])
    )
    return out


def export(commit: str, root: Path) -> Path | None:
    """`commit`'s nsexp package in `root`, byte-compiled (None without git or that commit)."""
    archive = subprocess.run(
        ["git", "archive", commit, "nsexp"], cwd=REPO, capture_output=True, check=False
    )
    if archive.returncode:
        return None
    root.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=root, check=True)
    return root


def same_text(argv: list[str], trees: dict[str, Path], out: Path) -> dict[str, bool]:
    """Per tree but the last (the after tree): whether `argv` writes the same bytes run from it
    as from the last."""
    files = {}
    for name, tree in trees.items():
        files[name] = out / f"{name}.json"
        with files[name].open("wb") as sink:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            subprocess.run(argv, cwd=tree, stdout=sink, env=env, check=True)
    *befores, after = files.values()
    return {
        name: filecmp.cmp(path, after, shallow=False)
        for name, path in zip(files, befores, strict=False)
    }


def run(argv: list[str] | None = None) -> str:
    """Write the portfolios, time the CLI (before and after) and the stages, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.portfolio_readout")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--before", default=BEFORE, help="the commits to compare with, comma-separated ('': none)"
    )
    args, _ = parser.parse_known_args(argv)
    commits = [c for c in args.before.split(",") if c]
    lines = [
        f"{EXPERIMENTS:,} experiments x {METRICS} metrics x {VARIANTS} variants (summary rows, "
        "bench/portfolio.py's generator). End to end: `nsexp readout DIR --format json`, a fresh "
        f"process, median of {args.repeats} rounds, interpreter and imports included; before "
        f"is main at {', '.join(commits) or '(none)'} (each one's nsexp exported with `git "
        "archive`), after this tree, each run in turn with the import floor in every round "
        "(nsexp byte-compiled first). / import floor and after / before (on each before's row: "
        "after / that before) are medians over rounds of the ratio of wall times in one round "
        "(the machine's load moves all of them); the CPU ratio is of the median CPU seconds "
        "(user + system), steadier than wall on a shared machine. Command: "
        "`python -m bench.run --only portfolio_readout`.",
        "",
        "| data | nsexp | wall s | CPU s | peak RSS MB | / import floor | after / before wall "
        "| after / before CPU | target < 2 s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        trees: dict[str, Path] = {}
        for commit in commits:
            tree = export(commit, Path(tmp) / f"before-{commit}")
            if tree is not None:
                trees[f"before {commit}"] = tree
        trees["after"] = REPO
        dirs = write_both(Path(tmp))
        readouts = {
            label: python("-m", "nsexp", "readout", str(d), "--format", "json")
            for label, d in dirs.items()
        }
        commands = {
            f"{label}|{name}": (argv, tree)
            for label, argv in readouts.items()
            for name, tree in trees.items()
        }
        results = rounds_in({**commands, FLOOR: (python("-c", FLOOR), REPO)}, args.repeats)
        floor = results.pop(FLOOR)
        for key, runs in results.items():
            label, name = key.split("|")
            ok = "met" if runs.wall < TARGET_S else "**missed**"
            wall, cpu = "—", "—"
            if name != "after":
                now = results[f"{label}|after"]
                wall, cpu = f"{paired(now, runs):.2f}x", f"{now.cpu / runs.cpu:.2f}x"
            lines.append(
                f"| {label} | {name} | {runs.wall:.2f} | {runs.cpu:.2f} | {runs.peak_mb:,.0f} | "
                f"{paired(runs, floor):.1f}x | {wall} | {cpu} | {ok} |"
            )
        lines.append(
            f"| — | the import floor (`{FLOOR}`) | {floor.wall:.2f} | {floor.cpu:.2f} | "
            f"{floor.peak_mb:,.0f} | 1.0x | — | — | — |"
        )
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        lines += ["", f"Load average after the timed rounds: {load}."]
        if len(trees) > 1:
            same = {label: same_text(argv, trees, Path(tmp)) for label, argv in readouts.items()}
            lines.append(
                "JSON text of the after tree against each before: "
                + "; ".join(
                    f"{label}: {name} {'byte-identical' if ok else '**differs**'}"
                    for label, per in same.items()
                    for name, ok in per.items()
                )
                + " (`cmp`)."
            )
        lines += [
            "",
            "Where the time goes after (CPU seconds of all threads, median of 3 in one warm "
            "process):",
            "",
        ]
        per = {label: stages(d) for label, d in dirs.items()}
    labels = list(per)
    lines += [
        f"| stage | {' | '.join(labels)} |",
        f"|---|{'---:|' * len(labels)}",
        *(
            f"| {stage} | {' | '.join(f'{per[lb][stage]:.2f}' for lb in labels)} |"
            for stage in per[labels[0]]
        ),
        "",
        "End to end also counts the interpreter and the imports (numpy, Polars, scipy.special: "
        "the import floor) and hashing the files for the readout's fingerprint. The learning "
        "pass is a second analysis of every experiment (verdicts without sentences) plus the "
        "tree's bootstrap over experiments; the readout pass writes every reason, record and "
        "North Star timeline.",
    ]
    return "\n".join(lines)


def rounds_in(commands: dict[str, tuple[list[str], Path]], repeats: int) -> dict[str, Runs]:
    """bench._measure.rounds with each command run in its own tree (its cwd and PYTHONPATH),
    so `python -m nsexp` imports that tree's nsexp."""
    out = {label: Runs(label) for label in commands}
    for round_ in range(repeats):
        for label, (argv, tree) in commands.items():
            print(f"[bench] round {round_ + 1}: {label}", file=sys.stderr, flush=True)
            run = measure(argv, cwd=tree, env={"PYTHONPATH": str(tree)})
            if run.code:
                raise RuntimeError(f"{label} failed ({run.code}):\n{run.stderr}")
            out[label].runs.append(run)
    return out


if __name__ == "__main__":
    print(run(sys.argv[1:]))
