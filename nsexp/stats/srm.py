"""Sample ratio mismatch: does the split of units match the planned split?"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.stats import dist

SRM_THRESHOLD = 0.001


def srm_test(counts: pl.DataFrame) -> pl.DataFrame:
    """Chi-square goodness of fit of unit counts per experiment against their expected shares.

    `counts` has experiment, variant, units and share (any positive weights; normalised per
    experiment). Returns experiment, chi2, df, p_value, mismatch (p < 0.001), all at once.
    """
    frame = counts.with_columns(
        (
            pl.col("share")
            / pl.col("share").sum().over("experiment")
            * pl.col("units").sum().over("experiment")
        ).alias("expected")
    )
    per_exp = frame.group_by("experiment", maintain_order=True).agg(
        ((pl.col("units") - pl.col("expected")) ** 2 / pl.col("expected")).sum().alias("chi2"),
        (pl.len() - 1).alias("df"),
    )
    p = dist.chi2_sf(per_exp["chi2"].to_numpy(), per_exp["df"].to_numpy())
    return per_exp.with_columns(
        pl.Series("p_value", np.asarray(p, dtype=float)),
        pl.Series("mismatch", np.asarray(p) < SRM_THRESHOLD),
    )
