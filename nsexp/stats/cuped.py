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

from nsexp.stats.arms import ArmSums, estimate, sample_cov, sample_var
from nsexp.stats.compare import Comparison, compare, finish

FloatArray = np.ndarray


class CovSums(NamedTuple):
    """Covariate sums of one arm: sum X, sum X^2 and the cross sum of metric x covariate."""

    cov_sum: FloatArray
    cov_sum_sq: FloatArray
    num_cov_sum: FloatArray


class CupedResult(NamedTuple):
    """The (possibly adjusted) comparison, theta, and the share of variance removed."""

    comparison: Comparison
    theta: FloatArray
    variance_reduction: FloatArray
    adjusted: FloatArray


def pooled_theta(control: ArmSums, treatment: ArmSums, ccov: CovSums, tcov: CovSums) -> FloatArray:
    """Pooled within-arm regression slope of the metric on its covariate; NaN if undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sxy = (ccov.num_cov_sum - control.sum * ccov.cov_sum / control.n) + (
            tcov.num_cov_sum - treatment.sum * tcov.cov_sum / treatment.n
        )
        sxx = (ccov.cov_sum_sq - ccov.cov_sum**2 / control.n) + (
            tcov.cov_sum_sq - tcov.cov_sum**2 / treatment.n
        )
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
    ok = np.isfinite(theta) & np.isin(kind, ("mean", "proportion"))
    if use is not None:
        ok &= np.asarray(use, dtype=bool)
    theta = np.where(ok, theta, 0.0)
    c, t = estimate(kind, control), estimate(kind, treatment)
    n_c, n_t = control.n, treatment.n
    with np.errstate(divide="ignore", invalid="ignore"):
        x_c, x_t = ccov.cov_sum / n_c, tcov.cov_sum / n_t
        dx = np.where(ok, x_t - x_c, 0.0)
        w_c, w_t = n_c / (n_c + n_t), n_t / (n_c + n_t)
        # Adjusted arm means around the pair's pooled covariate mean.
        a_t = t.mean - theta * w_c * dx
        a_c = c.mean + theta * w_t * dx
        vx_c = np.where(ok, sample_var(n_c, ccov.cov_sum, ccov.cov_sum_sq), 0.0)
        vx_t = np.where(ok, sample_var(n_t, tcov.cov_sum, tcov.cov_sum_sq), 0.0)
        cxy_c = np.where(ok, sample_cov(n_c, control.sum, ccov.cov_sum, ccov.num_cov_sum), 0.0)
        cxy_t = np.where(ok, sample_cov(n_t, treatment.sum, tcov.cov_sum, tcov.num_cov_sum), 0.0)
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
    adjusted = finish(a_c, a_t, np.sqrt(var), rel_se, df, alpha, uv_c, uv_t)
    merged = Comparison(*(np.where(ok, a, b) for a, b in zip(adjusted, plain, strict=True)))
    return CupedResult(
        comparison=merged,
        theta=np.where(ok, theta, np.nan),
        variance_reduction=np.where(ok, reduction, np.nan),
        adjusted=ok,
    )
