"""Bayesian chance to win and expected loss against Monte Carlo draws of the posterior."""

from __future__ import annotations

import numpy as np
import pytest

from nsexp.stats.bayes import PRIOR_SD, posterior, units_needed


@pytest.mark.parametrize(
    ("rel", "se", "sign"), [(0.02, 0.01, 1.0), (-0.01, 0.02, 1.0), (0.03, 0.02, -1.0)]
)
def test_closed_form_matches_monte_carlo_of_the_posterior(
    rel: float, se: float, sign: float
) -> None:
    post = posterior(np.array([rel]), np.array([se]), np.array([sign]), 0.05)
    rng = np.random.default_rng(3)
    # Conjugate update done by hand: precision-weighted mean of prior (0) and estimate.
    var = 1 / (1 / PRIOR_SD**2 + 1 / se**2)
    draws = rng.normal(var * rel / se**2, np.sqrt(var), 500_000)
    good = sign * draws
    mc_se = np.sqrt(0.25 / draws.size)
    assert post.chance_to_win[0] == pytest.approx((good > 0).mean(), abs=4 * mc_se)
    loss = np.maximum(-good, 0)
    assert post.expected_loss[0] == pytest.approx(
        loss.mean(), abs=4 * loss.std() / np.sqrt(loss.size)
    )
    low, high = np.quantile(draws, [0.025, 0.975])
    assert post.cred_low[0] == pytest.approx(low, abs=0.01 * np.sqrt(var))
    assert post.cred_high[0] == pytest.approx(high, abs=0.01 * np.sqrt(var))


@pytest.mark.parametrize("conv_t", [2_040, 2_080, 2_110])
def test_chance_to_win_agrees_with_a_beta_binomial_simulation(conv_t: int) -> None:
    """An independent model: flat Beta priors on each arm's rate, sampled exactly.

    The models differ (the Beta posterior of p_t / p_c - 1 is right-skewed; ours is normal on the
    lift), so they agree to within 0.01 in chance to win and 0.03 percentage points in expected
    loss — measured gaps 0.004-0.006 and 0.009-0.021 pp, recorded in docs/calibration.md.
    """
    n, conv_c = 20_000, 2_000
    rng = np.random.default_rng(9)
    p_c = rng.beta(conv_c + 1, n - conv_c + 1, 400_000)
    p_t = rng.beta(conv_t + 1, n - conv_t + 1, 400_000)
    lift = p_t / p_c - 1
    pc, pt = conv_c / n, conv_t / n
    rel = pt / pc - 1
    se = np.sqrt(pt * (1 - pt) / n / pc**2 + pt**2 * pc * (1 - pc) / n / pc**4)
    post = posterior(np.array([rel]), np.array([se]), np.array([1.0]), 0.05)
    assert post.chance_to_win[0] == pytest.approx((lift > 0).mean(), abs=0.01)
    assert post.expected_loss[0] == pytest.approx(np.maximum(-lift, 0).mean(), abs=3e-4)


def test_posterior_under_a_learned_prior_matches_numerical_integration() -> None:
    """Per-row priors Normal(m, s²): the posterior's mean, SD and credible interval against
    prior × likelihood integrated on a fine grid (an independent computation)."""
    rel = np.array([0.05, -0.02, 1.179])
    se = np.array([0.02, 0.01, 0.4015])
    prior_mean = np.array([0.01, 0.004, 0.0])
    prior_sd = np.array([0.025, 0.02, PRIOR_SD])
    post = posterior(rel, se, np.ones(3), 0.05, prior_mean, prior_sd)
    for i in range(3):
        grid = np.linspace(-8.0, 8.0, 1_600_001)
        log_density = (
            -0.5 * ((grid - prior_mean[i]) / prior_sd[i]) ** 2
            - 0.5 * ((rel[i] - grid) / se[i]) ** 2
        )
        weight = np.exp(log_density - log_density.max())
        weight /= weight.sum()
        mean = (weight * grid).sum()
        sd = np.sqrt((weight * (grid - mean) ** 2).sum())
        cdf = np.cumsum(weight)
        low, high = grid[np.searchsorted(cdf, 0.025)], grid[np.searchsorted(cdf, 0.975)]
        step = grid[1] - grid[0]
        assert post.mean[i] == pytest.approx(mean, abs=1e-6)
        assert post.sd[i] == pytest.approx(sd, rel=1e-4)
        assert post.cred_low[i] == pytest.approx(low, abs=2 * step)
        assert post.cred_high[i] == pytest.approx(high, abs=2 * step)
        at_zero = weight[np.argmin(np.abs(grid))]  # the grid's own error at the cut
        assert post.chance_to_win[i] == pytest.approx(weight[grid > 0].sum(), abs=2 * at_zero)


@pytest.mark.parametrize(
    ("prior_sd", "threshold"), [(PRIOR_SD, 0.02), (0.025, 0.02), (0.01, 0.02), (0.05, 0.01)]
)
def test_units_needed_give_the_promised_power_under_the_prior(
    prior_sd: float, threshold: float
) -> None:
    """Known truth: at the units per arm it names, estimates around a true lift of the threshold
    win (chance to win ≥ 97.5%) in 80% of runs, also under a prior narrower than the threshold
    (where the posterior shrinks the estimate and more units are needed than without one)."""
    var, mean = np.array([4.0]), np.array([2.0])
    n = units_needed(var, var, mean, np.array([threshold]), 0.05, prior_sd=prior_sd)[0]
    se = np.sqrt(2 * var[0] / mean[0] ** 2 / n)
    runs = 100_000
    estimates = np.random.default_rng(5).normal(threshold, se, runs)
    post = posterior(estimates, np.full(runs, se), np.ones(runs), 0.05, 0.0, prior_sd)
    won = (post.chance_to_win >= 0.975).mean()
    assert won == pytest.approx(0.8, abs=4 * np.sqrt(0.8 * 0.2 / runs))
    without_prior = 2 * var[0] / mean[0] ** 2 * ((1.959964 + 0.841621) / threshold) ** 2
    assert n >= without_prior - 1
