"""Aggregation benchmark: nsexp's Polars and DuckDB paths against pandas and raw DuckDB.

Seeded unit-level Parquet data is generated once into a cache directory; every measurement runs
in its own subprocess (clean peak RSS, read from /proc/self/status VmHWM) on the same files.
Sizes, repeats and the cache are configurable: `--rows 1M,10M --repeats 3` or the environment
variables NSEXP_BENCH_ROWS, NSEXP_BENCH_REPEATS and NSEXP_BENCH_CACHE.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SECTION = "Aggregation: unit rows to sufficient statistics"
SEED = 2026
EXPERIMENTS, VARIANTS = 20, ("control", "treatment_a", "treatment_b")
CHUNK = 2_000_000
VALUE_COLUMNS = ("converted", "revenue", "sessions", "page_views", "clicks")
METRICS_TOML = """\
[metrics.converted]
role = "north_star"
type = "proportion"
[metrics.revenue]
role = "leading"
type = "mean"
[metrics.sessions]
role = "leading"
type = "mean"
[metrics.page_views]
role = "vanity"
type = "mean"
[metrics.ctr]
role = "vanity"
type = "ratio"
numerator = "clicks"
denominator = "page_views"
"""
ENGINES = (
    "nsexp_polars",
    "nsexp_polars_gaps",
    "nsexp_duckdb",
    "duckdb_sql",
    "polars_raw",
    "pandas",
    "parquet_read",
)
GAP_SHARE = 0.01  # clicks missing on this share of rows in the "gaps" copy of the data
LABELS = {
    "nsexp_polars": "nsexp, Polars streaming (default)",
    "nsexp_polars_gaps": f"same, {GAP_SHARE:.0%} of clicks missing (second pass for ctr)",
    "nsexp_duckdb": "nsexp, DuckDB engine",
    "duckdb_sql": "DuckDB, hand-written query (baseline)",
    "polars_raw": "Polars, hand-written streaming query",
    "pandas": "pandas read_parquet + groupby",
    "parquet_read": "read ceiling: DuckDB scans the 7 columns, no grouping",
}


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_rows(text: str) -> list[int]:
    """'1M,10M,500k' -> [1_000_000, 10_000_000, 500_000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        out.append(int(float(part.rstrip("km")) * scale))
    return out


def cache_dir() -> Path:
    """Where generated data is kept between runs."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nsexp-bench"
    return Path(os.environ.get("NSEXP_BENCH_CACHE", default))


def generate(rows: int, root: Path) -> dict[str, Any]:
    """Write `rows` seeded unit rows as Parquet parts (once) plus nsexp data directories."""
    meta_path = root / "meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    parts = root / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    size = 0
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        exp = rng.integers(0, EXPERIMENTS, n)
        arm = rng.integers(0, len(VARIANTS), n)
        lift = 1 + 0.02 * arm
        converted = (rng.random(n) < 0.1 * lift).astype(np.int8)
        page_views = rng.poisson(8 * lift, n).astype(np.int32)
        frame = pl.DataFrame(
            {
                "experiment": pl.Series(exp).cast(pl.String).str.zfill(2),
                "variant": pl.Series(np.array(VARIANTS)[arm]),
                "converted": converted,
                "revenue": np.round(converted * rng.lognormal(3.0, 1.0, n), 2),
                "sessions": rng.poisson(3 * lift, n).astype(np.int32),
                "page_views": page_views,
                "clicks": rng.binomial(page_views, 0.05).astype(np.int32),
            }
        ).with_columns(pl.concat_str(pl.lit("exp_"), pl.col("experiment")).alias("experiment"))
        size += frame.estimated_size()
        frame.write_parquet(parts / f"part-{i:04d}.parquet", row_group_size=500_000)
    for engine, source in (
        ("polars", f'engine = "polars"\npath = "{parts}"\n'),
        ("duckdb", f'engine = "duckdb"\npath = "{parts}"\n'),
    ):
        (root / engine).mkdir(exist_ok=True)
        (root / engine / "metrics.toml").write_text(METRICS_TOML)
        (root / engine / "source.toml").write_text(source)
    on_disk = sum(p.stat().st_size for p in parts.iterdir())
    meta = {"rows": rows, "uncompressed_bytes": size, "parquet_bytes": on_disk}
    meta_path.write_text(json.dumps(meta))
    return meta


def generate_gaps(root: Path) -> Path:
    """A copy of the parts with clicks missing on GAP_SHARE of the rows (once): the ratio metric
    then needs a second pass, which the clean data never do."""
    gaps = root / "gaps"
    if (gaps / "metrics.toml").exists():
        return gaps
    parts = gaps / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(sorted((root / "parts").glob("*.parquet"))):
        frame = pl.read_parquet(part)
        hole = np.random.default_rng([SEED, i]).random(frame.height) < GAP_SHARE
        frame = frame.with_columns(
            pl.when(pl.Series(hole)).then(None).otherwise(pl.col("clicks")).alias("clicks")
        )
        frame.write_parquet(parts / part.name, row_group_size=500_000)
    (gaps / "source.toml").write_text(f'engine = "polars"\npath = "{parts}"\n')
    (gaps / "metrics.toml").write_text(METRICS_TOML)
    return gaps


def _duckdb_sql(parts: Path) -> Callable[[], object]:
    import duckdb

    sums = ", ".join(
        f"COUNT({c}), SUM({c}), SUM({c} * {c})" for c in ("converted", "revenue", "sessions")
    )
    sql = (
        f"SELECT experiment, variant, COUNT(*), {sums}, COUNT(page_views), SUM(page_views), "
        "SUM(page_views * page_views), COUNT(clicks), SUM(clicks), SUM(clicks * clicks), "
        "SUM(clicks * page_views) "
        f"FROM read_parquet('{parts}/*.parquet') GROUP BY experiment, variant"
    )
    con = duckdb.connect()
    return lambda: con.execute(sql).fetchall()


def _polars_raw(parts: Path) -> Callable[[], object]:
    aggs: list[pl.Expr] = [pl.len()]
    for c in VALUE_COLUMNS:
        x = pl.col(c).cast(pl.Float64)
        aggs += [x.count().alias(f"{c}_n"), x.sum().alias(f"{c}_s"), (x * x).sum().alias(f"{c}_q")]
    aggs.append((pl.col("clicks").cast(pl.Float64) * pl.col("page_views")).sum().alias("cross"))
    query = pl.scan_parquet(parts / "*.parquet").group_by("experiment", "variant").agg(aggs)
    return lambda: query.collect(engine="streaming")


def _pandas(parts: Path) -> Callable[[], object]:
    import pandas as pd

    def run() -> object:
        df = pd.read_parquet(parts, columns=["experiment", "variant", *VALUE_COLUMNS])
        aggs: dict[str, tuple[str, str]] = {"units": ("variant", "size")}
        for c in VALUE_COLUMNS:
            df[f"{c}_sq"] = df[c].astype("float64") ** 2
            aggs |= {f"{c}_n": (c, "count"), f"{c}_sum": (c, "sum"), f"{c}_ss": (f"{c}_sq", "sum")}
        df["cross"] = df["clicks"].astype("float64") * df["page_views"]
        aggs["cross"] = ("cross", "sum")
        return df.groupby(["experiment", "variant"], observed=True).agg(**aggs)

    return run


def _parquet_read(parts: Path) -> Callable[[], object]:
    import duckdb

    sums = ", ".join(f"SUM({c})" for c in VALUE_COLUMNS)
    sql = (
        f"SELECT MAX(LENGTH(experiment)), MAX(LENGTH(variant)), {sums} "
        f"FROM read_parquet('{parts}/*.parquet')"
    )
    con = duckdb.connect()
    return lambda: con.execute(sql).fetchall()


def _nsexp(root: Path) -> Callable[[], object]:
    from nsexp.io import load_dataset

    return lambda: load_dataset(root).summary.height


def measure(kind: str, root: Path, repeats: int) -> dict[str, Any]:
    """Time one engine `repeats` times in this process; report times and this process's peak."""
    parts = root / "parts"
    run = {
        "nsexp_polars": lambda: _nsexp(root / "polars"),
        "nsexp_polars_gaps": lambda: _nsexp(root / "gaps"),
        "nsexp_duckdb": lambda: _nsexp(root / "duckdb"),
        "duckdb_sql": lambda: _duckdb_sql(parts),
        "polars_raw": lambda: _polars_raw(parts),
        "pandas": lambda: _pandas(parts),
        "parquet_read": lambda: _parquet_read(parts),
    }[kind]()
    base = _peak_kib()
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        run()
        times.append(time.perf_counter() - start)
        cpu.append(_cpu_seconds() - start_cpu)
    return {"times": times, "cpu": cpu, "base_kib": base, "peak_kib": _peak_kib()}


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads: steadier than wall time under load."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_kib() -> int:
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    except (OSError, StopIteration):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(kind: str, root: Path, repeats: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.aggregation", "--measure", kind, str(root), str(repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def stats_stage(repeats: int = 7) -> dict[str, float]:
    """Median seconds of summary -> all comparisons for 200 experiments x 20 metrics x 3 arms."""
    from nsexp.analysis.compute import compute_results
    from nsexp.analysis.readout import build_readout
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset

    rng = np.random.default_rng(SEED)
    types = ["proportion"] * 7 + ["mean"] * 9 + ["ratio"] * 4
    roles = ["north_star"] + ["leading"] * 8 + ["vanity"] * 7 + ["guardrail"] * 4
    toml = []
    for i, (mtype, role) in enumerate(zip(types, roles, strict=True)):
        toml += [f"[metrics.m{i:02d}]", f'role = "{role}"', f'type = "{mtype}"']
        if mtype == "ratio":
            toml += [f'numerator = "m{i:02d}_num"', f'denominator = "m{i:02d}_den"']
    rows = []
    for e in range(200):
        for v in VARIANTS:
            n = 20_000 + int(rng.integers(-100, 100))
            for i, mtype in enumerate(types):
                mu = float(rng.uniform(0.05, 0.5)) if mtype == "proportion" else 3.0
                var = mu * (1 - mu) if mtype == "proportion" else 4.0
                row = {
                    "experiment": f"exp_{e:03d}",
                    "variant": v,
                    "metric": f"m{i:02d}",
                    "n": n,
                    "sum": n * mu,
                    "sum_sq": n * mu if mtype == "proportion" else (n - 1) * var + n * mu * mu,
                    "den_sum": None,
                    "den_sum_sq": None,
                    "num_den_sum": None,
                }
                if mtype == "ratio":
                    row |= {
                        "den_sum": n * 2.0,
                        "den_sum_sq": (n - 1) * 1.0 + n * 4.0,
                        "num_den_sum": (n - 1) * 1.0 + n * 6.0,
                    }
                rows.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "metrics.toml").write_text("\n".join(toml) + "\n")
        pl.DataFrame(rows).write_parquet(Path(tmp, "summary.parquet"))
        dataset = load_dataset(tmp)
    ids = list(dataset.experiments)
    settings = Settings()

    def median(fn: Callable[[], object]) -> float:
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return {
        "compute_results": median(lambda: compute_results(dataset, settings, ids)),
        "build_readout": median(lambda: build_readout(dataset, settings)),
        "comparisons": float(len(ids) * 2 * len(types)),
    }


def _table(rows: int, meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> list[str]:
    out = [
        f"### {rows:,} rows ({meta['uncompressed_bytes'] / 1e6:,.0f} MB in memory, "
        f"{meta['parquet_bytes'] / 1e6:,.0f} MB Parquet)",
        "",
        "| path | median s | best s | CPU s | runs | peak RSS MB | / DuckDB | rows/s/core |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in ENGINES:
        r = results[kind]
        t, cpu = statistics.median(r["times"]), statistics.median(r["cpu"])
        out.append(
            f"| {LABELS[kind]} | {t:.2f} | {min(r['times']):.2f} | {cpu:.2f} | {len(r['times'])} | "
            f"{r['peak_kib'] / 1024:,.0f} | {paired(results, kind, 'duckdb_sql'):.2f}x | "
            f"{rows / cpu / 1e6:,.1f} M |"
        )
    return out


def paired(results: dict[str, dict[str, Any]], kind: str, base: str) -> float:
    """Median over rounds of kind's time / base's time in the same round (robust to load)."""
    pairs = zip(results[kind]["times"], results[base]["times"], strict=True)
    return statistics.median(a / b for a, b in pairs)


def _verdicts(rows: int, meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> list[str]:
    vs_duckdb = paired(results, "nsexp_polars", "duckdb_sql")
    vs_pandas = paired(results, "pandas", "nsexp_polars")
    cpu = {k: statistics.median(v["cpu"]) for k, v in results.items()}
    cpu_ratio = cpu["nsexp_polars"] / cpu["duckdb_sql"]
    peak = results["nsexp_polars"]["peak_kib"] * 1024
    quarter = meta["uncompressed_bytes"] / 4
    checks = [
        ("Polars path within 1.2x of raw DuckDB", vs_duckdb <= 1.2,
         f"{vs_duckdb:.2f}x wall, {cpu_ratio:.2f}x CPU"),
        ("Polars path >= 5x faster than pandas", vs_pandas >= 5, f"{vs_pandas:.1f}x faster"),
        ("streaming peak RSS < 1/4 of the data in memory", peak < quarter,
         f"{peak / 1e6:,.0f} MB vs {quarter / 1e6:,.0f} MB"),
    ]  # fmt: skip
    return [f"- {rows:,} rows — {name}: **{'met' if ok else 'missed'}** ({why})"
            for name, ok, why in checks]  # fmt: skip


def run(argv: list[str] | None = None) -> str:
    """Generate (or reuse) the data, measure every path in subprocesses, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.aggregation")
    parser.add_argument("--rows", default=os.environ.get("NSEXP_BENCH_ROWS", "10M,50M"))
    parser.add_argument(
        "--repeats", type=int, default=int(os.environ.get("NSEXP_BENCH_REPEATS", "3"))
    )
    args, _ = parser.parse_known_args(argv)
    lines = [
        f"Seeded unit-level Parquet ({EXPERIMENTS} experiments x {len(VARIANTS)} variants, "
        "5 metrics: a proportion, three means and a ratio; 7 columns), parts of "
        f"{CHUNK:,} rows. Every run is a fresh subprocess on the same files, the paths taken in "
        f"turn for {args.repeats} rounds (so they share the machine's load); median and best of "
        "the runs; peak RSS of the process (VmHWM, imports included; the OS file cache is warm "
        "from generation). `/ DuckDB` is the median over rounds of the path's time divided by the "
        "hand-written DuckDB query's time in the same round. CPU s: user + system time of all "
        "the process's threads (steadier than wall time on a shared machine); rows/s/core = rows "
        f"/ CPU s ({cores()} cores here). Command: `python -m bench.run --only aggregation "
        f"--rows {args.rows} --repeats {args.repeats}`.",
        "",
    ]
    verdicts: list[str] = []
    for rows in parse_rows(args.rows):
        root = cache_dir() / f"rows-{rows}"
        print(f"[aggregation] {rows:,} rows: data in {root}", file=sys.stderr, flush=True)
        meta = generate(rows, root)
        generate_gaps(root)
        results: dict[str, dict[str, Any]] = {
            k: {"times": [], "cpu": [], "peak_kib": 0} for k in ENGINES
        }
        for round_ in range(args.repeats):  # round-robin: every path sees the same machine load
            print(f"[aggregation]   round {round_ + 1}", file=sys.stderr, flush=True)
            for kind in ENGINES:
                one = _child(kind, root, 1)
                results[kind]["times"] += one["times"]
                results[kind]["cpu"] += one["cpu"]
                results[kind]["peak_kib"] = max(results[kind]["peak_kib"], one["peak_kib"])
        lines += [*_table(rows, meta, results), ""]
        verdicts += _verdicts(rows, meta, results)
    stage = stats_stage()
    lines += [
        "### Statistics stage (summary -> every comparison)",
        "",
        f"200 experiments x 20 metrics x 3 variants = {stage['comparisons']:,.0f} comparisons "
        f"(median of 7): `compute_results` {stage['compute_results'] * 1e3:.1f} ms; the whole "
        f"`build_readout` (SRM, verdicts, reasons) {stage['build_readout'] * 1e3:.1f} ms. "
        f"Target < 50 ms: **{'met' if stage['compute_results'] < 0.05 else 'missed'}**.",
        "",
        "### Targets",
        "",
        *verdicts,
        "",
        "### Reading the numbers",
        "",
        "- Peak RSS is the whole process, interpreter and imports included (about 50 MB for "
        "Polars alone), so the quarter-of-the-data target can only bind once the data reach "
        "several hundred MB. What matters is that the streaming path's peak does not grow with "
        "the rows: it is set by the row groups in flight. nsexp sets Polars' row-group prefetch "
        "to 2 (`POLARS_ROW_GROUP_PREFETCH_SIZE`; a value you set wins) for a source.toml glob "
        "and for a data directory's files alike: against Polars' default it cut the peak by "
        "about 40% at no cost in time here (1 saves a little more but is slower); the "
        "hand-written Polars row keeps Polars' default.",
        "- nsexp's paths do more than the baselines: min/max of proportion metrics (to reject "
        "values outside 0..1), per-metric null and NaN handling (a ratio counts rows with both "
        "parts), the catalog and the summary checks. The Polars path sums the columns as they "
        "are (each distinct sum once, Float64 columns not cast) and reads from its own results "
        "that no mask was needed: a float column's sum is finite only if every cell is, and a "
        "count equal to the rows means no nulls. A metric whose data break that needs a second "
        "pass over its columns: a ratio of integer parts missing some parts (the `same, 1% of "
        "clicks missing` row: ctr must count only rows with both parts) groups just the rows "
        "missing a part and takes them out of the sums, exactly; any other metric (NaN or "
        "infinite cells in a float column, missing parts of a float ratio, a CUPED metric with "
        "missing values) is aggregated again with masks.",
        "- The machine is shared with other work: `best s` is the least disturbed run.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        kind, root, repeats = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
        print(json.dumps(measure(kind, root, repeats)))
    else:
        print(run(sys.argv[1:]))
