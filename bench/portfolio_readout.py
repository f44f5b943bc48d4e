"""A 1,000-experiment portfolio in summary form: the full readout, end to end and stage by stage.

The data are bench/portfolio.py's generator at 1,000 experiments x 10 metrics x 3 variants, once
with 14 daily rows per cell (what a warehouse query returns; the readout then also draws every
North Star timeline) and once undated. End to end is `nsexp readout DIR --format json` in a fresh
process (median of `--repeats`); the stages are the same calls the CLI makes, timed in one
process after a warm-up: read the data, learn from every experiment (the tree's evidence, the
history lines, each comparison's predicted North Star, false-positive risk and alerts), build
the readout, turn it into a dict, write the JSON text (orjson, as the CLI does). Run alone:
`python -m bench.run --only portfolio_readout`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from bench._measure import REPO, paired, python, rounds
from bench.portfolio import write_portfolio
from bench.startup import FLOOR

SECTION = "Portfolio of 1,000 experiments: full readout"
TARGET_S = 2.0
EXPERIMENTS, METRICS, VARIANTS = 1000, 10, 3


def write_both(root: Path) -> dict[str, Path]:
    """The dated and the undated portfolio, each in its own directory."""
    dated = write_portfolio(root / "dated", EXPERIMENTS, METRICS, VARIANTS, days=14)
    undated = write_portfolio(root / "undated", EXPERIMENTS, METRICS, VARIANTS, days=1)
    summary = undated / "summary.parquet"
    pl.read_parquet(summary).drop("date").write_parquet(summary)
    return {"14 daily rows per cell": dated, "undated": undated}


def stages(root: Path, repeats: int = 3) -> dict[str, float]:
    """Median seconds of each stage of `nsexp readout --format json`, in this process."""
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset
    from nsexp.learning.history import learned_readout, readout_learning
    from nsexp.report.json import dumps, readout_dict
    from nsexp.report.text import terminal_safe

    settings = Settings()
    box: dict[str, Any] = {}

    def timed(fn: Callable[[], Any]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    box["data"] = load_dataset(root)
    out = {"read the data (load_dataset)": timed(lambda: box.update(data=load_dataset(root)))}
    out["learning (readout_learning)"] = timed(
        lambda: box.update(learning=readout_learning(box["data"], settings))
    )
    out["readout (build_readout)"] = timed(
        lambda: box.update(readout=learned_readout(box["data"], settings, learning=box["learning"]))
    )
    out["to a dict (readout_dict)"] = timed(lambda: box.update(doc=readout_dict(box["readout"])))
    out["JSON text (nsexp.report.json.dumps)"] = timed(lambda: box.update(text=dumps(box["doc"])))
    out["escaped for the terminal (terminal_safe)"] = timed(lambda: terminal_safe(box["text"]))
    return out


def run(argv: list[str] | None = None) -> str:
    """Write the portfolios, time the CLI and the stages, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.portfolio_readout")
    parser.add_argument("--repeats", type=int, default=3)
    args, _ = parser.parse_known_args(argv)
    lines = [
        f"{EXPERIMENTS:,} experiments x {METRICS} metrics x {VARIANTS} variants (summary rows, "
        "bench/portfolio.py's generator). End to end: `nsexp readout DIR --format json`, a fresh "
        f"process, median of {args.repeats}, interpreter and imports included; / import floor "
        "is the median over rounds of its wall time over the import floor's in the same round "
        "(the machine's load moves both; nsexp byte-compiled first). Command: "
        "`python -m bench.run --only portfolio_readout`.",
        "",
        "| data | wall s | CPU s | peak RSS MB | / import floor | target < 2 s |",
        "|---|---:|---:|---:|---:|---|",
    ]
    subprocess.run(python("-m", "compileall", "-q", "nsexp"), cwd=REPO, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        dirs = write_both(Path(tmp))
        commands = {
            label: python("-m", "nsexp", "readout", str(d), "--format", "json")
            for label, d in dirs.items()
        }
        results = rounds({**commands, FLOOR: python("-c", FLOOR)}, args.repeats)
        floor = results.pop(FLOOR)
        for label, runs in results.items():
            ok = "met" if runs.wall < TARGET_S else "**missed**"
            lines.append(
                f"| {label} | {runs.wall:.2f} | {runs.cpu:.2f} | {runs.peak_mb:,.0f} | "
                f"{paired(runs, floor):.1f}x | {ok} |"
            )
        lines.append(
            f"| the import floor (`{FLOOR}`) | {floor.wall:.2f} | {floor.cpu:.2f} | "
            f"{floor.peak_mb:,.0f} | 1.0x | — |"
        )
        lines += ["", "Where the time goes (seconds, median of 3 in one warm process):", ""]
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
        "End to end also counts the interpreter and the imports (about 0.8 s: numpy, Polars, "
        "scipy.special; see the CLI start section) and hashing the files for the readout's "
        "fingerprint. The learning pass is a second analysis of every experiment (verdicts "
        "without sentences) plus the tree's bootstrap over experiments; the readout pass writes "
        "every reason, record and North Star timeline.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
