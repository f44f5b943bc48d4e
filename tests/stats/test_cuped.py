"""CUPED against statsmodels OLS (ANCOVA) and a direct residual computation on unit data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from nsexp.stats.arms import ArmSums
from nsexp.stats.cuped import CovSums, cuped_compare


def _sums(y: np.ndarray, x: np.ndarray) -> tuple[ArmSums, CovSums]:
    nan = np.array([np.nan])
    arm = ArmSums(
        np.array([y.size], dtype=float),
        np.array([y.sum()]),
        np.array([(y * y).sum()]),
        nan,
        nan,
        nan,
    )
    return arm, CovSums(np.array([x.sum()]), np.array([(x * x).sum()]), np.array([(x * y).sum()]))


def _data(seed: int, n_c: int, n_t: int, effect: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x_c, x_t = rng.gamma(2.0, 2.0, n_c), rng.gamma(2.0, 2.0, n_t)
    y_c = 1.0 + 0.8 * x_c + rng.normal(0, 2.0, n_c)
    y_t = 1.0 + effect + 0.8 * x_t + rng.normal(0, 2.5, n_t)
    return y_c, x_c, y_t, x_t


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adjusted_difference_is_the_ancova_treatment_coefficient(seed: int) -> None:
    y_c, x_c, y_t, x_t = _data(seed, 700, 900, 0.3)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    res = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05)
    y = np.concatenate([y_c, y_t])
    design = np.column_stack(
        [np.ones(y.size), np.r_[np.zeros(y_c.size), np.ones(y_t.size)], np.r_[x_c, x_t]]
    )
    fit = sm.OLS(y, design).fit()
    assert res.comparison.abs_effect[0] == pytest.approx(fit.params[1], rel=1e-9)
    assert res.theta[0] == pytest.approx(fit.params[2], rel=1e-9)
    # Standard error: each arm's sample variance of y - theta x, independently by numpy.
    theta = fit.params[2]
    se = np.sqrt(
        np.var(y_t - theta * x_t, ddof=1) / y_t.size + np.var(y_c - theta * x_c, ddof=1) / y_c.size
    )
    assert res.comparison.abs_se[0] == pytest.approx(se, rel=1e-9)
    plain = np.var(y_t, ddof=1) / y_t.size + np.var(y_c, ddof=1) / y_c.size
    assert res.variance_reduction[0] == pytest.approx(1 - se**2 / plain, rel=1e-9)


def test_adjusted_relative_lift_matches_a_numeric_delta_method() -> None:
    y_c, x_c, y_t, x_t = _data(4, 500, 600, 0.4)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    res = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05)
    theta = res.theta[0]
    w_c = y_c.size / (y_c.size + y_t.size)
    w_t = 1 - w_c

    def lift(m: np.ndarray) -> float:
        yt, xt, yc, xc = m
        return (yt - theta * w_c * (xt - xc)) / (yc + theta * w_t * (xt - xc)) - 1

    point = np.array([y_t.mean(), x_t.mean(), y_c.mean(), x_c.mean()])
    grad = np.array([(lift(point + h) - lift(point - h)) / 2e-6 for h in np.eye(4) * 1e-6])
    cov = np.zeros((4, 4))
    cov[:2, :2] = np.cov(np.vstack([y_t, x_t])) / y_t.size
    cov[2:, 2:] = np.cov(np.vstack([y_c, x_c])) / y_c.size
    assert res.comparison.rel_effect[0] == pytest.approx(lift(point), rel=1e-12)
    assert res.comparison.rel_se[0] == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-6)


def test_ratio_and_disabled_rows_are_left_as_they_were() -> None:
    y_c, x_c, y_t, x_t = _data(5, 300, 300, 0.0)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    off = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05, use=np.array([False]))
    assert np.isnan(off.variance_reduction[0])
    assert off.comparison.abs_effect[0] == pytest.approx(y_t.mean() - y_c.mean(), rel=1e-12)
    nan = CovSums(*(np.array([np.nan]),) * 3)
    missing = cuped_compare(np.array(["mean"]), c, t, nan, nan, 0.05)
    assert not missing.adjusted[0]
