"""The within-experiment sampling covariance of two metrics' relative lifts, per comparison, for
every pair the data has cross statistics of (each metric with its parent and the North Star).

Wiring only: the cross table (nsexp.io.cross) gives each arm's part co-moments, the results
give the arms' (CUPED-adjusted) means and θ, the summary a ratio's denominator means;
nsexp.stats.within does the delta method. Comparisons without cross statistics get no row, and
learning then assumes zero and says so.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.io import Dataset
from nsexp.stats.within import PARTS, Gradients, lift_covariance, lift_gradients, mean_covariance

WITHIN_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    "metric": pl.String(),
    "other": pl.String(),
    "lift_cov": pl.Float64(),
    "lift_corr": pl.Float64(),
}
_CELLS = [f"c{i}{j}" for i in range(3) for j in range(3)]
_PAIR = ["experiment", "metric", "other"]


def _cells(cross: pl.DataFrame) -> pl.DataFrame:
    """One row per experiment, arm and pair: n and the 3 x 3 co-moments (0 where no part)."""
    index = {p: i for i, p in enumerate(PARTS)}
    cells = cross.with_columns(
        pl.format(
            "c{}{}",
            pl.col("part").replace_strict(index, return_dtype=pl.Int64),
            pl.col("other_part").replace_strict(index, return_dtype=pl.Int64),
        ).alias("cell")
    )
    wide = cells.pivot(
        "cell", index=["experiment", "variant", "metric", "other"], values="comoment"
    )
    n = cells.group_by("experiment", "variant", "metric", "other").agg(pl.col("n").max())
    return wide.join(n, on=["experiment", "variant", "metric", "other"]).with_columns(
        *(pl.lit(0.0).alias(c) for c in _CELLS if c not in wide.columns)
    )


def _matrix(frame: pl.DataFrame, suffix: str = "") -> np.ndarray:
    return (
        frame.select(pl.col(f"{c}{suffix}").fill_null(0.0) for c in _CELLS)
        .to_numpy()
        .reshape(-1, 3, 3)
    )


def _gradients(frame: pl.DataFrame, side: str) -> Gradients:
    """Lift gradients of the metric (side "") or the other metric (side "_o") of each row."""

    def col(name: str) -> np.ndarray:
        return frame[f"{name}{side}"].cast(pl.Float64).fill_null(np.nan).to_numpy()

    return lift_gradients(
        frame[f"type{side}"].to_numpy(),
        col("control_mean"),
        col("treatment_mean"),
        col("cuped_slope_control"),
        col("cuped_slope_treatment"),
        col("den_c"),
        col("den_t"),
    )


def within_covariances(
    dataset: Dataset, results: pl.DataFrame, controls: dict[str, str]
) -> pl.DataFrame:
    """Per comparison (experiment, treatment) and pair (metric, other): the covariance of the
    two relative lifts (`lift_cov`, not oriented by direction) and its correlation."""
    cross = dataset.cross.filter(pl.col("experiment").is_in(list(controls)))
    if cross.height == 0 or results.height == 0:
        return pl.DataFrame(schema=WITHIN_SCHEMA)
    arms = _cells(cross).join(
        pl.DataFrame({"experiment": list(controls), "control": list(controls.values())}),
        on="experiment",
    )
    is_control = pl.col("variant") == pl.col("control")
    paired = (
        arms.filter(~is_control)
        .drop("control")
        .join(arms.filter(is_control).drop("control", "variant"), on=_PAIR, suffix="_c")
    )
    dens = dataset.totals.select(
        "experiment", "variant", "metric", (pl.col("den_sum") / pl.col("n")).alias("den")
    )
    keep = [
        *("type", "control_mean", "treatment_mean", "n_control", "n_treatment"),
        *("cuped_slope_control", "cuped_slope_treatment"),
    ]
    figures = results.select("experiment", "variant", "metric", *keep, "rel_se").join(
        _den_columns(dens, controls), on=["experiment", "variant", "metric"], how="left"
    )
    other = figures.rename(
        {c: f"{c}_o" for c in figures.columns if c not in ("experiment", "variant")}
    )
    frame = paired.join(figures, on=["experiment", "variant", "metric"]).join(
        other.rename({"metric_o": "other"}), on=["experiment", "variant", "other"]
    )
    if frame.height == 0:
        return pl.DataFrame(schema=WITHIN_SCHEMA)

    def arm_cov(suffix: str, n: str) -> np.ndarray:
        n_pair = frame[f"n{suffix}"].to_numpy()
        return mean_covariance(
            _matrix(frame, suffix), n_pair, frame[n].to_numpy(), frame[f"{n}_o"].to_numpy()
        )

    cov = lift_covariance(
        _gradients(frame, ""),
        _gradients(frame, "_o"),
        arm_cov("", "n_treatment"),
        arm_cov("_c", "n_control"),
    )
    se = (
        frame["rel_se"].fill_null(np.nan).to_numpy()
        * frame["rel_se_o"].fill_null(np.nan).to_numpy()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.clip(cov / se, -1.0, 1.0)
    return frame.select("experiment", "variant", "metric", "other").with_columns(
        pl.Series("lift_cov", cov, dtype=pl.Float64).fill_nan(None),
        pl.Series("lift_corr", corr, dtype=pl.Float64).fill_nan(None),
    )


def _den_columns(dens: pl.DataFrame, controls: dict[str, str]) -> pl.DataFrame:
    """Each treatment row with its own and its control's denominator mean (den_t, den_c)."""
    ctrl = pl.DataFrame({"experiment": list(controls), "variant": list(controls.values())})
    control = dens.join(ctrl, on=["experiment", "variant"]).select(
        "experiment", "metric", pl.col("den").alias("den_c")
    )
    return (
        dens.join(ctrl, on=["experiment", "variant"], how="anti")
        .join(control, on=["experiment", "metric"])
        .rename({"den": "den_t"})
    )
