"""Limits section: reading stays linear in metrics and columns, and past the documented limits a
hostile file is refused before any work.

Each figure is one fresh process running `load_dataset` on a generated directory (a 100-row unit
CSV and a catalog), wall time and peak RSS from the kernel (bench/_measure.py). The scaling rows
lift the limits in that process (nsexp.config.catalog.MAX_METRICS, nsexp.io.files.MAX_COLUMNS)
to show the cost per metric and per column stays flat; the refusal rows keep them, as the app
and the CLI do. A second table times one app request (a save, a readout, a bootstrap link) on
the issue's hostile inputs with an upload's limits lifted and kept (nsexp.io.limits). Run alone:
`python -m bench.run --only limits`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from bench._measure import REPO, Run, measure, python

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


BOMB_ROWS = 30_000_000
PORTFOLIO = 25_000  # experiments × 2 arms × 1 metric: 50,000 figures, past an upload's 40,000
# One app request in a fresh process: save an upload (nsexp.store), or read out every experiment
# with its learning as the app's loaders do; `lift` sets an upload's limits to none (before).
IMPORTS = (
    "import sys, tempfile\n"
    "from pathlib import Path\n"
    "import nsexp.store.workspaces as ws\n"
    "from nsexp.errors import InputError\n"
    "from nsexp.io.limits import Limits\n"
)
REQUEST = IMPORTS + (
    "folder, what, lift = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == 'lift'\n"
    "if lift: ws.UPLOAD_LIMITS = Limits()\n"
    "files = {p.name: p.read_bytes() for p in folder.iterdir()}\n"
    "try:\n"
    "    info = ws.create_workspace(Path(tempfile.mkdtemp()), files)\n"
    "    if what == 'readout':\n"
    "        from nsexp.analysis.settings import Settings\n"
    "        from nsexp.io import load_dataset\n"
    "        from nsexp.learning.history import learned_readout\n"
    "        data = load_dataset(info.path, limits=ws.UPLOAD_LIMITS)\n"
    "        learned_readout(data, Settings())\n"
    "except InputError as exc:\n"
    "    print(exc.message, file=sys.stderr); sys.exit(2)\n"
)
BOOTSTRAP = (
    "import sys\n"
    "from nsexp.analysis.readout import build_readout\n"
    "from nsexp.analysis.settings import Settings\n"
    "from nsexp.io import load_dataset\n"
    "settings, problems = Settings.from_query({'bootstrap': sys.argv[2]})\n"
    "if problems: print(problems['bootstrap'], file=sys.stderr); sys.exit(2)\n"
    "build_readout(load_dataset(sys.argv[1]), settings, experiment='push_reminders')\n"
)


BOMB = (
    "import sys, polars as pl\n"
    "rows = int(sys.argv[2]) // 2\n"
    "arm = pl.select(variant=pl.repeat('control', rows), lessons=pl.repeat(1, rows))\n"
    "both = pl.concat([arm, arm.with_columns(variant=pl.lit('treatment'))])\n"
    "both.write_parquet(sys.argv[1], row_group_size=10_000_000, compression='zstd')\n"
)


def write_bomb(folder: Path, rows: int = BOMB_ROWS) -> Path:
    """A Parquet file of `rows` constant rows in two arms: a few KB that decode to gigabytes
    (written by a child process, so this one's peak memory, which children inherit in the
    kernel's figure, stays small)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.toml").write_text('[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n')
    built = measure(python("-c", BOMB, str(folder / "bomb.parquet"), str(rows)))
    assert built.code == 0, built.stderr
    return folder


def write_portfolio(folder: Path, experiments: int = PORTFOLIO) -> Path:
    """Summary rows of `experiments` two-arm experiments with one metric."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.toml").write_text('[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n')
    rng = random.Random(experiments)
    with (folder / "portfolio.csv").open("w") as out:
        out.write("experiment,variant,metric,n,sum,sum_sq\n")
        for e in range(experiments):
            for arm in ("control", "treatment"):
                mean = 1 + rng.random() / 10
                sums = f"{mean * 1000:.3f},{mean * mean * 1000 + 1000:.3f}"
                out.write(f"e{e:05d},{arm},lessons,1000,{sums}\n")
    return folder


def requests(root: Path) -> list[str]:
    """The issue's hostile requests, each before (an upload's limits lifted) and after."""
    lines = [
        "",
        "One app request in a fresh process, before (an upload's limits lifted) and after "
        "(`nsexp.io.limits.UPLOAD_LIMITS`, the link's bootstrap set); wall and peak RSS include "
        "the interpreter and imports.",
        "",
        "| request | limits | exit | wall s | peak RSS MB |",
        "|---|---|---:|---:|---:|",
    ]
    alone = measure(python("-c", IMPORTS))
    lines.append(f"| the imports alone | | {alone.code} | {alone.wall:.2f} | {alone.peak_mb:.0f} |")
    bomb = write_bomb(root / "bomb")
    size = (bomb / "bomb.parquet").stat().st_size
    portfolio = write_portfolio(root / "portfolio")
    cases = [
        (f"save a {size / 1000:.0f} KB Parquet file of {BOMB_ROWS:,} rows", bomb, "save"),
        (f"save and read out {PORTFOLIO:,} experiments (summary CSV)", portfolio, "readout"),
    ]
    for label, folder, what in cases:
        for lift in (True, False):
            r = measure(python("-c", REQUEST, str(folder), what, "lift" if lift else "keep"))
            lines.append(
                f"| {label} | {'lifted' if lift else 'kept'} | {r.code} | {r.wall:.2f} | "
                f"{r.peak_mb:.0f} |"
            )
    for resamples in ("10000", "100000"):  # the largest offered, and the issue's
        r = measure(python("-c", BOOTSTRAP, str(REPO / "data"), resamples))
        lines.append(
            f"| demo push_reminders with `?bootstrap={resamples}` | set | {r.code} | "
            f"{r.wall:.2f} | {r.peak_mb:.0f} |"
        )
    return lines


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
        lines += requests(root)
    lines += [
        "",
        "Before (the issue's figures): 1,000 metrics 8.7 s / 328 MB, 2,000: 21 s / 769 MB, "
        "3,000: 68 s / 1.5 GB, 10,000: over 8 GB; the 10⁶-column CSV 37 s / 1.5 GB. The cost was "
        "one select per metric over a frame as wide as every metric's statistics (`to_long`), a "
        "list scan of the catalog per metric, one pass over the file per metric's numeric "
        "check, and the CSV schema inferred five times. What still grows faster than the metrics "
        "past the limit is Polars' streaming group-by holding thousands of aggregations (the "
        "sums query of nsexp/io/units.py: 4,000 metrics peak at 2.4 GB streaming against 0.19 GB "
        "with Polars' in-memory engine), hence the limit of 1,000 (under 0.3 GB). Before the "
        "request limits (issue 19): a 16 MB Parquet file of 10⁹ rows took 82.6 s and 2.78 GB in "
        "the CLI and a 47.6 s save in the app; 50,000 experiments in an 8.5 MB CSV took the "
        "server to 3.8 GB; `?bootstrap=100000` cost 19 s in the app, a new cache entry per value.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
