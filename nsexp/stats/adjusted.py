"""Confidence intervals that agree with multiplicity-adjusted p-values, exactly.

An interval at level 1 - g excludes zero exactly when its own test's p-value is below g. Each
test gets g = alpha * p_raw / p_adjusted (capped at alpha, see correction_level): for Holm this
is the level alpha / (m - rank + 1) of the step at which the test is rejected (or the stricter
step that blocked it), the usual way of inverting a step-down procedure into simultaneous
intervals (cf. Dmitrienko et al. 2009, Multiple Testing Problems, ch. 2). The relative interval
has its own delta-method statistic, whose p-value differs from the absolute test's; where that
would break the agreement, its level moves just past its own p-value, and no further. The same
holds for every interval method (nsexp.stats.intervals): Newcombe's and the log-ratio intervals
at level g are computed by their own formulas, their own statistics give their own p-values.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats.intervals import FixedScale, Methods, Scale, bounds, statistics

FloatArray = np.ndarray
_TINY = 1e-300
_NUDGE = 1e-6


class AdjustedIntervals(NamedTuple):
    """Absolute and relative intervals at the per-test levels implied by the correction."""

    abs_low: FloatArray
    abs_high: FloatArray
    rel_low: FloatArray
    rel_high: FloatArray
    abs_level: FloatArray
    rel_level: FloatArray


def correction_level(
    p_own: FloatArray, p_raw: FloatArray, p_adjusted: FloatArray, alpha: float
) -> FloatArray:
    """Per-test error level: alpha scaled by the correction's factor p_raw / p_adjusted (capped
    at alpha, so never narrower than the unadjusted interval), then moved just far enough that
    an interval whose own p-value p_own differs from p_raw still excludes zero exactly when
    p_adjusted < alpha."""
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.minimum(np.where(p_adjusted > 0, alpha * p_raw / p_adjusted, alpha), alpha)
        significant = p_adjusted < alpha
        # An interval at level g excludes zero exactly when p_own < g; keep clear of the tie.
        level = np.where(
            significant,
            np.maximum(level, p_own * (1 + _NUDGE)),
            np.minimum(level, p_own * (1 - _NUDGE)),
        )
    return np.clip(level, _TINY, 1.0)


def adjusted_intervals(
    abs_effect: FloatArray,
    abs_se: FloatArray,
    rel_effect: FloatArray,
    rel_se: FloatArray,
    df: FloatArray,
    p_value: FloatArray,
    p_adjusted: FloatArray,
    alpha: float,
    methods: Methods | None = None,
    scale: Scale | None = None,
) -> AdjustedIntervals:
    """Intervals that exclude zero exactly when p_adjusted < alpha (NaN where p is NaN).

    `p_value` is the raw p the correction started from; each interval's level is computed from
    its own statistic, so the property also holds when p_value came from another test (e.g. the
    always-valid p of --sequential, or Fisher's exact test). `methods`: each entry's interval
    methods (default: t/z and delta); `scale`: the fixed-horizon t with `df` (default) or the
    always-valid boundary (nsexp.stats.sequential.MixtureScale).
    """
    methods = methods or Methods.default(np.size(abs_effect))
    scale = scale or FixedScale(df)
    z_abs, z_rel = statistics(abs_effect, abs_se, rel_effect, rel_se, methods)
    abs_level = correction_level(scale.p_of(z_abs), p_value, p_adjusted, alpha)
    rel_level = correction_level(scale.p_of(z_rel), p_value, p_adjusted, alpha)
    abs_low, abs_high, rel_low, rel_high = bounds(
        abs_effect,
        abs_se,
        rel_effect,
        rel_se,
        methods,
        scale.crit(abs_level),
        scale.crit(rel_level),
    )
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
