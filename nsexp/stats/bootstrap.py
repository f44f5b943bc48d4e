"""Poisson bootstrap of arm means and the relative lift (Hanley & MacGibbon 2006; Chamandy et
al. 2012): each unit gets a Poisson(1) weight per resample, which approximates the multinomial
bootstrap for large n and vectorises as one weight-matrix product per chunk of resamples."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray
_CELLS_PER_CHUNK = 4_000_000


def bootstrap_means(values: FloatArray, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """(n_boot, metrics) resampled means of a (units, metrics) array; NaN cells are skipped.

    Units sharing a value are pooled: a sum of n_v independent Poisson(1) weights is one
    Poisson(n_v) draw, so each metric's resampled mean has exactly the unit-level Poisson
    bootstrap distribution at the cost of its distinct values, not its units.
    """
    values = np.asarray(values, dtype=float).reshape(len(values), -1)
    out = np.full((n_boot, values.shape[1]), np.nan)
    for j in range(values.shape[1]):  # a handful of metric columns; the resamples are vectorised
        column = values[:, j]
        distinct, counts = np.unique(column[~np.isnan(column)], return_counts=True)
        if distinct.size == 0:
            continue
        chunk = max(1, _CELLS_PER_CHUNK // distinct.size)
        for start in range(0, n_boot, chunk):
            stop = min(start + chunk, n_boot)
            shape = (stop - start, distinct.size)
            weights = rng.poisson(counts.astype(float), size=shape).astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:stop, j] = (weights @ distinct) / weights.sum(axis=1)
    return out


class BootstrapInterval(NamedTuple):
    """Percentile interval of the relative lift, per metric."""

    low: FloatArray
    high: FloatArray


def relative_lift_interval(
    control: FloatArray,
    treatment: FloatArray,
    n_boot: int,
    alpha: float,
    seed: int | list[int],
    offset: tuple[FloatArray | float, FloatArray | float] = (0.0, 0.0),
) -> BootstrapInterval:
    """Percentile (1 - alpha) interval of mean_t / mean_c - 1 for each metric column.

    `offset` (control's, treatment's) is added to each arm's means: CUPED passes unit values
    y − β_a x and the offsets β_a · (pooled covariate mean), so the lift is that of the
    adjusted means.
    """
    rng = np.random.default_rng(seed)
    c = bootstrap_means(control, n_boot, rng) + offset[0]
    t = bootstrap_means(treatment, n_boot, rng) + offset[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = t / c - 1
    lift = np.where(np.isfinite(lift), lift, np.nan)
    empty = np.isnan(lift).all(axis=0)
    lift[:, empty] = 0.0  # no finite resample (e.g. a zero control mean): reported as NaN
    low, high = np.nanquantile(lift, [alpha / 2, 1 - alpha / 2], axis=0)
    low, high = np.where(empty, np.nan, low), np.where(empty, np.nan, high)
    return BootstrapInterval(low, high)
