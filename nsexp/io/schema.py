"""The summary table every reader produces and the statistics consume."""

from __future__ import annotations

import polars as pl

from nsexp.io.moments import FLAGS, SHIFTED, derive, merged
from nsexp.io.order import KeyOrder

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


def totals(summary: pl.DataFrame, found: KeyOrder | None = None) -> pl.DataFrame:
    """Collapse dated rows into one row per experiment, variant and metric (the shifted sums
    moved to one shift first, so no digit is lost however many days there are). `found`: the
    rows' key order by experiment, metric, variant (and date), the rows already in it
    (KeyOrder.stored, as a loaded dataset's): each group's rows are then one run, added as
    they lie, and only the groups are put in order."""
    keys = ["experiment", "variant", "metric"]
    if found is None:
        rows = merged(summary.lazy(), keys, ("n", *SUMS)).collect()
    else:
        grouped = ["experiment", "metric", "variant"]
        rows = merged(summary.lazy(), grouped, ("n", *SUMS), found).collect()
        groups = found.groups(len(grouped)).regrouped((0, 2, 1))
        rows = rows[groups.order]  # the groups by experiment, variant, metric
    return rows.with_columns(pl.lit(None, dtype=pl.Date()).alias("date")).select(
        list(SUMMARY_SCHEMA)
    )
