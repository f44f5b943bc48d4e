"""A realistic unit-level table for the end-to-end benchmarks: what a warehouse export looks like.

One Parquet file, written in chunks (memory stays at one chunk): `experiment` and `variant` as
dictionary-encoded (Enum) columns, an Int64 `unit_id` that is unique within each experiment but
not ordered and shared across experiments as one user population is (the n-th unit of every
experiment has the same id: a bijective scramble of n), and five metrics in the types exports
use: two 0/1 Int8 proportions, a Float64 mean and two Int32 counts. 20 experiments x 3
variants, seeded. `repeats` > 0 copies that share of the first two experiments' rows again (a
repeated unit), half of them into another arm (a crossed unit), so the unit checks have
something to find. Run as `python -m bench._unit_table DIR ROWS [REPEATS]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

SEED = 2026
EXPERIMENTS = tuple(f"exp_{i:02d}" for i in range(20))
VARIANTS = ("control", "treatment_a", "treatment_b")
CHUNK = 4_000_000
ROW_GROUP = 1_000_000
FILE = "units.parquet"
METRICS_TOML = """\
[metrics.converted]
label = "Converted"
role = "north_star"
type = "proportion"
[metrics.retained]
label = "Retained day 7"
role = "leading"
type = "proportion"
[metrics.revenue]
label = "Revenue"
role = "guardrail"
type = "mean"
direction = "increase"
[metrics.sessions]
label = "Sessions"
role = "vanity"
type = "mean"
[metrics.lessons]
label = "Lessons"
role = "leading"
type = "mean"
"""
VALUE_COLUMNS = ("converted", "retained", "revenue", "sessions", "lessons")
_MIX = 0x9E3779B97F4A7C15  # odd, so multiplication modulo 2**64 is a bijection


def scramble(index: np.ndarray) -> np.ndarray:
    """Row numbers -> distinct, unordered positive Int64 ids (a bijection of the uint64 ring)."""
    mixed = index.astype(np.uint64) * np.uint64(_MIX)
    mixed ^= mixed >> np.uint64(29)
    return (mixed >> np.uint64(1)).astype(np.int64)  # top bit dropped: still distinct below 2**63


def chunk(start: int, n: int, seen: np.ndarray) -> pl.DataFrame:
    """Rows start .. start + n of the table; `seen` counts each experiment's units so far."""
    rng = np.random.default_rng([SEED, start])
    exp = rng.integers(0, len(EXPERIMENTS), n)
    order = np.argsort(exp, kind="stable")
    counts = np.bincount(exp, minlength=len(EXPERIMENTS))
    rank = np.empty(n, dtype=np.int64)  # each row's position among its experiment's units
    rank[order] = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    unit = seen[exp] + rank
    seen += counts
    arm = rng.integers(0, len(VARIANTS), n)
    lift = 1 + 0.02 * arm
    converted = (rng.random(n) < 0.1 * lift).astype(np.int8)
    return pl.DataFrame(
        {
            "experiment": pl.Series(np.array(EXPERIMENTS)[exp], dtype=pl.Enum(EXPERIMENTS)),
            "variant": pl.Series(np.array(VARIANTS)[arm], dtype=pl.Enum(VARIANTS)),
            "unit_id": scramble(unit),
            "converted": converted,
            "retained": (rng.random(n) < 0.4).astype(np.int8),
            "revenue": np.round(converted * rng.lognormal(3.0, 1.0, n) + rng.random(n), 4),
            "sessions": rng.poisson(3 * lift, n).astype(np.int32),
            "lessons": rng.poisson(8 * lift, n).astype(np.int32),
        }
    )


def _with_repeats(frame: pl.DataFrame, share: float, start: int) -> pl.DataFrame:
    """Append copies of `share` of the first two experiments' rows; every other copy in the next
    arm, so half the repeated units are crossed."""
    first = frame.filter(pl.col("experiment").is_in(EXPERIMENTS[:2]))
    pick = np.random.default_rng([SEED, start, 1]).random(first.height) < share
    copies = first.filter(pl.Series(pick))
    shifted = (copies["variant"].to_physical() + 1) % len(VARIANTS)
    moved = pl.Series(np.array(VARIANTS)[shifted.to_numpy()], dtype=pl.Enum(VARIANTS))
    crossed = pl.Series(np.arange(copies.height) % 2 == 0)
    copies = copies.with_columns(
        pl.when(crossed).then(moved).otherwise(pl.col("variant")).alias("variant")
    )
    return pl.concat([frame, copies])


def generate(rows: int, root: Path, repeats: float = 0.0) -> dict[str, Any]:
    """Write the table (once) as root/units.parquet with metrics.toml; return its description."""
    meta_path = root / "meta.json"
    if meta_path.exists():
        return json.loads(meta_path.read_text())
    import pyarrow.parquet as pq

    root.mkdir(parents=True, exist_ok=True)
    target = root / FILE
    writer = None
    written, in_memory = 0, 0
    seen = np.zeros(len(EXPERIMENTS), dtype=np.int64)
    for start in range(0, rows, CHUNK):
        frame = chunk(start, min(CHUNK, rows - start), seen)
        if repeats:
            frame = _with_repeats(frame, repeats, start)
        table = frame.to_arrow()
        if writer is None:
            writer = pq.ParquetWriter(target, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=ROW_GROUP)
        written += frame.height
        in_memory += frame.estimated_size()
    assert writer is not None
    writer.close()
    (root / "metrics.toml").write_text(METRICS_TOML)
    meta = {
        "rows": written,
        "uncompressed_bytes": in_memory,
        "parquet_bytes": target.stat().st_size,
        "repeats": repeats,
    }
    meta_path.write_text(json.dumps(meta))
    return meta


def without_ids(source: Path, root: Path) -> None:
    """The same table without its unit_id column (once), written the same way row group by row
    group: what the unit checks cost is the readout of the one less the other's."""
    if (root / FILE).exists():
        return
    import pyarrow.parquet as pq

    root.mkdir(parents=True, exist_ok=True)
    parquet = pq.ParquetFile(source / FILE)
    partial = root / f"{FILE}.partial"
    schema = parquet.schema_arrow
    schema = schema.remove(schema.get_field_index("unit_id"))
    with pq.ParquetWriter(partial, schema, compression="snappy") as out:
        for group in range(parquet.num_row_groups):
            out.write_table(parquet.read_row_group(group).drop_columns(["unit_id"]), ROW_GROUP)
    (root / "metrics.toml").write_text(METRICS_TOML)
    partial.rename(root / FILE)


if __name__ == "__main__":
    out, count = Path(sys.argv[1]), int(float(sys.argv[2]))
    share = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    print(json.dumps(generate(count, out, share)))
