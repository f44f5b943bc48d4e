"""The summary table every reader produces and the statistics consume."""

from __future__ import annotations

import polars as pl

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
}


def conform(frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """Give a summary frame exactly SUMMARY_SCHEMA's columns, in order, adding nulls if absent."""
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    return lazy.select(
        (pl.col(c) if c in names else pl.lit(None)).cast(t).alias(c)
        for c, t in SUMMARY_SCHEMA.items()
    )


def totals(summary: pl.DataFrame) -> pl.DataFrame:
    """Collapse dated rows into one row per experiment, variant and metric."""
    return (
        summary.group_by("experiment", "variant", "metric", maintain_order=True)
        .agg(
            pl.col("n").sum(),
            *(pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in SUMS),
        )
        .with_columns(pl.lit(None, dtype=pl.Date()).alias("date"))
        .select(list(SUMMARY_SCHEMA))
    )
