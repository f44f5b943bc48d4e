"""Limits section: reading stays linear in metrics and columns, and past the documented limits a
hostile file is refused before any work.

Each figure is one fresh process running `load_dataset` on a generated directory (a 100-row unit
CSV and a catalog), wall time and peak RSS from the kernel (bench/_measure.py). The scaling rows
lift the limits in that process (nsexp.config.catalog.MAX_METRICS, nsexp.io.files.MAX_COLUMNS)
to show the cost per metric and per column stays flat; the refusal rows keep them, as the app
and the CLI do. Run alone: `python -m bench.run --only limits`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from bench._measure import Run, measure, python

SECTION = "Limits: reading linear in metrics and columns; hostile sizes refused first"
ROWS = 100
METRIC_SIZES = (250, 500, 1000, 2000, 4000)
COLUMN_SIZES = (1_000, 10_000, 100_000)
LOAD = (
    "import sys, nsexp.config.catalog as c, nsexp.io.files as f\n"
    "if sys.argv[2] == 'lift': c.MAX_METRICS = f.MAX_COLUMNS = 10**9\n"
    "from nsexp.io import load_dataset\n"
    "from nsexp.errors import InputError\n"
    "try:\n"
    "    load_dataset(sys.argv[1])\n"
    "except InputError as exc:\n"
    "    print(exc.message, file=sys.stderr); sys.exit(2)\n"
)


def write_metrics_case(folder: Path, metrics: int, rows: int = ROWS) -> Path:
    """A catalog of `metrics` mean metrics and a `rows`-row CSV with a column for each."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = [
        f'[metrics.m{i}]\nrole = "{"north_star" if i == 0 else "leading"}"\ntype = "mean"\n'
        for i in range(metrics)
    ]
    (folder / "metrics.toml").write_text("\n".join(tables))
    rng = random.Random(metrics)
    lines = [",".join(["variant", *(f"m{i}" for i in range(metrics))])]
    for r in range(rows):
        cells = (str(rng.randint(0, 9)) for _ in range(metrics))
        lines.append(",".join([("control", "treatment")[r % 2], *cells]))
    (folder / "exp.csv").write_text("\n".join(lines) + "\n")
    return folder


def write_columns_case(folder: Path, columns: int, rows: int = ROWS) -> Path:
    """A one-metric catalog and a `rows`-row CSV with `columns` other columns."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.toml").write_text('[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n')
    with (folder / "exp.csv").open("w") as out:
        out.write("variant,lessons," + ",".join(f"c{i}" for i in range(columns)) + "\n")
        rest = ",".join("1" for _ in range(columns))
        for r in range(rows):
            out.write(f"{('control', 'treatment')[r % 2]},{r % 3},{rest}\n")
    return folder


def load(folder: Path, lift: bool) -> Run:
    """load_dataset in a fresh process (limits lifted or kept)."""
    return measure(python("-c", LOAD, str(folder), "lift" if lift else "keep"))


def run(argv: list[str]) -> str:
    """Measure and return the section's Markdown."""
    parser = argparse.ArgumentParser(prog="bench.limits")
    parser.add_argument("--metric-sizes", default=",".join(map(str, METRIC_SIZES)))
    args, _ = parser.parse_known_args(argv)
    from nsexp.config.catalog import MAX_METRICS
    from nsexp.io.files import MAX_COLUMNS

    baseline = measure(python("-c", "import nsexp.io, nsexp.config.catalog"))
    lines = [
        f"`load_dataset` of a {ROWS}-row unit CSV in a fresh process; wall and peak RSS include "
        f"the interpreter and imports ({baseline.wall:.2f} s, {baseline.peak_mb:.0f} MB alone). "
        "Limits: at most "
        f"{MAX_METRICS:,} metrics per catalog and {MAX_COLUMNS:,} columns per file. Command: "
        "`python -m bench.run --only limits`.",
        "",
        "| case | limits | exit | wall s | beyond imports, per 1,000 | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for m in (int(x) for x in args.metric_sizes.split(",")):
            r = load(write_metrics_case(root / f"m{m}", m), lift=True)
            per = (r.wall - baseline.wall) / m * 1000
            lines.append(
                f"| {m:,} metrics × {ROWS} rows | lifted | {r.code} | {r.wall:.2f} | "
                f"{per:.2f} s | {r.peak_mb:.0f} |"
            )
        for c in COLUMN_SIZES:
            r = load(write_columns_case(root / f"c{c}", c), lift=True)
            per = (r.wall - baseline.wall) / c * 1000
            lines.append(
                f"| {c:,} columns × {ROWS} rows | lifted | {r.code} | {r.wall:.2f} | "
                f"{per:.3f} s | {r.peak_mb:.0f} |"
            )
        hostile = {
            "10,000-metric catalog (0.5 MB) + 100-row CSV": write_metrics_case(
                root / "hostile_m", 10_000
            ),
            "10⁶-column CSV (16 MB)": write_columns_case(root / "hostile_c", 1_000_000, rows=4),
        }
        for label, folder in hostile.items():
            r = load(folder, lift=False)
            lines.append(
                f"| {label} | kept | {r.code} | {r.wall:.2f} | refused | {r.peak_mb:.0f} |"
            )
            message = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
            lines.append(f"| ↳ `{message.replace(str(folder) + '/', '')[:160]}` | | | | | |")
    lines += [
        "",
        "Before (the issue's figures): 1,000 metrics 8.7 s / 328 MB, 2,000: 21 s / 769 MB, "
        "3,000: 68 s / 1.5 GB, 10,000: over 8 GB; the 10⁶-column CSV 37 s / 1.5 GB. The cost was "
        "one select per metric over a frame as wide as every metric's statistics (`to_long`), a "
        "list scan of the catalog per metric, one pass over the file per metric's numeric "
        "check, and the CSV schema inferred five times. What still grows faster than the metrics "
        "past the limit is Polars' streaming group-by holding thousands of aggregations (the "
        "sums query of nsexp/io/units.py: 4,000 metrics peak at 2.4 GB streaming against 0.19 GB "
        "with Polars' in-memory engine), hence the limit of 1,000 (under 0.3 GB).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
