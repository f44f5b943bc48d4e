"""Skewed mean metrics in unequal arms: the skewness of the difference, Kohavi's rule, and the
skewness-corrected Welch test.

With equal arms the skewness of the two means cancels in their difference; with unequal ones
(a 2% holdout) the smaller arm's does not, and Welch's t makes false wins (issue 18). Under the
null of identical arms the difference of means has skewness
a = γ (1/n_t² − 1/n_c²) / (1/n_t + 1/n_c)^{3/2}, γ the metric's skewness pooled within the arms
(its M3 and M2 about each arm's own mean); for a holdout (n_t ≫ n_c) a → −γ/√n_c.

The normal approximation holds where |a| ≤ 1/√355: for one arm that is Kohavi, Tang & Xu's rule
n > 355·s² (2020, ch. 17), judged here by the skewness of the difference, so that it is the
smaller arm's rule for a holdout and silent for equal arms. Beyond it Welch's statistic T has a
long tail on one side (Johnson 1978; Hall 1992, §2.6): its quantile there is, to second order
in a (Cornish–Fisher), z + |a|(2z² + 1)/6 + a²·c₂(z), and that tail's critical value is widened
to it; the kurtosis term is left out (nsexp carries no fourth moment; for |γ| > √2 the kurtosis
κ ≥ γ² − 2 > 0 narrows the tail, so leaving it out errs on the safe side). The other tail keeps
Welch's critical value: the skewness makes it lighter. Sizes and power by simulation with known
truth: tests/calibration/test_skew.py and docs/calibration.md.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from nsexp.stats import dist
from nsexp.stats.arms import ArmSums, shifted_moments
from nsexp.stats.compare import Comparison, methods_of
from nsexp.stats.intervals import bounds

FloatArray = np.ndarray
RULE = 1 / math.sqrt(355)  # |skewness of the difference| up to which the normal one holds
SKEW_TEST = "welch_t_skew"


class Skew(NamedTuple):
    """Per entry: the skewness of the difference of means (NaN where it could not be
    computed), whether it was checked at all (a third moment in both arms), and whether it is
    beyond RULE (the corrected test decides)."""

    a: FloatArray
    checked: np.ndarray
    skewed: np.ndarray


def third_moment(arm: ArmSums) -> tuple[FloatArray, FloatArray]:
    """M2 = Σ(y − ȳ)² and M3 = Σ(y − ȳ)³ of an arm from its shifted sums
    (M3 = S₃ − 3S₁S₂/n + 2S₁³/n²; NaN where the reader gave no third power)."""
    n = arm.n
    _, m2 = shifted_moments(n, arm.shift, arm.dev_sum, arm.dev_sum_sq)
    s1 = np.asarray(arm.dev_sum, dtype=float)
    s2 = np.asarray(arm.dev_sum_sq, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        m3 = np.asarray(arm.dev_sum_cu, dtype=float) - 3 * s1 * s2 / n + 2 * s1**3 / n**2
    return m2, m3


def difference_skewness(gamma: FloatArray | float, n_c: FloatArray, n_t: FloatArray) -> FloatArray:
    """Skewness of mean_t − mean_c for identical arms of skewness γ."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return gamma * (1 / n_t**2 - 1 / n_c**2) / (1 / n_t + 1 / n_c) ** 1.5


def skewness(kind: np.ndarray, control: ArmSums, treatment: ArmSums) -> Skew:
    """The skewness check of every mean entry (other kinds: not checked, never skewed)."""
    m2_c, m3_c = third_moment(control)
    m2_t, m3_t = third_moment(treatment)
    total = control.n + treatment.n
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = ((m3_c + m3_t) / total) / ((m2_c + m2_t) / total) ** 1.5
    gamma = np.where(m2_c + m2_t > 0, gamma, 0.0)  # constant arms: no skew to speak of
    a = np.where(kind == "mean", difference_skewness(gamma, control.n, treatment.n), np.nan)
    checked = np.isfinite(a)
    with np.errstate(invalid="ignore"):
        skewed = checked & (np.abs(a) > RULE)
    return Skew(a=a, checked=checked, skewed=skewed)


def widening(a: FloatArray, z: FloatArray) -> FloatArray:
    """How far the skewed tail's quantile of T lies beyond z (never negative)."""
    c2 = 5 * z * (4 * z**2 - 1) / 72  # the γ² part of Hall's (1992) second-order term
    return np.maximum(np.abs(a) * (2 * z**2 + 1) / 6 + a**2 * c2, 0.0)


def units_for_rule(a: FloatArray, n_small: FloatArray) -> FloatArray:
    """Units in the smaller arm at which |a| falls to RULE at the same split (a ∝ 1/√n)."""
    return np.ceil(n_small * (a / RULE) ** 2)


def corrected(result: Comparison, skew: Skew, alpha: float) -> Comparison:
    """The comparison with the skewness-corrected test where `skew.skewed`: the interval's
    side on the long tail of T widened, the p-value the level at which it just reaches zero."""
    use = skew.skewed & np.isfinite(result.abs_se) & (result.abs_se > 0)
    if not use.any():
        return result
    a = np.where(use, skew.a, 0.0)
    df = result.df
    z = dist.t_isf(alpha / 2, df)
    wide = z + widening(a, z)
    low, high, rel_low, rel_high = bounds(
        result.abs_effect, result.abs_se, result.rel_effect, result.rel_se,
        methods_of(result), wide, wide,
    )  # fmt: skip
    left = use & (a < 0)  # T's long tail is the upper one: widen the interval's lower side
    right = use & (a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = result.abs_effect / result.abs_se
    long_side = (t > 0) & left | (t < 0) & right
    p = np.where(use & long_side, 2 * dist.t_sf(_solve(np.abs(t), a), df), result.p_value)
    return result._replace(
        abs_ci_low=np.where(left, low, result.abs_ci_low),
        abs_ci_high=np.where(right, high, result.abs_ci_high),
        rel_ci_low=np.where(left, rel_low, result.rel_ci_low),
        rel_ci_high=np.where(right, rel_high, result.rel_ci_high),
        p_value=np.minimum(p, 1.0),
        method=np.where(use, SKEW_TEST, result.method),
    )


def _solve(t: FloatArray, a: FloatArray) -> FloatArray:
    """The z with z + widening(a, z) = t, by bisection over [0, t]: the widened critical value
    z + widening(a, z) is increasing in z (its slope is at least 1 − 5a²/72)."""
    low, high = np.zeros_like(t), np.where(np.isfinite(t), t, 0.0)
    for _ in range(60):
        mid = (low + high) / 2
        above = mid + widening(a, mid) > t
        low, high = np.where(above, low, mid), np.where(above, mid, high)
    return np.where(np.isfinite(t), (low + high) / 2, t)
