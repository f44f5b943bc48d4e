"""CUPED (Lin's interacted estimator) against statsmodels OLS y ~ T * (x − x̄) on the units."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from nsexp.stats.arms import ArmSums
from nsexp.stats.cuped import CovSums, cuped_compare, widening_notes


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


def _data(
    seed: int, n_c: int, n_t: int, effect: float, slopes: tuple[float, float] = (0.8, 0.8)
) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x_c, x_t = rng.gamma(2.0, 2.0, n_c), rng.gamma(2.0, 2.0, n_t)
    y_c = 1.0 + slopes[0] * x_c + rng.normal(0, 2.0, n_c)
    y_t = 1.0 + effect + slopes[1] * x_t + rng.normal(0, 2.5, n_t)
    return y_c, x_c, y_t, x_t


def _lin(y_c: np.ndarray, x_c: np.ndarray, y_t: np.ndarray, x_t: np.ndarray):
    """statsmodels' OLS of y ~ T * (x − x̄) (Lin 2013) on the units: the fit (classical
    covariance) and its HC2 standard error of T."""
    x = np.r_[x_c, x_t]
    centred = x - x.mean()
    arm = np.r_[np.zeros(y_c.size), np.ones(y_t.size)]
    design = np.column_stack([np.ones(x.size), arm, centred, arm * centred])
    y = np.r_[y_c, y_t]
    return sm.OLS(y, design).fit(), sm.OLS(y, design).fit(cov_type="HC2").bse[1]


def _per_arm(y: np.ndarray, x: np.ndarray, pooled_mean: float) -> tuple[float, float]:
    """The arm's own OLS on x − x̄ (statsmodels): its fitted mean at x̄ and that mean's
    classical variance σ̂²(1/n + (x̄_a − x̄)²/Sxx)."""
    fit = sm.OLS(y, sm.add_constant(x - pooled_mean)).fit()
    return fit.params[0], fit.bse[0] ** 2


DESIGNS = [(1, 700, 900, (0.8, 0.8)), (2, 100, 2000, (0.3, 1.7)), (3, 40, 40, (1.5, 0.2))]


@pytest.mark.parametrize(("seed", "n_c", "n_t", "slopes"), DESIGNS)
def test_adjusted_difference_is_lins_interacted_ols_coefficient(
    seed: int, n_c: int, n_t: int, slopes: tuple[float, float]
) -> None:
    """The point equals statsmodels' y ~ T * (x − x̄) treatment coefficient; the variance the
    classical per-arm formula from each arm's own OLS (both exactly)."""
    y_c, x_c, y_t, x_t = _data(seed, n_c, n_t, 0.3, slopes)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    res = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05, use=np.array([True]))
    fit, _ = _lin(y_c, x_c, y_t, x_t)
    assert res.adjusted[0]
    assert res.comparison.abs_effect[0] == pytest.approx(fit.params[1], rel=1e-9)
    pooled = np.r_[x_c, x_t].mean()
    (a_c, v_c), (a_t, v_t) = _per_arm(y_c, x_c, pooled), _per_arm(y_t, x_t, pooled)
    assert res.comparison.control_mean[0] == pytest.approx(a_c, rel=1e-9)
    assert res.comparison.treatment_mean[0] == pytest.approx(a_t, rel=1e-9)
    assert res.comparison.abs_se[0] == pytest.approx(np.sqrt(v_c + v_t), rel=1e-9)
    assert res.slope_control[0] == pytest.approx(fit.params[2], rel=1e-9)
    assert res.slope_treatment[0] == pytest.approx(fit.params[2] + fit.params[3], rel=1e-9)
    # the relative lift a_t / a_c − 1 by the delta method over the independent adjusted means
    rel_se = np.sqrt(v_t / a_c**2 + a_t**2 * v_c / a_c**4)
    assert res.comparison.rel_se[0] == pytest.approx(rel_se, rel=1e-9)
    plain = np.var(y_t, ddof=1) / y_t.size + np.var(y_c, ddof=1) / y_c.size
    assert res.variance_reduction[0] == pytest.approx(1 - (v_c + v_t) / plain, rel=1e-9)


@pytest.mark.parametrize(("n_c", "n_t"), [(100, 2000), (40, 40), (500, 600), (30, 3000)])
def test_variance_agrees_with_hc2_to_order_one_over_n(n_c: int, n_t: int) -> None:
    """HC2 (statsmodels, from unit rows) weights each squared residual by its own leverage
    1/n_a + (x_i − x̄_a)²/Sxx_a; the per-arm formula uses the arm's average residual variance,
    all that sums can carry. With residuals homoskedastic within each arm the two standard
    errors agree to O(1/n) of the smaller arm: over 20 seeds of each design the gap was at most
    6/n_min (gamma covariate, unequal arms); the bound tested is 10/n_min."""
    for seed in range(20):
        y_c, x_c, y_t, x_t = _data(seed, n_c, n_t, 0.2, (0.3, 1.7))
        c, cc = _sums(y_c, x_c)
        t, tc = _sums(y_t, x_t)
        res = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05, use=np.array([True]))
        _, hc2 = _lin(y_c, x_c, y_t, x_t)
        assert abs(res.comparison.abs_se[0] / hc2 - 1) <= 10 / min(n_c, n_t)


