"""Checks of CUPED covariate sums in summary rows: all three or none, and possible values."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from nsexp.errors import InputError
from nsexp.io.schema import COV_SUMS

_REL_TOL = 1e-9


def check_cov_sums(frame: pl.DataFrame, path: Path) -> None:
    """Raise InputError when a row has some covariate sums but not all, or impossible ones."""
    present = [c for c in COV_SUMS if c in frame.columns]
    if not present:
        return
    missing = [c for c in COV_SUMS if c not in frame.columns]
    if missing:
        raise InputError(
            f"covariate sums need all of {', '.join(COV_SUMS)}",
            file=path,
            column=missing[0],
            fix="add the missing column, or drop the covariate columns",
        )
    nulls = [pl.col(c).is_null() for c in COV_SUMS]
    partial = frame.filter(pl.any_horizontal(nulls) & ~pl.all_horizontal(nulls))
    if partial.height:
        row = partial.row(0, named=True)
        raise InputError(
            f"experiment {row['experiment']}, variant {row['variant']}, metric {row['metric']} "
            "has some covariate sums but not all",
            file=path,
            column=next(c for c in COV_SUMS if row[c] is None),
            fix="fill in cov_sum, cov_sum_sq and num_cov_sum together, or leave all three empty",
        )
    n = pl.col("n")
    sxx = pl.col("cov_sum_sq") - pl.col("cov_sum") ** 2 / n
    syy = pl.col("sum_sq") - pl.col("sum") ** 2 / n
    sxy = pl.col("num_cov_sum") - pl.col("sum") * pl.col("cov_sum") / n
    scale = pl.col("cov_sum_sq").abs() + pl.col("sum_sq").abs() + 1
    bad = (sxx < -_REL_TOL * scale) | (sxy**2 > syy * sxx + _REL_TOL * scale**2)
    wrong = frame.filter(bad.fill_null(False))
    if wrong.height:
        row = wrong.row(0, named=True)
        raise InputError(
            f"covariate sums of experiment {row['experiment']}, variant {row['variant']}, "
            f"metric {row['metric']} are impossible (cov_sum_sq below cov_sum²/n, or a "
            "covariance larger than the variances allow)",
            file=path,
            column="num_cov_sum",
            fix="cov_sum_sq is Σx², num_cov_sum is Σ(metric × covariate) over the same units",
        )
