"""CUPED / regression adjustment on sufficient statistics (Deng, Xu, Kohavi & Walker 2013).

Each unit's metric Y is adjusted by a pre-experiment covariate X: Y - theta (X - mean X). theta
is the pooled within-arm slope (Sxy_c + Sxy_t) / (Sxx_c + Sxx_t) — the common slope of the
ANCOVA regression Y ~ treatment + X (Lin 2013) — so the adjusted difference equals the OLS
treatment coefficient and stays unbiased, while the variance falls by about rho^2. CUPED applies
to mean and proportion metrics; ratio metrics are left unadjusted.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats.arms import (
    ArmSums,
    centred_var,
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
    """The (possibly adjusted) comparison, theta, and the share of variance removed."""

    comparison: Comparison
    theta: FloatArray
    variance_reduction: FloatArray
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


def pooled_theta(control: ArmSums, treatment: ArmSums, ccov: CovSums, tcov: CovSums) -> FloatArray:
    """Pooled within-arm regression slope of the metric on its covariate; NaN if undefined."""
    _, sxx_c, sxy_c = cov_moments(control, ccov)
    _, sxx_t, sxy_t = cov_moments(treatment, tcov)
    with np.errstate(divide="ignore", invalid="ignore"):
        sxy, sxx = sxy_c + sxy_t, sxx_c + sxx_t
        return np.where(sxx > 0, sxy / sxx, np.nan)


def cuped_compare(
    kind: np.ndarray,
    control: ArmSums,
    treatment: ArmSums,
    ccov: CovSums,
    tcov: CovSums,
    alpha: float,
    use: np.ndarray | None = None,
) -> CupedResult:
    """compare(), with CUPED-adjusted figures wherever a covariate exists and `use` is True."""
    plain = compare(kind, control, treatment, alpha)
    theta = pooled_theta(control, treatment, ccov, tcov)
    few = plain.method == "fisher_exact"  # few events: exact methods, no adjustment
    ok = np.isfinite(theta) & np.isin(kind, ("mean", "proportion")) & ~few
    if use is not None:
        ok &= np.asarray(use, dtype=bool)
    theta = np.where(ok, theta, 0.0)
    c, t = estimate(kind, control), estimate(kind, treatment)
    n_c, n_t = control.n, treatment.n
    _, sxx_c, sxy_c = cov_moments(control, ccov)
    _, sxx_t, sxy_t = cov_moments(treatment, tcov)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(ok, cov_difference(control, treatment, ccov, tcov), 0.0)
        w_c, w_t = n_c / (n_c + n_t), n_t / (n_c + n_t)
        # Adjusted arm means around the pair's pooled covariate mean.
        a_t = t.mean - theta * w_c * dx
        a_c = c.mean + theta * w_t * dx
        vx_c = np.where(ok, centred_var(n_c, sxx_c), 0.0)
        vx_t = np.where(ok, centred_var(n_t, sxx_t), 0.0)
        cxy_c = np.where(ok, centred_var(n_c, sxy_c), 0.0)
        cxy_t = np.where(ok, centred_var(n_t, sxy_t), 0.0)
        uv_c = np.maximum(c.unit_var - 2 * theta * cxy_c + theta**2 * vx_c, 0.0)
        uv_t = np.maximum(t.unit_var - 2 * theta * cxy_t + theta**2 * vx_t, 0.0)
        v_c, v_t = uv_c / n_c, uv_t / n_t
        var = v_t + v_c
        welch_df = var**2 / (v_t**2 / (n_t - 1) + v_c**2 / (n_c - 1))
        # Delta method for a_t / a_c - 1 over the four independent-arm means (Y_t, X_t, Y_c, X_c).
        g_x = theta * (w_c / a_c + a_t * w_t / a_c**2)
        rel_var = (t.var / a_c**2 - 2 * g_x * cxy_t / n_t / a_c + g_x**2 * vx_t / n_t) + (
            a_t**2 / a_c**4 * c.var - 2 * a_t / a_c**2 * g_x * cxy_c / n_c + g_x**2 * vx_c / n_c
        )
        reduction = 1 - var / plain.abs_se**2
    df = np.where(kind == "mean", welch_df, np.inf)
    rel_se = np.sqrt(np.maximum(rel_var, 0.0))
    diff = difference(t, c) - theta * dx
    adjusted = finish(
        a_c, a_t, np.sqrt(var), rel_se, df, alpha, uv_c, uv_t, diff=diff, n=(n_c, n_t)
    )
    adjusted = with_methods(adjusted, kind, v_c, alpha, few=few)
    merged = Comparison(*(np.where(ok, a, b) for a, b in zip(adjusted, plain, strict=True)))
    return CupedResult(
        comparison=merged,
        theta=np.where(ok, theta, np.nan),
        variance_reduction=np.where(ok, reduction, np.nan),
        adjusted=ok,
    )
