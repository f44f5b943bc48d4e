"""Confidence intervals that agree with multiplicity-adjusted p-values, exactly.

An interval at level 1 - g excludes zero exactly when its own test's p-value is below g. Setting
g = alpha * p_raw / p_adjusted for each test (capped at alpha, see _level) makes that happen
exactly when p_adjusted < alpha —
for Holm this is the level alpha / (m - rank + 1) of the step at which the test is rejected (or
the stricter step that blocked it), the usual way of inverting a step-down procedure into
simultaneous intervals (cf. Dmitrienko et al. 2009, Multiple Testing Problems, ch. 2). The
relative interval uses the p-value of its own delta-method statistic, so it keeps the property
although its statistic differs slightly from the absolute one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

FloatArray = np.ndarray
_TINY = 1e-300


class AdjustedIntervals(NamedTuple):
    """Absolute and relative intervals at the per-test levels implied by the correction."""

    abs_low: FloatArray
    abs_high: FloatArray
    rel_low: FloatArray
    rel_high: FloatArray
    abs_level: FloatArray
    rel_level: FloatArray


def _level(p_own: FloatArray, p_adjusted: FloatArray, alpha: float) -> FloatArray:
    """Per-test error level g = alpha * p_own / p_adjusted, capped at alpha (never narrower than
    the unadjusted interval) except where only a level above alpha can agree with p_adjusted."""
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(p_adjusted > 0, alpha * p_own / p_adjusted, alpha)
        need_wider_level = (p_adjusted < alpha) & (p_own >= alpha)
        level = np.where(need_wider_level, level, np.minimum(level, alpha))
    return np.clip(level, _TINY, 1.0)


def _own_p(est: FloatArray, se: FloatArray, df: FloatArray) -> FloatArray:
    """The two-sided p-value of the interval's own statistic est / se (t with df)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(est / se), df)
    return np.where(se == 0, np.where(est == 0, 1.0, 0.0), p)


def _interval(
    est: FloatArray, se: FloatArray, df: FloatArray, level: FloatArray
) -> tuple[FloatArray, FloatArray]:
    crit = stats.t.isf(level / 2, df)
    with np.errstate(invalid="ignore"):
        half = np.where(se == 0, 0.0, crit * se)
    return est - half, est + half


def adjusted_intervals(
    abs_effect: FloatArray,
    abs_se: FloatArray,
    rel_effect: FloatArray,
    rel_se: FloatArray,
    df: FloatArray,
    p_value: FloatArray,
    p_adjusted: FloatArray,
    alpha: float,
) -> AdjustedIntervals:
    """Intervals that exclude zero exactly when p_adjusted < alpha (NaN where p is NaN).

    `p_value` is the raw p the correction started from; each interval's level is computed from
    its own statistic, so the property also holds when p_value came from another test (e.g. the
    always-valid p of --sequential).
    """
    p_abs = _own_p(abs_effect, abs_se, df)
    p_rel = _own_p(rel_effect, rel_se, df)
    abs_level = _level(p_abs, p_adjusted, alpha)
    rel_level = _level(p_rel, p_adjusted, alpha)
    abs_low, abs_high = _interval(abs_effect, abs_se, df, abs_level)
    rel_low, rel_high = _interval(rel_effect, rel_se, df, rel_level)
    missing = np.isnan(p_adjusted) | np.isnan(p_value)
    nan = np.full(missing.shape, np.nan)
    return AdjustedIntervals(
        abs_low=np.where(missing, nan, abs_low),
        abs_high=np.where(missing, nan, abs_high),
        rel_low=np.where(missing, nan, rel_low),
        rel_high=np.where(missing, nan, rel_high),
        abs_level=np.where(missing, nan, 1 - abs_level),
        rel_level=np.where(missing, nan, 1 - rel_level),
    )
