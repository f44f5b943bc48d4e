"""The portfolio prior, the North Star posterior, the predictive range and the false-positive
risk (nsexp.stats.prediction) against direct computations and published figures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nsexp.stats.meta import shrink
from nsexp.stats.prediction import (
    Priors,
    false_positive_risk,
    leave_one_out_priors,
    marginal_priors,
    north_star_posterior,
    predictive_range,
    prior_null,
    win_power,
    with_estimation_error,
)


def portfolio(rng: np.random.Generator, n: int, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    truth = rng.multivariate_normal(np.zeros(k), np.diag([4e-4, 9e-4, 1e-4]) + 1e-4, size=n)
    se = 0.01 * rng.uniform(0.5, 1.5, (n, k))
    s = np.zeros((n, k, k))
    s[:, np.arange(k), np.arange(k)] = se**2
    s[:, 0, 1] = s[:, 1, 0] = 0.3 * se[:, 0] * se[:, 1]
    return truth + se * rng.standard_normal((n, k)), s


def test_leave_one_out_prior_equals_the_moments_of_the_other_experiments() -> None:
    rng = np.random.default_rng(1)
    y, s = portfolio(rng, 40)
    y[3, 2] = np.nan  # a metric one comparison did not measure
    groups = np.repeat(np.arange(20), 2)
    prior = leave_one_out_priors(y, s, groups)
    for i in (0, 3, 17):
        others = groups != groups[i]
        expected = np.zeros((3, 3))
        for j in range(3):
            for m in range(3):
                both = others & np.isfinite(y[:, j]) & np.isfinite(y[:, m])
                assert prior.counts[i, j, m] == both.sum()
                expected[j, m] = np.cov(y[both, j], y[both, m])[0, 1] - s[both, j, m].mean()
            assert prior.mean[i, j] == pytest.approx(np.nanmean(y[others, j]), rel=1e-12)
        assert np.linalg.eigvalsh(expected).min() > 0  # a covariance already: psd() keeps it
        np.testing.assert_allclose(prior.cov[i], expected, rtol=1e-8, atol=1e-12)


def test_marginal_priors_are_each_metrics_own_moments_of_the_other_experiments() -> None:
    """The (n, k) priors the Twyman range uses, against numpy on the other experiments' rows:
    mean, variance minus mean sampling variance (clipped at 0), plus one standard error of that
    correction, sqrt(2 / (K − 1)) mean(se²)."""
    rng = np.random.default_rng(11)
    y, s = portfolio(rng, 40)
    y[5, 1] = np.nan
    var = s[:, np.arange(3), np.arange(3)]
    groups = np.repeat(np.arange(20), 2)
    prior = marginal_priors(y, var, groups)
    for i in (0, 5, 33):
        for j in range(3):
            rows = (groups != groups[i]) & np.isfinite(y[:, j])
            k, noise = rows.sum(), var[rows, j].mean()
            tau2 = max(np.var(y[rows, j], ddof=1) - noise, 0.0) + np.sqrt(2 / (k - 1)) * noise
            assert prior.counts[i, j] == k
            assert prior.mean[i, j] == pytest.approx(y[rows, j].mean(), rel=1e-12)
            assert prior.cov[i, j] == pytest.approx(tau2, rel=1e-9)


def test_a_metric_without_spread_or_noise_conditions_on_nothing() -> None:
    """A singular system (a metric whose true effects and estimates never vary) must not fail:
    the posterior is then the North Star's own."""
    mu = np.array([[0.01, 0.0]])
    cov = np.array([[[4e-4, 0.0], [0.0, 0.0]]])
    s = np.array([[[1e-4, 0.0], [0.0, 0.0]]])
    y = np.array([[0.03, 0.0]])
    prior = Priors(mu, cov, np.full((1, 2, 2), 50.0))
    both = north_star_posterior(y, s, prior, np.array([[True, True]]))
    alone = north_star_posterior(y, s, prior, np.array([[True, False]]))
    assert both.mean == pytest.approx(alone.mean, rel=1e-12)
    assert both.sd == pytest.approx(alone.sd, rel=1e-12)
    # the normal-normal posterior by hand: shrink 0.03 toward 0.01 by 1e-4 / 5e-4
    assert alone.mean[0] == pytest.approx(0.01 + 0.02 * 4e-4 / 5e-4, rel=1e-12)


def test_a_moment_matrix_that_is_no_covariance_is_projected() -> None:
    rng = np.random.default_rng(6)
    y = rng.standard_normal((30, 2)) * 0.01
    y[:, 1] = y[:, 0]  # perfectly correlated estimates ...
    s = np.zeros((30, 2, 2))
    s[:, 1, 1] = 2e-4  # ... but one with more noise than its spread: a negative variance
    prior = leave_one_out_priors(y, s, np.arange(30))
    assert np.linalg.eigvalsh(prior.cov).min() > -1e-15


