"""Treatment sums beside their control's: the paired frame every comparison is computed from."""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.config.catalog import ROLES, Catalog
from nsexp.io.moments import FLAGS
from nsexp.io.schema import COV_SUMS
from nsexp.stats.arms import ArmSums

# ArmSums' fields, in its order: the raw sums, then the sums shifted around a pilot value
# (nsexp.io.moments), which keep every digit of the variance when the mean is large.
_SUMS = (
    "n",
    *("sum", "sum_sq", "den_sum", "den_sum_sq", "num_den_sum"),
    *("shift", "dev_sum", "dev_sum_sq"),
    *("den_shift", "den_dev_sum", "den_dev_sum_sq", "num_den_dev_sum"),
    "dev_sum_cu",
)
COV_MOMENTS = ("cov_shift", "cov_dev_sum", "cov_dev_sum_sq", "num_cov_dev_sum")


def metric_frame(catalog: Catalog) -> pl.DataFrame:
    """The catalog as a frame, with sort keys for role (North Star first) and file order."""
    metrics = list(catalog.metrics.values())
    return pl.DataFrame(
        {
            "metric": [m.id for m in metrics],
            "label": [m.label for m in metrics],
            "role": [m.role for m in metrics],
            "type": [m.type for m in metrics],
            "direction": [m.direction for m in metrics],
            "practical_threshold": [m.practical_threshold for m in metrics],
            "role_order": [ROLES.index(m.role) for m in metrics],
            "metric_order": list(range(len(metrics))),
        }
    )


def pair_arms(summary: pl.DataFrame, controls: dict[str, str], keys: list[str]) -> pl.DataFrame:
    """Put each treatment's sums beside its control's (control columns get a `_c` suffix)."""
    frame = summary.join(
        pl.DataFrame({"experiment": list(controls), "control": list(controls.values())}),
        on="experiment",
    )
    is_control = pl.col("variant") == pl.col("control")
    control = frame.filter(is_control).select(
        *keys, *_SUMS, *COV_SUMS, *COV_MOMENTS, *FLAGS.values()
    )
    treatment = frame.filter(~is_control).drop("control")
    return treatment.join(control, on=keys, suffix="_c")


def arm_sums(frame: pl.DataFrame, suffix: str = "") -> ArmSums:
    """Numpy arrays of one arm's sums from a paired frame."""
    return ArmSums(*(column(frame, f"{c}{suffix}") for c in _SUMS))


def text_series(name: str, values: np.ndarray) -> pl.Series:
    """A numpy array of text (fixed-width or object) as a Polars String column, through a
    list: Polars reads a numpy unicode array one element at a time, 3-5x slower per column
    of a 1,000-experiment portfolio."""
    return pl.Series(name, values.tolist(), dtype=pl.String)


def column(frame: pl.DataFrame, name: str) -> np.ndarray:
    """A frame column as float64 numpy, NaN for missing values and absent columns (a float
    Series' nulls become NaN in to_numpy: a fill_null first cost 30x as much per column)."""
    if name not in frame.columns:
        return np.full(frame.height, np.nan)
    return frame.get_column(name).cast(pl.Float64).to_numpy()
