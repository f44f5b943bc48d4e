"""Bayesian readout of a relative lift: chance to win, expected loss, credible interval.

Model (as in GrowthBook's gbstats Gaussian engine): the relative lift's estimate is normal around
the true lift with the delta-method standard error; the prior on the true lift is Normal(m, s²),
so the posterior is normal with precision 1/s² + 1/se² and mean (m/s² + lift/se²) / precision.
The readout passes the prior the portfolio's history gives each metric (nsexp.learning.predict,
empirical Bayes; Deng 2015) and otherwise the default Normal(0, PRIOR_SD²): weakly informative,
its density at a lift of ±100% is still 80% of its density at 0, so it shrinks only lifts whose
own standard error is of the order of 100% (Hillstrom's Mens E-Mail spend, +118% with a standard
error of about 40%, by 7%). Figures in the metric's good direction where named so (lower is
better for `direction = "decrease"`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist

FloatArray = np.ndarray
PRIOR_SD = 1.5  # the default prior's SD on the relative lift (module docstring)


class Posterior(NamedTuple):
    """Posterior of the relative lift and the decision figures drawn from it."""

    mean: FloatArray
    sd: FloatArray
    chance_to_win: FloatArray
    expected_loss: FloatArray
    cred_low: FloatArray
    cred_high: FloatArray


def posterior(
    rel: FloatArray,
    rel_se: FloatArray,
    sign: FloatArray,
    alpha: float,
    prior_mean: float | FloatArray = 0.0,
    prior_sd: float | FloatArray = PRIOR_SD,
) -> Posterior:
    """Normal-normal update of the relative lift under Normal(prior_mean, prior_sd²) (scalars
    or one per row); chance_to_win = P(lift is better than 0), expected_loss = E[max(0, -lift
    in the good direction)], the (1 - alpha) credible interval."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / np.square(prior_sd) + 1 / rel_se**2
        var = 1 / precision
        mean = var * (prior_mean / np.square(prior_sd) + rel / rel_se**2)
        sd = np.sqrt(var)
        good = sign * mean / sd
    chance = dist.norm_cdf(good)
    # E[max(0, -D)] for D ~ N(m, s^2), m the posterior mean in the good direction.
    m = sign * mean
    loss = sd * dist.norm_pdf(good) - m * dist.norm_cdf(-good)
    z = dist.norm_isf(alpha / 2)
    return Posterior(mean, sd, chance, np.maximum(loss, 0.0), mean - z * sd, mean + z * sd)


def central_interval(
    mean: FloatArray, sd: FloatArray, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """The central (1 - alpha) interval of a normal posterior."""
    z = dist.norm_isf(alpha / 2)
    return mean - z * sd, mean + z * sd


def units_needed(
    unit_var_c: FloatArray,
    unit_var_t: FloatArray,
    control_mean: FloatArray,
    threshold: FloatArray,
    alpha: float,
    power: float = 0.8,
    prior_sd: float | FloatArray = PRIOR_SD,
) -> FloatArray:
    """Units per arm at which the posterior tells a relative effect of `threshold` from zero
    with the given power, under a prior of SD `prior_sd` centred on zero (so wins and losses
    alike). With se² = v/n, v = (s_c² + s_t²) / mean_c² the per-unit variance of the relative
    lift near zero, the posterior's z = mean/sd of an estimate e is e / (se·sqrt(1 + se²/τ²)):
    the prior shrinks the estimate more than it narrows the interval. So a true effect T wins
    with probability Φ(T/se − z_{1-α/2}·sqrt(1 + se²/τ²)); the se that makes that `power` is
    found by bisection (the left side falls as se grows), and n = v / se²."""
    z, z_power = dist.norm_isf(alpha / 2), dist.norm_ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (unit_var_c + unit_var_t) / control_mean**2
        t = np.abs(np.asarray(threshold, float))
        tau2 = np.square(np.broadcast_to(np.asarray(prior_sd, float), np.shape(t)))
        # the root lies below T/(z + z_power), where the prior-free power is reached
        high = t / (z + z_power)
        low = high * 1e-6
        for _ in range(60):  # on the log scale: ~1e-5 relative
            mid = np.sqrt(low * high)
            short = t / mid - z * np.sqrt(1 + mid**2 / tau2) < z_power
            high = np.where(short, mid, high)
            low = np.where(short, low, mid)
        n = v / (low * high)
    return np.ceil(np.maximum(n, 0.0))
