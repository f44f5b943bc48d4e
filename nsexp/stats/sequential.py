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
(Howard et al. 2021; GrowthBook's tuning); tests/stats/test_sequential.py checks it against a
numerical minimiser (within 0.1%). The guarantee holds only for an η fixed before the data: an
η re-tuned to each look's own sample makes the boundary a constant ≈ 3 standard errors, which
is crossed eventually (6.5% of A/A runs ever significant over 100 looks; docs/calibration.md).
So N* is always given: the experiment's planned_units (experiments.toml), else the readout's
--sequential-n, else DEFAULT_N, GrowthBook's default of 5,000 units (both arms; "this value
should remain fixed for an experiment", docs.growthbook.io/statistics/sequential).
"""

from __future__ import annotations

import numpy as np

from nsexp.stats.adjusted import AdjustedIntervals, adjusted_intervals
from nsexp.stats.compare import Comparison, methods_of
from nsexp.stats.intervals import bounds, statistics

FloatArray = np.ndarray
DEFAULT_N = 5_000


class MixtureScale:
    """The always-valid scale: critical values from the mixture boundary, p-values from the
    mixture likelihood ratio, at each entry's units `n` and mixing parameter `eta`."""

    def __init__(self, n: FloatArray, eta: FloatArray) -> None:
        """Each entry's units (both arms) and mixing parameter."""
        self.n = np.asarray(n, dtype=float)
        self.eta = np.asarray(eta, dtype=float)

    def crit(self, level_alpha: FloatArray | float) -> FloatArray:
        """The boundary in standard errors at level 1 − level_alpha."""
        return boundary_multiplier(self.n, self.eta, np.asarray(level_alpha, dtype=float))

    def p_of(self, z: FloatArray) -> FloatArray:
        """Always-valid p of |z|."""
        return always_valid_p(z, self.n, self.eta)


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
    result: Comparison, n: FloatArray, alpha: float, n_star: FloatArray | float
) -> Comparison:
    """Swap a fixed-horizon Comparison's intervals and p-values for always-valid ones.

    `n` is each entry's units (both arms); `n_star` the planned sample the boundary is tuned
    to, fixed before the data (required: tuning to `n` itself is not always valid). Estimates
    and standard errors are unchanged; each entry keeps its interval methods, with the boundary
    in place of the t quantile, and its p is the always-valid p of the interval's own statistic.
    """
    scale = MixtureScale(n, tuned_eta(n_star, alpha))
    methods = methods_of(result)
    z_abs, _ = statistics(
        result.abs_effect, result.abs_se, result.rel_effect, result.rel_se, methods
    )
    crit = scale.crit(alpha)
    low, high, rel_low, rel_high = bounds(
        result.abs_effect, result.abs_se, result.rel_effect, result.rel_se, methods, crit, crit
    )
    p = np.where(result.abs_se == 0, result.p_value, scale.p_of(z_abs))
    return result._replace(
        abs_ci_low=low,
        abs_ci_high=high,
        rel_ci_low=rel_low,
        rel_ci_high=rel_high,
        p_value=p,
        method=np.full(np.shape(p), "normal_mixture"),
    )


def sequential_adjusted_intervals(
    result: Comparison,
    p_value: FloatArray,
    p_adjusted: FloatArray,
    n: FloatArray,
    alpha: float,
    n_star: FloatArray | float,
) -> AdjustedIntervals:
    """Always-valid intervals that exclude zero exactly when p_adjusted < alpha: the per-test
    level g of nsexp.stats.adjusted on the mixture boundary (η tuned at alpha to n_star)."""
    return adjusted_intervals(
        result.abs_effect,
        result.abs_se,
        result.rel_effect,
        result.rel_se,
        result.df,
        p_value,
        p_adjusted,
        alpha,
        methods=methods_of(result),
        scale=MixtureScale(n, tuned_eta(n_star, alpha)),
    )
