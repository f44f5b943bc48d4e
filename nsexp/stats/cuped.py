"""CUPED / regression adjustment on sufficient statistics (Deng, Xu, Kohavi & Walker 2013), by
Lin's (2013) interacted estimator.

Each arm's mean of the metric Y is adjusted by its own slope on a pre-experiment covariate X,
around the pair's pooled covariate mean X̄: A = Ȳ_a − β_a (X̄_a − X̄), β_a = Sxy_a / Sxx_a — the
treatment coefficient of the OLS fit Y ~ T * (X − X̄) with separate slopes per arm, which is never
less precise than the unadjusted difference asymptotically, whatever the arms' sizes or slopes
(Lin 2013); a common pooled slope has no such guarantee and can inflate the variance when the
arms are unequal and their slopes differ. Its variance is the classical per-arm formula
Σ_a σ̂²_a (1/n_a + (X̄_a − X̄)² / Sxx_a), σ̂²_a = (Syy_a − Sxy_a² / Sxx_a) / (n_a − 2), from each
arm's sums; the HC2 sandwich of the same fit needs each unit's leverage and differs from it by
O(1/n). Where the adjusted interval would still be wider than the unadjusted one, the unadjusted
figure stands (`variance_increase` says by how much it would have grown). CUPED applies to mean
and proportion metrics; ratio metrics and few-event proportions are left unadjusted.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats.arms import (
    ArmSums,
    difference,
    estimate,
    given,
    shifted_moments,
)
from nsexp.stats.compare import Comparison, compare, finish, with_methods

FloatArray = np.ndarray


class CovSums(NamedTuple):
    """Covariate sums of one arm: sum X, sum X^2 and the cross sum of metric x covariate, and
    their shifted forms (shift u, Σ(X − u), Σ(X − u)², Σ(Y − s)(X − u); nsexp.io.moments),
    used wherever given (not NaN)."""

    cov_sum: FloatArray
    cov_sum_sq: FloatArray
    num_cov_sum: FloatArray
    cov_shift: FloatArray | float = float("nan")
    cov_dev_sum: FloatArray | float = float("nan")
    cov_dev_sum_sq: FloatArray | float = float("nan")
    num_cov_dev_sum: FloatArray | float = float("nan")


class CupedResult(NamedTuple):
    """The (possibly adjusted) comparison, the slopes and the share of variance removed (NaN
    where not adjusted), and the variance increase where an adjustment was refused because it
    would widen the interval (NaN elsewhere)."""

    comparison: Comparison
    theta: FloatArray
    slope_control: FloatArray
    slope_treatment: FloatArray
    variance_reduction: FloatArray
    variance_increase: FloatArray
    adjusted: FloatArray


def cov_moments(arm: ArmSums, cov: CovSums) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean of X, Sxx = Σ(X − X̄)² and Sxy = Σ(Y − Ȳ)(X − X̄) of one arm: from the shifted sums
    where given, else derived from the raw sums."""
    n = arm.n
    mean, sxx = shifted_moments(n, cov.cov_shift, cov.cov_dev_sum, cov.cov_dev_sum_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        sxy = (
            np.asarray(cov.num_cov_dev_sum, dtype=float)
            - np.asarray(arm.dev_sum, dtype=float) * np.asarray(cov.cov_dev_sum, dtype=float) / n
        )
        mean = given(mean, cov.cov_sum / n)
        sxx = given(np.where(np.isnan(mean), np.nan, sxx), cov.cov_sum_sq - cov.cov_sum**2 / n)
        sxy = given(sxy, cov.num_cov_sum - arm.sum * cov.cov_sum / n)
    return mean, sxx, sxy


def cov_difference(
    control: ArmSums, treatment: ArmSums, ccov: CovSums, tcov: CovSums
) -> FloatArray:
    """X̄_t − X̄_c as (shift_t − shift_c) + (offset_t − offset_c), so that a covariate near a
    large value keeps the digits of the difference (raw sums: shift 0)."""
    parts = []
    for arm, cov in ((control, ccov), (treatment, tcov)):
        shift = np.asarray(cov.cov_shift, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            offset = np.where(np.isnan(shift), cov.cov_sum / arm.n, cov.cov_dev_sum / arm.n)
        parts.append((np.where(np.isnan(shift), 0.0, shift), offset))
    (s_c, o_c), (s_t, o_t) = parts
    return (s_t - s_c) + (o_t - o_c)


def cuped_compare(
    kind: np.ndarray,
    control: ArmSums,
    treatment: ArmSums,
    ccov: CovSums,
    tcov: CovSums,
    alpha: float,
    use: np.ndarray | None = None,
) -> CupedResult:
    """compare(), with Lin's adjusted figures wherever a covariate exists, `use` is True and
    the adjustment does not widen the interval.

    theta is the slope the difference is adjusted by, w_c β_t + w_t β_c (w the arms' shares
    of units): effect = Ȳ_t − Ȳ_c − theta (X̄_t − X̄_c)."""
    plain = compare(kind, control, treatment, alpha)
    few = plain.method == "fisher_exact"  # few events: exact methods, no adjustment
    n_c, n_t = control.n, treatment.n
    _, sxx_c, sxy_c = cov_moments(control, ccov)
    _, sxx_t, sxy_t = cov_moments(treatment, tcov)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (sxx_c > 0) & (sxx_t > 0) & (np.minimum(n_c, n_t) > 2)
        ok &= np.isin(kind, ("mean", "proportion")) & ~few
        if use is not None:
            ok &= np.asarray(use, dtype=bool)
    if not ok.any():  # nothing to adjust (no covariate): the plain figures, as below
        return _unadjusted(plain, ok)
    c, t = estimate(kind, control), estimate(kind, treatment)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_c = np.where(ok, sxy_c / sxx_c, 0.0)
        b_t = np.where(ok, sxy_t / sxx_t, 0.0)
        dx = np.where(ok, cov_difference(control, treatment, ccov, tcov), 0.0)
        w_c, w_t = n_c / (n_c + n_t), n_t / (n_c + n_t)
        # X̄_c − X̄ = −w_t dx and X̄_t − X̄ = w_c dx: the arms' offsets from the pooled mean
        a_c = c.mean + b_c * w_t * dx
        a_t = t.mean - b_t * w_c * dx
        v_c = _adjusted_var(kind, c.unit_var, n_c, sxx_c, sxy_c, w_t * dx)
        v_t = _adjusted_var(kind, t.unit_var, n_t, sxx_t, sxy_t, w_c * dx)
        var = v_t + v_c
        welch_df = var**2 / (v_t**2 / (n_t - 2) + v_c**2 / (n_c - 2))
        # delta method for a_t / a_c − 1, the arms' adjusted means independent given X
        rel_se = np.sqrt(v_t / a_c**2 + a_t**2 * v_c / a_c**4)
        change = var / plain.abs_se**2
    df = np.where(kind == "mean", welch_df, np.inf)
    diff = difference(t, c) - (b_t * w_c + b_c * w_t) * dx
    adjusted = finish(
        a_c, a_t, np.sqrt(var), rel_se, df, alpha, v_c * n_c, v_t * n_t, diff=diff, n=(n_c, n_t)
    )
    adjusted = with_methods(adjusted, kind, v_c, alpha, few=few)
    with np.errstate(invalid="ignore"):
        wider = ok & (
            adjusted.abs_ci_high - adjusted.abs_ci_low > plain.abs_ci_high - plain.abs_ci_low
        )
    ok &= ~wider
    merged = Comparison(*(np.where(ok, a, b) for a, b in zip(adjusted, plain, strict=True)))
    nan = np.full(np.shape(ok), np.nan)
    return CupedResult(
        comparison=merged,
        theta=np.where(ok, b_t * w_c + b_c * w_t, nan),
        slope_control=np.where(ok, b_c, nan),
        slope_treatment=np.where(ok, b_t, nan),
        variance_reduction=np.where(ok, 1 - change, nan),
        variance_increase=np.where(wider, change - 1, nan),
        adjusted=ok,
    )


def _unadjusted(plain: Comparison, ok: np.ndarray) -> CupedResult:
    """cuped_compare's result where no entry is adjusted (`ok` all False): the plain
    comparison, and no slope, reduction or increase."""
    nan = np.full(np.shape(ok), np.nan)
    return CupedResult(
        comparison=Comparison(*(np.where(ok, b, b) for b in plain)),  # shapes as np.where's
        theta=nan,
        slope_control=nan,
        slope_treatment=nan,
        variance_reduction=nan,
        variance_increase=nan,
        adjusted=ok,
    )


def _adjusted_var(
    kind: np.ndarray,
    unit_var: FloatArray,
    n: FloatArray,
    sxx: FloatArray,
    sxy: FloatArray,
    offset: FloatArray,
) -> FloatArray:
    """Variance of one arm's adjusted mean: σ̂² (1/n + offset² / Sxx), σ̂² the residual
    variance of the arm's own regression, (Syy − Sxy² / Sxx) / (n − 2); Syy from the arm's
    variance (n − 1 of it; a proportion's p(1 − p) is over n)."""
    syy = unit_var * np.where(kind == "proportion", n, n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        residual = np.maximum(syy - sxy**2 / sxx, 0.0) / (n - 2)
        return residual * (1 / n + offset**2 / sxx)


def widening_notes(increase: FloatArray) -> list[str | None]:
    """Per entry, why the unadjusted figure stands where CUPED would widen the interval
    (`increase`: the share of variance it would add; None elsewhere). A list, not an object
    array: Polars 2.1 cannot read an object array whose first entry is None as strings."""
    text = "CUPED would widen the interval (variance +{:.0%}): the unadjusted figure decides"
    values = np.asarray(increase, dtype=float)
    notes: list[str | None] = [None] * values.size
    for i in np.flatnonzero(~np.isnan(values)):  # the few refused adjustments only
        notes[i] = text.format(values[i])
    return notes
