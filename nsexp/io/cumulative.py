"""Dated summary rows given as running totals (`[columns] dates = "cumulative"`) become daily
increments, so every reader downstream sees the same per-day form."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nsexp.config.catalog import Catalog
from nsexp.io.moments import increments
from nsexp.io.schema import SUMS
from nsexp.io.units import FileRead

_SERIES = ("experiment", "variant", "metric")


def as_daily(read: FileRead, path: Path, catalog: Catalog) -> FileRead:
    """Difference cumulative snapshots per experiment, variant and metric over their dates.

    The running sums of the increments give back each snapshot exactly, so totals and timelines
    are unchanged; the shifted sums are moved to one shift per series and differenced the same
    way (nsexp.io.moments.increments), so they keep their digits too. Counts must not
    shrink from one snapshot to the next: where they do, the experiment gets a data problem
    naming the date (its verdict becomes `invalid`), because such rows are not running totals
    and the readout cannot be trusted.
    """
    if catalog.dates != "cumulative":
        return read
    summary = read.summary
    if summary["date"].null_count() == summary.height:
        return read  # one undated snapshot per arm is already the total
    ordered = summary.sort(*_SERIES, "date")
    _record_shrinking(ordered, read)
    sums = [c for c in ("n", *SUMS) if c in ordered.columns]
    daily = increments(ordered, list(_SERIES)).with_columns(
        (pl.col(c) - pl.col(c).shift(1).over(_SERIES).fill_null(0)).alias(c) for c in sums
    )
    units = (
        read.units.sort("experiment", "variant", "date")
        .with_columns(
            (
                pl.col("units")
                - pl.col("units").shift(1).over("experiment", "variant").fill_null(0)
            ).alias("units")
        )
        .select(read.units.columns)
    )
    return FileRead(
        summary=daily.select(summary.columns),
        units=units,
        metrics=read.metrics,
        problems=read.problems,
        notes=read.notes,
    )


def _record_shrinking(ordered: pl.DataFrame, read: FileRead) -> None:
    """One problem per experiment whose unit count falls between consecutive snapshots."""
    shrunk = (
        ordered.with_columns(
            pl.col("n").shift(1).over(_SERIES).alias("before"),
            pl.col("date").shift(1).over(_SERIES).alias("before_date"),
        )
        .filter(pl.col("n") < pl.col("before"))
        .group_by("experiment", maintain_order=True)
        .first()
    )
    for row in shrunk.iter_rows(named=True):
        read.problems.setdefault(row["experiment"], []).append(
            f"cumulative counts shrink: variant {row['variant']}, metric {row['metric']} had "
            f"{row['before']:,} units on {row['before_date']} but {row['n']:,} on {row['date']}; "
            "cumulative snapshots must only grow (check the export, or declare "
            '[columns] dates = "daily" if the rows are per-day figures)'
        )
