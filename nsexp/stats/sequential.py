"""Always-valid intervals and p-values: a readout may be opened every day without inflating α.

The two-sided normal-mixture confidence sequence of Howard, Ramdas, McAuliffe & Sekhon (2021),
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), in the
asymptotic form of Waudby-Smith et al. (2024, "Time-uniform central limit theory and asymptotic
confidence sequences") that plugs in the estimated variance — the form GrowthBook and Eppo use.

Derivation. For an estimate θ̂ from N units with standard error se (so per-unit variance
σ² = N se²), S = N (θ̂ − θ) has intrinsic time V = N σ². The martingale exp(λS − λ²V/2), mixed
over λ ~ N(0, 1/(η σ²)), is

    Λ = sqrt(η / (N + η)) · exp(z² N / (2 (N + η))),   z = (θ̂ − θ) / se,

and Ville's inequality gives P(∃ N: Λ ≥ 1/α) ≤ α. Solving Λ = 1/α for θ gives the half-width

    half = se · sqrt((1 + r) · log((1 + 1/r) / α²)),   r = η / N,

and the always-valid p-value of θ = 0 is p = min(1, 1/Λ). Here N counts the units of both arms.

Mixing parameter. η is a sample size: the boundary is tightest near N = N*, with
η = N* / (2 log(1/α) + log(1 + 2 log(1/α))), the approximate minimiser of the width at N*
(Howard et al. 2021; GrowthBook's tuning); tests/test_sequential.py checks it against a
numerical minimiser (within 0.1%). By default N* is the comparison's sample at the readout (for
a timeline, at its last date); Settings.sequential_n fixes a planned N* instead, which is the
strict reading of the guarantee when the final sample is not known in advance.
"""

from __future__ import annotations

import numpy as np

from nsexp.stats.adjusted import AdjustedIntervals, correction_level
from nsexp.stats.compare import Comparison

FloatArray = np.ndarray


def tuned_eta(n_star: FloatArray | float, alpha: float) -> FloatArray:
    """Mixing parameter η (in units) that makes the boundary nearly tightest at n_star units."""
    log_inv = 2 * np.log(1 / alpha)
    return np.asarray(n_star, dtype=float) / (log_inv + np.log(1 + log_inv))


def boundary_multiplier(n: FloatArray, eta: FloatArray, alpha: float | FloatArray) -> FloatArray:
    """Half-width of the confidence sequence in standard errors at n units (fixed: z_{1-α/2})."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.asarray(eta, dtype=float) / np.asarray(n, dtype=float)
        return np.sqrt((1 + r) * np.log((1 + 1 / r) / alpha**2))


def always_valid_p(z: FloatArray, n: FloatArray, eta: FloatArray) -> FloatArray:
    """1 / mixture likelihood ratio against θ = 0, capped at 1; p ≤ α exactly when the CS
    excludes 0."""
    n = np.asarray(n, dtype=float)
    eta = np.asarray(eta, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_p = 0.5 * np.log((n + eta) / eta) - 0.5 * np.asarray(z, dtype=float) ** 2 * n / (
            n + eta
        )
        return np.minimum(1.0, np.exp(log_p))


def sequential_comparison(
    result: Comparison,
    n: FloatArray,
    alpha: float,
    n_star: FloatArray | float | None = None,
) -> Comparison:
    """Swap a fixed-horizon Comparison's intervals and p-values for always-valid ones.

    `n` is each entry's units (both arms); `n_star` the sample the boundary is tuned to
    (default: `n` itself). Estimates and standard errors are unchanged.
    """
    n = np.asarray(n, dtype=float)
    eta = tuned_eta(n if n_star is None else n_star, alpha)
    mult = boundary_multiplier(n, eta, alpha)
    p = always_valid_p(result.statistic, n, eta)
    p = np.where(result.abs_se == 0, result.p_value, p)
    return result._replace(
        abs_ci_low=result.abs_effect - mult * result.abs_se,
        abs_ci_high=result.abs_effect + mult * result.abs_se,
        rel_ci_low=result.rel_effect - mult * result.rel_se,
        rel_ci_high=result.rel_effect + mult * result.rel_se,
        p_value=p,
    )


def sequential_adjusted_intervals(
    abs_effect: FloatArray,
    abs_se: FloatArray,
    rel_effect: FloatArray,
    rel_se: FloatArray,
    p_value: FloatArray,
    p_adjusted: FloatArray,
    n: FloatArray,
    alpha: float,
    n_star: FloatArray | float | None = None,
) -> AdjustedIntervals:
    """Always-valid intervals that exclude zero exactly when p_adjusted < alpha.

    The per-test level g comes from nsexp.stats.adjusted (g = alpha · p / p_adjusted); the
    confidence sequence at level g has half-width boundary_multiplier(n, η, g) · se, and it
    excludes zero exactly when the always-valid p is below g, so the agreement carries over.
    """
    n = np.asarray(n, dtype=float)
    eta = tuned_eta(n if n_star is None else n_star, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_rel = always_valid_p(rel_effect / rel_se, n, eta)
    p_rel = np.where(rel_se == 0, np.where(rel_effect == 0, 1.0, 0.0), p_rel)
    abs_level = correction_level(p_value, p_value, p_adjusted, alpha)
    rel_level = correction_level(p_rel, p_value, p_adjusted, alpha)
    with np.errstate(invalid="ignore"):
        abs_half = np.where(abs_se == 0, 0.0, boundary_multiplier(n, eta, abs_level) * abs_se)
        rel_half = np.where(rel_se == 0, 0.0, boundary_multiplier(n, eta, rel_level) * rel_se)
    missing = np.isnan(np.asarray(p_adjusted, dtype=float))
    nan = np.full(missing.shape, np.nan)
    return AdjustedIntervals(
        abs_low=np.where(missing, nan, abs_effect - abs_half),
        abs_high=np.where(missing, nan, abs_effect + abs_half),
        rel_low=np.where(missing, nan, rel_effect - rel_half),
        rel_high=np.where(missing, nan, rel_effect + rel_half),
        abs_level=np.where(missing, nan, 1 - abs_level),
        rel_level=np.where(missing, nan, 1 - rel_level),
    )


def sequential_half_width(
    se: FloatArray,
    n: FloatArray,
    level_alpha: float,
    alpha: float,
    n_star: FloatArray | float | None = None,
) -> FloatArray:
    """Half-width of the always-valid (1 − level_alpha) interval, η tuned at `alpha` (so the
    same mixture as the readout's tests; used for the flat test at level 2α)."""
    n = np.asarray(n, dtype=float)
    eta = tuned_eta(n if n_star is None else n_star, alpha)
    return boundary_multiplier(n, eta, level_alpha) * np.asarray(se, dtype=float)
