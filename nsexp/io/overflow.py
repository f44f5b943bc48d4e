"""Sums that overflowed: unit values so large (1e308) that their sum or sum of squares is no
longer a finite float64. Summary files already refuse non-finite sums (nsexp.io.summary); unit
files get the same refusal here, naming the data column, instead of a readout of "—" and −100%.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nsexp.config.catalog import Catalog, Metric
from nsexp.errors import InputError
from nsexp.io.schema import SUMS

_SQUARES = {"sum_sq", "den_sum_sq", "cov_sum_sq", "num_den_sum", "num_cov_sum"}


def check_finite_sums(summary: pl.DataFrame, catalog: Catalog, path: Path) -> None:
    """Raise InputError naming the column whose values overflow a sum of the aggregated rows.

    Empty, NaN and infinite cells are left out before summing (they count as missing values),
    so a non-finite sum here can only be an overflow of finite values."""
    present = [c for c in SUMS if c in summary.columns]
    bad = pl.any_horizontal(pl.col(c).is_not_null() & ~pl.col(c).is_finite() for c in present)
    rows = summary.filter(bad)
    if rows.height == 0:
        return
    row = rows.row(0, named=True)
    stat = next(c for c in present if row[c] is not None and not _finite(row[c]))
    metric = catalog.metrics.get(row["metric"])
    column = _column(metric, stat) if metric is not None else row["metric"]
    what = "squares" if stat in _SQUARES else "values"
    raise InputError(
        f"values too large to add up: the sum of their {what} ({stat}) overflows for "
        f"experiment {row['experiment']}, variant {row['variant']}, metric {row['metric']}",
        file=path,
        column=column,
        fix="rescale the column (e.g. thousands instead of units) so that every value and its "
        "square stay below 1e308, or drop the corrupt rows",
    )


def _finite(value: float) -> bool:
    return value - value == 0.0


def _column(metric: Metric, stat: str) -> str:
    """The data column a statistic of the metric sums."""
    if stat.startswith("cov") or stat == "num_cov_sum":
        return metric.covariate or metric.columns[0]
    if stat.startswith("den"):
        return metric.columns[-1]
    return metric.columns[0]
