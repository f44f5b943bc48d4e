"""Power analysis: minimum detectable effect today, units and days still needed, and planning.

Normal approximation for two independent means (Chow, Shao & Wang 2008, ch. 3; the same formula
as statsmodels' NormalIndPower): a difference D is detected with power 1 - beta at two-sided
level alpha when D / SE = z_{1-alpha/2} + z_{1-beta}.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats.multiplicity import Correction

FloatArray = np.ndarray
POWER = 0.8


def z_sum(alpha: float | FloatArray, power: float = POWER) -> FloatArray:
    """z_{1-alpha/2} + z_{power}: how many standard errors an effect must span."""
    from nsexp.stats import dist  # here, not at import: `nsexp plan --help` starts without scipy

    return dist.norm_isf(np.asarray(alpha) / 2) + dist.norm_ppf(power)


def mde(
    abs_se: FloatArray, control_mean: FloatArray, alpha: float, power: float = POWER
) -> FloatArray:
    """Relative minimum detectable effect at today's standard error (NaN if the mean is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = z_sum(alpha, power) * abs_se / np.abs(control_mean)
    return np.where(np.isfinite(out), out, np.nan)


def days_needed(
    units_needed: FloatArray, units_now: FloatArray, daily_units: FloatArray
) -> FloatArray:
    """Further days until the smaller arm reaches units_needed at its recent daily traffic."""
    with np.errstate(divide="ignore", invalid="ignore"):
        days = np.ceil(np.maximum(units_needed - units_now, 0.0) / daily_units)
    return np.where(np.isfinite(days), days, np.nan)


class Plan(NamedTuple):
    """How long to run: units per arm, total units and days at the stated daily traffic."""

    units_per_arm: int
    total_units: int
    days: int
    alpha_per_comparison: float
    minimum_units: int = 0  # the readout's least units per arm for a decision, where it binds
    metrics: int = 1  # metrics in the planned metric's correction family, per comparison
    correction: str = "holm"
    skewness_units: int = 0  # units per arm Kohavi's skewness rule needs (0: no skewness given)


def alpha_per_test(
    alpha: float, variants: int, metrics: int = 1, correction: str = "holm"
) -> float:
    """The level each of the readout's deciding tests meets in the worst case for the plan.

    The readout corrects within a family: the North Star's comparisons with the control in one,
    every other metric's in another (nsexp.analysis.compute). Its family holds `metrics` x
    (variants - 1) tests. Holm's first step is Bonferroni's alpha / m, and when the planned
    effect is the only true one it stays the test that decides; Benjamini-Hochberg's smallest
    p-value also faces alpha / m. Both are looser when other tests reject, so alpha / m never
    promises too much; without a correction every test is at alpha.
    """
    if correction == "none":
        return alpha
    return alpha / (max(variants - 1, 1) * metrics)


def skewness_floor(skewness: float) -> int:
    """Units per arm for Kohavi's rule of 355·s² for a metric of skewness s: the least n at which
    each arm's mean, of skewness s/√n, is within nsexp.stats.skew's RULE (1/√355)."""
    from nsexp.stats.skew import units_for_rule

    if not skewness:
        return 0
    return int(units_for_rule(np.asarray(skewness, dtype=float), np.asarray(1.0)))


def plan(
    baseline_mean: float,
    baseline_variance: float,
    daily_units: float,
    effect: float,
    alpha: float = 0.05,
    power: float = POWER,
    variants: int = 2,
    variance_reduction: float = 0.0,
    treatment_variance: float | None = None,
    welch: bool = True,
    metrics: int = 1,
    correction: Correction = "holm",
    skewness: float = 0.0,
) -> Plan:
    """Days to detect a relative `effect` on a metric with the given baseline mean and variance.

    n per arm = (z_{1-a/2} + z_power)² (σ_c² + σ_t²) / (effect · mean)², each arm with its own
    variance: `treatment_variance` is the treatment's per-unit variance under the effect (for a
    proportion p₁(1 − p₁), p₁ = p₀(1 + effect); see `proportion_plan`), the baseline's where
    not given (a shift of the mean). `variants` counts every arm, control included; traffic
    splits equally, and each test is sized at `alpha_per_test` for `metrics` metrics per
    comparison under `correction`. `variance_reduction` (e.g. rho^2 of a CUPED covariate)
    scales the variances by 1 minus it. With `welch` (mean metrics, which the readout tests
    with Welch's t) the quantiles are Student's t at the Welch df of n per arm, found by
    fixed-point iteration, so small samples are not promised the normal's power; and no plan
    goes below the readout's minimum for a decision (nsexp.stats.validity.MIN_UNITS), nor, for
    a metric of the given `skewness`, below Kohavi's rule per arm (`skewness_floor`).
    """
    from nsexp.stats import dist
    from nsexp.stats.validity import MIN_UNITS

    a = alpha_per_test(alpha, variants, metrics, correction)
    both = baseline_variance + (
        baseline_variance if treatment_variance is None else treatment_variance
    )
    variance = both * (1 - variance_reduction)
    n = float(z_sum(a, power) ** 2 * variance / (effect * baseline_mean) ** 2)
    v_t = both - baseline_variance
    for _ in range(20 if welch else 0):  # Welch df of equal arms: (v_c + v_t)² (n−1)/(v_c² + v_t²)
        df = both**2 * (max(n, 2.0) - 1) / (baseline_variance**2 + v_t**2)
        quantiles = dist.t_isf(np.asarray(a) / 2, df) + dist.t_ppf(power, df)
        n = float(quantiles**2 * variance / (effect * baseline_mean) ** 2)
    floor = MIN_UNITS if welch else 0
    skew_units = skewness_floor(skewness)
    per_arm = max(int(np.ceil(n)), floor, skew_units)
    days = int(np.ceil(per_arm / (daily_units / variants)))
    binds = floor if per_arm == floor else 0
    return Plan(per_arm, per_arm * variants, days, a, binds, metrics, correction, skew_units)


def proportion_plan(
    rate: float,
    daily_units: float,
    effect: float,
    alpha: float = 0.05,
    power: float = POWER,
    variants: int = 2,
    variance_reduction: float = 0.0,
    metrics: int = 1,
    correction: Correction = "holm",
) -> Plan:
    """`plan` for a proportion: the control's Bernoulli variance p₀(1 − p₀) and the
    treatment's p₁(1 − p₁) at p₁ = p₀(1 + effect), the variances of the unpooled z-test the
    readout runs (Chow, Shao & Wang 2008, §4.2). p₁ must lie strictly between 0 and 1."""
    treated = rate * (1 + effect)
    if not 0 < treated < 1:
        raise ValueError(f"treatment rate {treated:g} is not a proportion")
    return plan(
        rate,
        rate * (1 - rate),
        daily_units,
        effect,
        alpha,
        power,
        variants,
        variance_reduction,
        treatment_variance=treated * (1 - treated),
        welch=False,
        metrics=metrics,
        correction=correction,
    )