def test_posterior_is_gaussian_conditioning_and_one_metric_is_the_shrinkage() -> None:
    rng = np.random.default_rng(2)
    y, s = portfolio(rng, 1)
    mu = np.array([[0.002, 0.004, 0.0]])
    cov = np.array([[[4e-4, 3e-4, 0], [3e-4, 9e-4, 0], [0, 0, 1e-4]]])
    prior = Priors(mu, cov, np.full((1, 3, 3), 50.0))
    use = np.array([[True, True, False]])
    post = north_star_posterior(y, s, prior, use)
    o = [0, 1]
    gain = cov[0][0, o] @ np.linalg.inv(cov[0][np.ix_(o, o)] + s[0][np.ix_(o, o)])
    assert post.mean[0] == pytest.approx(mu[0, 0] + gain @ (y[0, o] - mu[0, o]), rel=1e-10)
    assert post.sd[0] ** 2 == pytest.approx(cov[0][0, 0] - gain @ cov[0][o, 0], rel=1e-10)
    alone = north_star_posterior(y, s, prior, np.array([[True, False, False]]))
    tau2, se2 = cov[0, 0, 0], s[0, 0, 0]
    assert alone.mean[0] == pytest.approx(mu[0, 0] + tau2 / (tau2 + se2) * (y[0, 0] - mu[0, 0]))
    assert alone.sd[0] == pytest.approx(np.sqrt(tau2 * se2 / (tau2 + se2)))
    assert post.sd[0] < alone.sd[0]  # a correlated input adds information
    # the univariate case is nsexp.stats.meta.shrink's normal-normal posterior
    fit = shrink(np.array([y[0, 0], 0.01, -0.01]), np.sqrt(np.array([se2, se2, se2])))
    assert fit.posterior_sd[0] == pytest.approx(
        np.sqrt(fit.prior_var * se2 / (fit.prior_var + se2))
    )


def test_predictive_range_holds_the_level_of_new_estimates() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    mu, tau, se = 0.01, 0.02, 0.015
    new = mu + tau * rng.standard_normal(n) + se * rng.standard_normal(n)
    prior = Priors(np.full((1, 1), mu), np.full((1, 1), tau**2), np.ones((1, 1)))
    low, high = predictive_range(np.full((1, 1), se), prior, level=0.99)
    inside = np.mean((new > low[0, 0]) & (new < high[0, 0]))
    assert inside == pytest.approx(0.99, abs=3 * np.sqrt(0.99 * 0.01 / n))


@pytest.mark.parametrize(
    ("success", "alpha", "risk"),
    [
        # Kohavi, Deng & Vermeer (2022), Table 2 (power 80%, alpha 0.05): success rate -> FPR
        (0.33, 0.05, 0.059),
        (0.10, 0.05, 0.220),
        (0.08, 0.05, 0.264),
        # their Figure 1: 9.3% success at alpha 0.1 (5% significant positive) -> 37.8%
        (0.093, 0.10, 0.378),
    ],
)
def test_false_positive_risk_matches_the_published_figures(
    success: float, alpha: float, risk: float
) -> None:
    assert false_positive_risk(alpha, 0.8, 1 - success) == pytest.approx(risk, abs=0.0015)


def test_false_positive_risk_and_prior_null_recover_a_simulated_portfolio() -> None:
    """80,000 ideas: 70% change nothing, the rest move the metric by the threshold; the share
    of nulls among the significant wins is the risk, and the observed win rate gives back π."""
    rng = np.random.default_rng(4)
    n, alpha, threshold, se = 80_000, 0.05, 0.02, 0.008
    null = rng.random(n) < 0.7
    estimate = np.where(null, 0.0, threshold) + se * rng.standard_normal(n)
    win = estimate / se > stats.norm.ppf(1 - alpha / 2)
    power = float(win_power(threshold, np.array(se), alpha))
    assert power == pytest.approx(win[~null].mean(), abs=0.01)
    pi = float(prior_null(np.array(win.mean()), alpha, np.array(power)))
    assert pi == pytest.approx(0.7, abs=0.01)
    risk = float(false_positive_risk(alpha, np.array(power), np.array(pi)))
    assert risk == pytest.approx(null[win].mean(), abs=0.01)


def test_estimation_error_adds_one_standard_error_of_the_noise_correction() -> None:
    rng = np.random.default_rng(8)
    y, s = portfolio(rng, 40)
    groups = np.repeat(np.arange(20), 2)
    prior = leave_one_out_priors(y, s, groups)
    wider = with_estimation_error(prior)
    for i in (0, 25):
        others = groups != groups[i]
        noise = s[others][:, np.arange(3), np.arange(3)].mean(axis=0)
        np.testing.assert_allclose(prior.noise[i], noise, rtol=1e-12)
        added = np.sqrt(2 / (others.sum() - 1)) * noise
        np.testing.assert_allclose(np.diag(wider.cov[i] - prior.cov[i]), added, rtol=1e-12)
        off = wider.cov[i] - prior.cov[i] - np.diag(added)
        np.testing.assert_allclose(off, 0.0, atol=1e-18)  # covariances untouched
