"""The summary table every reader produces and the statistics consume."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl

from nsexp.io.moments import FLAGS, SHIFTED, derive, merged

KEYS = ("experiment", "variant", "date", "metric")
RATIO_SUMS = ("den_sum", "den_sum_sq", "num_den_sum")
COV_SUMS = ("cov_sum", "cov_sum_sq", "num_cov_sum")
SUMS = ("sum", "sum_sq", *RATIO_SUMS, *COV_SUMS)

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    "date": pl.Date(),
    "metric": pl.String(),
    "n": pl.Int64(),
    "sum": pl.Float64(),
    "sum_sq": pl.Float64(),
    "den_sum": pl.Float64(),
    "den_sum_sq": pl.Float64(),
    "num_den_sum": pl.Float64(),
    "cov_sum": pl.Float64(),
    "cov_sum_sq": pl.Float64(),
    "num_cov_sum": pl.Float64(),
    # Shifted sums (nsexp.io.moments): what the statistics read; the raw sums above are the
    # file contract, and what they are derived from where a reader gives nothing else.
    **{c: pl.Float64() for c in SHIFTED},
    **{flag: pl.Boolean() for flag in FLAGS.values()},
}


def conform(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Give a summary frame exactly SUMMARY_SCHEMA's columns, in order, adding nulls if absent;
    shifted sums a reader did not give are derived from its raw sums."""
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    lazy = lazy.select(
        (pl.col(c) if c in names else pl.lit(None)).cast(t).alias(c)
        for c, t in SUMMARY_SCHEMA.items()
    )
    return derive(lazy).select(list(SUMMARY_SCHEMA))


def totals(summary: pl.DataFrame) -> pl.DataFrame:
    """Collapse dated rows into one row per experiment, variant and metric (the shifted sums
    moved to one shift first, so no digit is lost however many days there are)."""
    keys = ["experiment", "variant", "metric"]
    return (
        merged(summary.lazy(), keys, ("n", *SUMS))
        .with_columns(pl.lit(None, dtype=pl.Date()).alias("date"))
        .select(list(SUMMARY_SCHEMA))
        .collect()
    )


class KeyOrder(NamedTuple):
    """The rows' order by some key columns, and whether two rows share every key."""

    order: np.ndarray
    repeated: bool


_KEY_BITS = 62  # a row's key must fit an int64, with room to spare


def key_order(frame: pl.DataFrame, keys: list[str]) -> KeyOrder | None:
    """The row order of `frame.sort(keys)` (text keys in Polars' order, a `date` key with
    nulls first), from one int64 per row: each text key's rank among its distinct values (few:
    experiments, variants, metrics), the date's day. Sorting one integer instead of several
    text columns takes about half the time of a 1,000-experiment summary's load; `repeated`
    checks every key's uniqueness on the way. None where a text key has a null or the key
    would not fit 62 bits: sort as usual then."""
    parts: list[pl.Expr] = []
    sizes: list[int] = []
    for name in keys:
        column = frame.get_column(name)
        if column.dtype == pl.Date:
            days = column.cast(pl.Int64)
            low, high = days.min(), days.max()
            low, high = (0, -1) if low is None else (int(low), int(high))  # type: ignore[arg-type]
            parts.append((pl.col(name).cast(pl.Int64) - low + 1).fill_null(0))  # nulls first
            sizes.append(high - low + 2)
            continue
        if column.dtype != pl.String or column.null_count():
            return None
        values = column.unique().sort()
        ranks = pl.int_range(values.len(), eager=True, dtype=pl.Int64)
        parts.append(pl.col(name).replace_strict(values, ranks, return_dtype=pl.Int64))
        sizes.append(values.len())
    if math.prod(sizes) >= 1 << _KEY_BITS:
        return None
    key = parts[0]
    for part, size in zip(parts[1:], sizes[1:], strict=True):
        key = key * size + part
    codes = frame.select(key.alias("key")).to_series().to_numpy()
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    return KeyOrder(order, bool((ordered[1:] == ordered[:-1]).any()))
