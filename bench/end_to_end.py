"""End to end on a unit-level table: `nsexp readout DIR --format json` vs DuckDB and pandas.

The table (bench/_unit_table.py): one Parquet file, dictionary-encoded experiment and variant
columns, an Int64 unit_id, five metrics (two 0/1 Int8s, a Float64, two Int32s), 20 experiments x
3 variants, at each size of `--rows` (default 20M,100M). Every command is a fresh process, the
commands taken in turn for `--repeats` rounds; wall, CPU (user + system, all threads) and peak
RSS come from the kernel (bench/_measure.py). nsexp runs with its unit checks on (the table has a
unit_id) and on the same table without its unit_id column (what the checks cost); the baselines
compute only the sums. Also: nsexp on a copy with repeated and crossed units (the exact second
stage runs), nsexp as of another checkout (`NSEXP_BENCH_BEFORE=DIR`: a before figure in the same
rounds), the Spark engine (local mode) on the same file, and what the growth from the smallest to
the largest size says about a billion rows.
Run alone: `python -m bench.run --only end_to_end --rows 20M,100M --repeats 3`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from bench import _unit_table as table
from bench._measure import Runs, cores, paired, python, rounds

SECTION = "End to end: nsexp readout vs DuckDB vs pandas, unit-level table with unit ids"
TARGET_VS_DUCKDB, TARGET_VS_PANDAS, TARGET_MB, TARGET_CHECKS = 3.0, 3.0, 1024, 0.5
LABELS = {
    "nsexp": "`nsexp readout DIR --format json` (unit checks on)",
    "before": "the same, nsexp before (`NSEXP_BENCH_BEFORE`)",
    "noid": "nsexp, same table without unit_id (no unit checks)",
    "duckdb": "DuckDB, hand-written sums query (baseline)",
    "pandas": "pandas read_parquet + groupby sums",
    "ceiling": "read ceiling: DuckDB reads all 8 columns, no grouping",
    "repeats": "nsexp, table with 0.1% repeated units (second stage runs)",
    "spark": "nsexp, Spark engine (local[2], source.toml; one run)",
}


def _sums_sql(path: Path) -> str:
    sums = ", ".join(f"COUNT({c}), SUM({c}), SUM({c}::DOUBLE * {c})" for c in table.VALUE_COLUMNS)
    return (
        f"SELECT experiment, variant, COUNT(*), {sums} FROM read_parquet('{path}') "
        "GROUP BY experiment, variant"
    )


def baseline(kind: str, path: Path) -> None:
    """One baseline, run in its own process by `python -m bench.end_to_end --baseline`."""
    if kind == "duckdb":
        import duckdb

        duckdb.connect().execute(_sums_sql(path)).fetchall()
    elif kind == "ceiling":
        import duckdb

        cols = ", ".join(f"SUM({c})" for c in ("unit_id", *table.VALUE_COLUMNS))
        sql = f"SELECT MAX(experiment), MAX(variant), {cols} FROM read_parquet('{path}')"
        duckdb.connect().execute(sql).fetchall()
    elif kind == "pandas":
        import pandas as pd

        df = pd.read_parquet(path, columns=["experiment", "variant", *table.VALUE_COLUMNS])
        aggs: dict[str, tuple[str, str]] = {"units": ("variant", "size")}
        for c in table.VALUE_COLUMNS:
            df[f"{c}_sq"] = df[c].astype("float64") ** 2
            aggs |= {f"{c}_n": (c, "count"), f"{c}_s": (c, "sum"), f"{c}_q": (f"{c}_sq", "sum")}
        df.groupby(["experiment", "variant"], observed=True).agg(**aggs)


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def commands(root: Path, repeats_root: Path | None, spark: bool) -> dict[str, list[str]]:
    """argv of every path measured at one size."""
    path = root / table.FILE
    out = {"nsexp": python("-m", "nsexp", "readout", str(root), "--format", "json")}
    before = os.environ.get("NSEXP_BENCH_BEFORE")
    if before:  # -P: that checkout's nsexp, not this one's (the working directory)
        argv = ["env", f"PYTHONPATH={before}", *python("-P", "-m", "nsexp", "readout")]
        out["before"] = [*argv, str(root), "--format", "json"]
    noid = root.parent / f"{root.name}-noid"
    table.without_ids(root, noid)
    out["noid"] = python("-m", "nsexp", "readout", str(noid), "--format", "json")
    for kind in ("duckdb", "pandas", "ceiling"):
        out[kind] = python("-m", "bench.end_to_end", "--baseline", kind, str(path))
    if repeats_root is not None:
        out["repeats"] = python("-m", "nsexp", "readout", str(repeats_root), "--format", "json")
    if spark:
        engine = root.parent / f"{root.name}-spark"
        engine.mkdir(exist_ok=True)
        shutil.copy(root / "metrics.toml", engine / "metrics.toml")
        (engine / "source.toml").write_text(f'engine = "spark"\npath = "{path}"\n')
        out["spark"] = python("-m", "nsexp", "readout", str(engine), "--format", "json")
    return out


def _row(label: str, runs: Runs, base: Runs, rows: int) -> str:
    return (
        f"| {LABELS[label]} | {runs.wall:.2f} | {min(r.wall for r in runs.runs):.2f} | "
        f"{runs.cpu:.2f} | {runs.peak_mb:,.0f} | {paired(runs, base):.2f}x | "
        f"{rows / runs.cpu / 1e6:,.1f} M |"
    )


def table_lines(rows: int, meta: dict, results: dict[str, Runs]) -> list[str]:
    """One size's Markdown table."""
    out = [
        f"### {rows:,} rows ({meta['parquet_bytes'] / 1e6:,.0f} MB Parquet, "
        f"{meta['uncompressed_bytes'] / 1e6:,.0f} MB in memory)",
        "",
        "| path | median s | best s | CPU s | peak RSS MB | / DuckDB | rows/s/core |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    return out + [_row(k, v, results["duckdb"], rows) for k, v in results.items()]


def verdicts(rows: int, results: dict[str, Runs]) -> list[str]:
    """The issue's targets at one size: met or missed, with the figure."""
    nsexp = results["nsexp"]
    vs_duckdb = paired(nsexp, results["duckdb"])
    vs_pandas = paired(results["pandas"], nsexp)
    extra = paired(nsexp, results["noid"]) - 1
    extra_cpu = nsexp.cpu / results["noid"].cpu - 1
    checks = [
        (f"nsexp within {TARGET_VS_DUCKDB:.0f}x of DuckDB", vs_duckdb <= TARGET_VS_DUCKDB,
         f"{vs_duckdb:.2f}x wall, {nsexp.cpu / results['duckdb'].cpu:.2f}x CPU"),
        (f"nsexp >= {TARGET_VS_PANDAS:.0f}x faster than pandas", vs_pandas >= TARGET_VS_PANDAS,
         f"{vs_pandas:.1f}x"),
        ("nsexp peak RSS < 1 GB", nsexp.peak_mb < TARGET_MB, f"{nsexp.peak_mb:,.0f} MB"),
        (f"unit checks' extra cost <= {TARGET_CHECKS}x the run without them",
         extra <= TARGET_CHECKS, f"{extra:.2f}x wall, {extra_cpu:.2f}x CPU"),
    ]  # fmt: skip
    return [
        f"- {rows:,} rows — {name}: **{'met' if ok else 'missed'}** ({why})"
        for name, ok, why in checks
    ]


def billion(sizes: list[int], per_size: dict[int, dict[str, Runs]]) -> list[str]:
    """A line through the smallest and largest size, read at 1e9 rows."""
    if len(sizes) < 2:
        return []
    small, big = sizes[0], sizes[-1]
    out = ["### A billion rows", ""]
    for label in ("nsexp", "duckdb"):
        a, b = per_size[small][label], per_size[big][label]
        per_row = (b.wall - a.wall) / (big - small)
        wall = a.wall + per_row * (1e9 - small)
        mb = a.peak_mb + (b.peak_mb - a.peak_mb) / (big - small) * (1e9 - small)
        out.append(
            f"- {LABELS[label]}: {per_row * 1e9:.1f} s per billion rows of growth from "
            f"{small / 1e6:.0f}M to {big / 1e6:.0f}M, so about **{wall:,.0f} s** at 1B rows on "
            f"this machine; peak RSS grows {(b.peak_mb - a.peak_mb) / (big - small) * 1e6:.1f} "
            f"MB per million rows, about **{mb / 1024:,.1f} GB** at 1B."
        )
    return out


def run(argv: list[str] | None = None) -> str:
    """Generate (or reuse) the tables, measure every path in turn, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.end_to_end")
    parser.add_argument("--rows", default=os.environ.get("NSEXP_BENCH_ROWS", "20M,100M"))
    parser.add_argument(
        "--repeats", type=int, default=int(os.environ.get("NSEXP_BENCH_REPEATS", "3"))
    )
    parser.add_argument("--cache", default=os.environ.get("NSEXP_BENCH_CACHE", "/tmp/nsexp-bench"))
    args, _ = parser.parse_known_args(argv)
    from bench.aggregation import parse_rows

    sizes = parse_rows(args.rows)
    spark = _have("pyspark") and shutil.which("java") is not None
    spark = spark and os.environ.get("NSEXP_BENCH_SPARK", "1") != "0"  # 0: leave Spark out
    per_size: dict[int, dict[str, Runs]] = {}
    lines: list[str] = []
    targets: list[str] = []
    for i, rows in enumerate(sizes):
        root = Path(args.cache) / f"units-{rows}"
        print(f"[end_to_end] {rows:,} rows in {root}", file=sys.stderr, flush=True)
        meta = table.generate(rows, root)
        dirty = None
        if i == 0:  # the cost of real repeats, at the smallest size
            dirty = Path(args.cache) / f"units-{rows}-repeats"
            table.generate(rows, dirty, repeats=0.001)
        argvs = commands(root, dirty, spark and i == 0)
        slow = {k: argvs.pop(k) for k in ("spark",) if k in argvs}
        results = rounds(argvs, args.repeats)
        results |= rounds(slow, 1)  # Spark once: minutes a run on this machine
        per_size[rows] = results
        lines += [*table_lines(rows, meta, results), ""]
        targets += verdicts(rows, results)
    return "\n".join(_preamble(args) + lines + ["### Targets", "", *targets, ""]
                     + billion(sizes, per_size) + [""] + _notes(per_size, sizes))  # fmt: skip


def _preamble(args: argparse.Namespace) -> list[str]:
    return [
        f"Generated by bench/_unit_table.py (seeded; {len(table.EXPERIMENTS)} experiments x "
        f"{len(table.VARIANTS)} variants; experiment and variant dictionary-encoded, Int64 "
        "unit_id, 0/1 Int8 converted and retained, Float64 revenue, Int32 sessions and lessons; "
        f"row groups of {table.ROW_GROUP:,}). Each path is a fresh process, all paths in turn for "
        f"{args.repeats} rounds; median and best wall, median CPU (user + system of all threads), "
        "highest peak RSS (ru_maxrss: interpreter and imports included). `/ DuckDB` = median over "
        "rounds of wall / the DuckDB query's wall in the same round; rows/s/core = rows / CPU s "
        f"({cores()} cores here). The OS file cache is warm. Command: `python -m bench.run --only "
        f"end_to_end --rows {args.rows} --repeats {args.repeats}`.{_before()}",
        "",
    ]


def _before() -> str:
    """Which checkout the before row ran (NSEXP_BENCH_BEFORE), when one did."""
    before = os.environ.get("NSEXP_BENCH_BEFORE")
    what = os.environ.get("NSEXP_BENCH_BEFORE_LABEL", before)
    return f" Before: {what}, in the same rounds." if before else ""


def _notes(per_size: dict[int, dict[str, Runs]], sizes: list[int]) -> list[str]:
    first = per_size[sizes[0]]
    out = ["### Reading the numbers", ""]
    if "spark" in first:
        over = first["spark"].wall - first["nsexp"].wall
        out.append(
            f"- Spark (local[2], same file, same JSON): {first['spark'].wall:.1f} s at "
            f"{sizes[0]:,} rows, {over:+.1f} s over the Polars path: JVM start, planning and "
            "two extra jobs for the unit checks. On one machine it only costs; its use is the "
            "cluster past one machine, where the same SQL runs unchanged (`url` = the master)."
        )
    out += [
        "- nsexp's wall includes the interpreter and its imports (scipy and the report layer, "
        "about 1-2 s here: see the CLI start section), hashing the data file for the readout's "
        "`data_fingerprint`, and the readout itself; the baselines import only their engine.",
        "- Unit checks: every row's (experiment, unit_id) is hashed beside the sums in the same "
        "streaming run (unit_id's hash XOR the experiment's) and kept in 6 bytes, in 256 buckets "
        "by the hash's top bits (each batch of 1,000,000 sorted once, as doubles: the hash >> 2 "
        "is a non-negative double, which orders as its bits do and which AVX2 compares natively; "
        "each bucket one slice of every batch); "
        "a sort of each bucket's 32-bit keys (half a 64-bit sort) shows whether any "
        "unit repeats, the rows under a key seen twice are compared in all 48 kept bits, and only "
        "then are the candidate units grouped exactly (the 0.1% row). `/ without unit_id` in the "
        "targets is the median over rounds of (with − without) / without, the same table with and "
        "without its unit_id column.",
        "- Memory: at most 100M hashes (600 MiB) are kept a pass. A Parquet file's row count "
        "(its metadata) splits the buckets into passes before the scan, so no bucket is sorted "
        "and then dropped: 20M and 100M rows take one pass (100M: peak RSS 876 MB, 17.6 CPU s; "
        "split into two planned passes 620 MB and 21.2 s; the adaptive two passes before, at "
        "64M hashes, 705 MB and 23.6 s; one `/usr/bin/time -v` run each, load 9-13). A CSV "
        "file, whose row count is unknown, keeps the adaptive split: past the budget the scan "
        "keeps its lowest buckets and a pass of experiment and unit_id alone takes up the rest. "
        "Each batch is sorted in working arrays reused from batch to batch, so the kept buckets "
        "do not scatter over the heap (sums and hashes alone at 20M: 300 vs 335 MB). nsexp sets "
        "Polars' `POLARS_ROW_GROUP_PREFETCH_SIZE` to 2 (a value you set wins; 1 saved a little "
        "memory and was slower, 16 no faster).",
        "- Session 27 (CPU s, best of 5, load 9-20): hashing 10M rows' (experiment, unit_id) as a"
        " struct 0.10 s, unit_id's hash XOR the experiment's 0.03 s (kept: equal for every row of"
        " a unit whatever the types, and distinct units that collide only cost the exact check); "
        "sorting a 100M-row bucket's 390K keys 4.3 ms as 32-bit words vs 10.6 ms as 64-bit ones; "
        "at 100M rows the first stage's numpy work fell from 4.4-4.8 to 2.7-4.0 s. Measured and "
        "left: one array reserved per pass instead of one per batch (1.3K vs 102K page faults, "
        "but its fresh huge pages cost 3.1 vs 1.6 s at 100M in one run), a radix partition of "
        "each batch by its top byte (np.argsort of a uint8, 23-24 ms per 1M vs 16 ms for numpy's "
        "sort), Polars' sort (38-45 vs 22-24 ms per 1M), a Polars group-by that lists each "
        "bucket's hashes (more CPU and +200 MB at 20M). Earlier: a bit filter instead of kept "
        "hashes marks ~10% of 100M rows in 128 MB, so a second scan would always run. The "
        "readout's `data_fingerprint` (blake2b of the file, nsexp/io/dataset.py) costs 0.22 s CPU"
        " at 20M rows, about 1.1 s at 100M; hashed in a thread beside the scan it saved nothing "
        "at 20M under load (median wall 6.83 vs 6.82 s, CPU 5.33 vs 5.17 s, 4 rounds, load 8-11:"
        " the scan already keeps both cores busy).",
        "- Session 31: the fingerprint is hashed in a thread beside the scan (nsexp/io/dataset.py"
        " `_Hashing`). At 100M rows on a quiet machine, 6 paired fresh processes in alternating "
        "order (load 1.8-2.3, the runs themselves): median wall 8.32 s (best 8.12) against 9.35 s"
        " (best 8.68) hashed after the scan, faster in every round. This benchmark's own rounds "
        "show less: 8.77 vs 8.58 s (2 rounds), 8.53 vs 8.80 s (3 rounds), the before tree "
        "(hashed after) measured in the same rounds. A round here also runs pandas (11.6 GB), "
        "which may leave the next path less of the file in the page cache (not verified).",
        "- Session 28 (perf and thread CPU at 20M rows, load 3-14): each batch's chunks are "
        "shifted straight into the reused working array and sorted as doubles (the batch work "
        "0.53-0.54 -> 0.43-0.49 CPU s; sorted as uint64 a batch took 19-23 ms, as doubles 16 ms);"
        " the repeat check's two workers each reuse one set of arrays for all their buckets (page "
        "faults 61K -> 2K per 50M rows; 0.28-0.30 -> 0.21-0.22 s); batches of 1,000,000 rows, "
        "not 2^20, keep each batch's kept keys under numpy's 4 MiB huge-page threshold (kernel "
        "time in their cast 174 -> 61 ms: fresh huge pages, compacted on fault, cost ~3x per "
        "byte here). Measured and left: one scan shared by the sums and the hashes (Polars' "
        "common-subplan elimination, one decode of experiment) cost +200 MB RSS at 20M (its "
        "multiplexer buffers rows for the slower Python sink) for no CPU gained; jemalloc's "
        "purging off (`_RJEM_MALLOC_CONF=dirty_decay_ms:-1`) fewer page faults but more system "
        "time and +40-90 MB; a partition by a 32-bit (bucket, row) sort plus two gathers 18.6 ms "
        "per 1M vs 19 ms; Polars' partition_by 38 ms per 1M; hashing the experiment's code "
        "instead of its hash, no difference past the columns' decode (0.15-0.25 s of 0.2-0.3 s "
        "at 20M).",
        "- Session 29 (perf of one 20M-row readout, load 3-5; the sums query alone, CPU s, min of "
        "5, before and after in turn): the top of the profile was 128-bit integer work (13.6%: "
        "the metric pairs' cross sums, masked and in 128 bits, and revenue's ΣD² and ΣD³), "
        "blake2b 4-5%, OpenBLAS's idle worker threads spinning 3.6-5.5% (15% of importing numpy "
        "and scipy), Enum decoding 2.5-3.8%, then Polars' grouped sums and counts. The pairs' "
        "cross sums now come from plain 64-bit sums in the sums' own aggregation, checked after "
        "the scan (every row has both parts, rows · max|D| · max|E| < 2^62; else the masked "
        "sums run again): the sums query 2.8-3.1 -> 2.0-2.3 s; a 128-bit power casts each "
        "factor once, integer columns are counted without a cast, a zero pilot subtracts "
        "nothing: 2.31-2.41 -> 2.13-2.20 s; 8-bit and boolean proportions are summed as "
        "integers their type bounds (no max pass; the pairs share them), 35 -> 26 "
        "aggregations: 2.00-2.12 -> 1.85-1.96 s; OpenBLAS runs one thread (nsexp/cli, "
        "h29-portfolio). The same JSON to the byte at 20M, 20M with repeats, without unit_id, "
        "100M, on the demo and the portfolio. Measured and left: one UInt32 group key for "
        "experiment x variant (2.64 vs 2.31 s: slower), counts as null counts (0.05 s for "
        "five), the file's blake2b over an mmap (1.06 vs 1.15 CPU s at 100M), "
        "`POLARS_DIRECT_IO` (no difference). Under load the kernel's copy of the file's pages "
        "into Polars' buffers (Polars 2.1 reads local Parquet with pread, not mmap) took 22% of "
        "a 20M run's CPU at load 6 vs 5-6% at load 3: CPU seconds of memory-bound work move "
        "with other processes' memory traffic, so compare paths within one round.",
        "- Past about 103M rows the passes grow with the rows (one per 103M rows, planned "
        "evenly) while memory stays put, so the billion-row line above, drawn through 20M and "
        "100M, is optimistic for nsexp's time (a billion rows would take 10 passes, 9 of them "
        "over experiment and unit_id alone) and pessimistic for its memory, which stops growing "
        "at one pass's budget (about 900 MB).",
    ]
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--baseline":
        baseline(sys.argv[2], Path(sys.argv[3]))
    else:
        print(run(sys.argv[1:]))
