"""Poisson bootstrap against scipy.stats.bootstrap and a unit-by-unit Poisson reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nsexp.stats.bootstrap import bootstrap_means, relative_lift_interval


def test_percentile_interval_matches_scipy_bootstrap() -> None:
    rng = np.random.default_rng(1)
    c = rng.gamma(2.0, 2.0, 1_000)
    t = rng.gamma(2.0, 2.2, 1_000)
    resamples = 3_000
    ours = relative_lift_interval(c[:, None], t[:, None], resamples, 0.05, 3)
    ref = stats.bootstrap(
        (t, c),
        lambda a, b, axis: a.mean(axis) / b.mean(axis) - 1,
        n_resamples=resamples,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(4),
    ).confidence_interval
    # Both are Monte Carlo estimates of the same percentiles: a 2.5% quantile's SE is
    # sqrt(p (1 - p) / R) / phi(z_p) bootstrap SDs; allow 4 SEs of the difference of two.
    sd = (ref.high - ref.low) / (2 * 1.96)
    quantile_se = np.sqrt(0.025 * 0.975 / resamples) / stats.norm.pdf(1.96) * sd
    tol = 4 * np.sqrt(2) * quantile_se
    assert ours.low[0] == pytest.approx(ref.low, abs=tol)
    assert ours.high[0] == pytest.approx(ref.high, abs=tol)


def test_pooling_equal_values_matches_unit_level_poisson_weights() -> None:
    rng = np.random.default_rng(2)
    values = rng.poisson(3.0, 1_000).astype(float)  # few distinct values
    pooled = bootstrap_means(values[:, None], 5_000, np.random.default_rng(5))[:, 0]
    weights = np.random.default_rng(6).poisson(1.0, (5_000, values.size))
    direct = weights @ values / weights.sum(1)
    se = direct.std() / np.sqrt(direct.size)
    assert pooled.mean() == pytest.approx(direct.mean(), abs=4 * np.sqrt(2) * se)
    # SD of a sample SD is about sd / sqrt(2 (R - 1)).
    assert pooled.std() == pytest.approx(direct.std(), rel=4 * np.sqrt(2) / np.sqrt(2 * 5_000))


def test_missing_cells_are_skipped_and_seeds_reproduce() -> None:
    rng = np.random.default_rng(3)
    c = rng.normal(10, 2, (500, 2))
    t = rng.normal(11, 2, (500, 2))
    c[::5, 1] = np.nan
    a = relative_lift_interval(c, t, 300, 0.05, [1, 2])
    b = relative_lift_interval(c, t, 300, 0.05, [1, 2])
    np.testing.assert_array_equal(a.low, b.low)
    assert np.isfinite(a.low).all() and (a.low < 0.1).all() and (a.high > 0.1).all()


def test_zero_control_mean_gives_nan_without_warnings() -> None:
    control = np.column_stack([np.zeros(50), np.arange(50.0)])
    with np.errstate(all="raise"):
        ci = relative_lift_interval(control, np.ones((50, 2)), 100, 0.05, 1)
    assert np.isnan(ci.low[0]) and np.isnan(ci.high[0])
    assert np.isfinite(ci.low[1]) and ci.low[1] < ci.high[1] < 0