def test_unequal_arms_with_different_slopes_gain_where_the_pooled_slope_lost() -> None:
    """The issue's design (100 vs 2,000, slopes 0.3 and 1.7): the pooled slope inflated the
    variance; Lin's estimator removes variance, as it must asymptotically (Lin 2013)."""
    y_c, x_c, y_t, x_t = _data(18, 100, 2000, 0.2, (0.3, 1.7))
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    res = cuped_compare(np.array(["mean"]), c, t, cc, tc, 0.05)
    assert res.adjusted[0] and res.variance_reduction[0] > 0
    pooled = np.r_[np.zeros(100), np.ones(2000)]
    x = np.r_[x_c, x_t]
    common = sm.OLS(np.r_[y_c, y_t], np.column_stack([np.ones(x.size), pooled, x])).fit()
    assert res.comparison.abs_se[0] < common.bse[1]


def test_an_adjustment_that_widens_the_interval_does_not_decide() -> None:
    """A covariate unrelated to the metric in small arms: the residual variance's n − 2 and the
    slopes' estimation widen the interval, so the unadjusted figures stand, with the increase
    and a note."""
    rng = np.random.default_rng(7)
    y_c, y_t = rng.normal(10, 2, 12), rng.normal(11, 2, 12)
    x_c, x_t = rng.normal(0, 1, 12), rng.normal(0.8, 1, 12)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    kind = np.array(["mean"])
    res = cuped_compare(kind, c, t, cc, tc, 0.05)
    plain = cuped_compare(kind, c, t, cc, tc, 0.05, use=np.array([False]))
    assert not res.adjusted[0]
    assert res.comparison.abs_effect[0] == pytest.approx(y_t.mean() - y_c.mean(), rel=1e-12)
    assert res.comparison.abs_ci_low[0] == plain.comparison.abs_ci_low[0]
    assert np.isnan(res.variance_reduction[0]) and np.isnan(res.theta[0])
    # the increase is that of the classical per-arm variance over Welch's
    pooled = np.r_[x_c, x_t].mean()
    lin = _per_arm(y_c, x_c, pooled)[1] + _per_arm(y_t, x_t, pooled)[1]
    welch = np.var(y_t, ddof=1) / 12 + np.var(y_c, ddof=1) / 12
    assert res.variance_increase[0] == pytest.approx(lin / welch - 1, rel=1e-9)
    assert widening_notes(res.variance_increase)[0].startswith("CUPED would widen the interval")


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


def test_widening_notes_read_as_strings_when_the_first_is_missing() -> None:
    """The fuzz found a readout raising here: a None before a note (Polars' object cast)."""
    notes = widening_notes(np.array([np.nan, 0.25, np.nan]))
    series = pl.Series("note", notes, dtype=pl.String)
    assert series.to_list() == [
        None,
        "CUPED would widen the interval (variance +25%): the unadjusted figure decides",
        None,
    ]


def both(a: tuple, b: tuple) -> tuple:
    """Two one-row sums (ArmSums or CovSums) as one two-row batch."""
    return type(a)(*(np.r_[u, v] for u, v in zip(a, b, strict=True)))


def test_a_batch_without_covariates_reads_as_the_unadjusted_rows_of_a_mixed_one() -> None:
    # no row adjustable: cuped_compare skips the adjusted pass; its figures must be, bit for
    # bit, those the same rows get in a batch where another row is adjusted
    y_c, x_c, y_t, x_t = _data(6, 400, 380, 0.3)
    c, cc = _sums(y_c, x_c)
    t, tc = _sums(y_t, x_t)
    nan = CovSums(*(np.array([np.nan]),) * 3)
    kind = np.array(["mean", "mean"])
    mixed = cuped_compare(kind, both(c, c), both(t, t), both(cc, nan), both(tc, nan), 0.05)
    alone = cuped_compare(kind[:1], c, t, nan, nan, 0.05)
    assert mixed.adjusted.tolist() == [True, False] and not alone.adjusted.any()
    for got, expected in zip(alone.comparison, mixed.comparison, strict=True):
        assert np.asarray(got).tolist() == np.asarray(expected)[1:].tolist()
    for field in ("theta", "variance_reduction", "variance_increase"):
        assert np.isnan(getattr(alone, field)).all()
