"""nsexp.stats.skew against independent computations: the third moment against numpy, the
skewness of a difference of means against a simulation with known truth, and the corrected
test's p-values against its own intervals (p < α exactly where the interval leaves out 0)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nsexp.stats.arms import ArmSums
from nsexp.stats.compare import compare
from nsexp.stats.skew import (
    RULE,
    SKEW_TEST,
    corrected,
    difference_skewness,
    skewness,
    third_moment,
    widening,
)

ALPHA = 0.05


def sums(y: np.ndarray, shift: float) -> ArmSums:
    """Per-row sufficient statistics of (rows, units) values, shifted by `shift`."""
    rows, n = y.shape
    d = y - shift
    nan = np.full(rows, np.nan)
    return ArmSums(
        np.full(rows, float(n)),
        y.sum(1),
        (y * y).sum(1),
        nan,
        nan,
        nan,
        np.full(rows, shift),
        d.sum(1),
        (d * d).sum(1),
        dev_sum_cu=(d**3).sum(1),
    )


def test_third_moment_matches_numpy_far_from_zero() -> None:
    rng = np.random.default_rng(1)
    y = 1e8 + rng.gamma(0.5, 3.0, (3, 500))
    m2, m3 = third_moment(sums(y, 1e8 + 1.0))
    centred = y - y.mean(1, keepdims=True)
    assert m2 == pytest.approx((centred**2).sum(1), rel=1e-9)
    assert m3 == pytest.approx((centred**3).sum(1), rel=1e-6)


def test_difference_skewness_matches_a_simulation() -> None:
    """Exponential arms (skewness 2) of 20 and 200 units: the skewness of mean_t − mean_c over
    200,000 draws (its standard error about √(6 / 200,000) = 0.0055 for a near-normal one)."""
    rng = np.random.default_rng(2)
    draws = rng.exponential(1.0, (200_000, 200)).mean(1) - rng.exponential(1.0, (200_000, 20)).mean(
        1
    )
    want = difference_skewness(np.array(2.0), np.array(20.0), np.array(200.0))
    assert float(stats.skew(draws)) == pytest.approx(float(want), abs=0.03)
    # a holdout: the smaller arm's own skewness of its mean, −γ/√n_c
    assert difference_skewness(np.array(2.0), np.array(40.0), np.array(1e12)) == pytest.approx(
        -2 / np.sqrt(40)
    )


def test_corrected_p_values_agree_with_the_intervals() -> None:
    rng = np.random.default_rng(3)
    rows = 4000
    yc = rng.lognormal(0.0, 1.0, (rows, 60))
    yt = rng.lognormal(0.0, 1.0, (rows, 3000)) * rng.uniform(0.7, 1.5, (rows, 1))
    kind = np.full(rows, "mean")
    control, treatment = sums(yc, 1.0), sums(yt, 1.0)
    plain = compare(kind, control, treatment, ALPHA)
    skew = skewness(kind, control, treatment)
    fixed = corrected(plain, skew, ALPHA)
    assert skew.skewed.all() and (np.abs(skew.a) > RULE).all()
    assert (fixed.method == SKEW_TEST).all()
    excludes = (fixed.abs_ci_low > 0) | (fixed.abs_ci_high < 0)
    assert np.array_equal(fixed.p_value < ALPHA, excludes)
    # the short tail keeps Welch's side of the interval and, on its side, Welch's p-value
    assert np.array_equal(fixed.abs_ci_high, plain.abs_ci_high)
    behind = plain.abs_effect < 0
    assert np.array_equal(fixed.p_value[behind], plain.p_value[behind])
    assert (fixed.p_value[~behind] >= plain.p_value[~behind]).all()


def test_no_widening_without_skewness() -> None:
    assert widening(np.zeros(3), np.array([1.0, 1.96, 3.0])) == pytest.approx(np.zeros(3))
