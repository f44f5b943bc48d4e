"""nsexp.stats.dist against scipy.stats itself: the same numbers to the bit, edges included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nsexp.stats import dist

X = np.array([-np.inf, -1e300, -40.0, -5.0, -1.0, -0.0, 0.0, 1e-9, 1.0, 5.0, 40.0, np.inf, np.nan])
Q = np.array([0.0, 1e-300, 1e-10, 0.025, 0.5, 0.975, 1 - 1e-16, 1.0, np.nan, -0.1, 1.1])
DF = [np.inf, 1e300, 1e6, 30.0, 1.0, 0.5, 0.0, -1.0, np.nan]


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal element by element, NaN where NaN (and 0.0 == -0.0)."""
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@pytest.mark.parametrize("df", DF)
def test_t_matches_scipy_stats(df: float) -> None:
    assert same(dist.t_sf(X, df), stats.t.sf(X, df))
    assert same(dist.t_ppf(Q, df), stats.t.ppf(Q, df))
    assert same(dist.t_isf(Q, df), stats.t.isf(Q, df))


def test_t_broadcasts_arrays_of_df_like_scipy_stats() -> None:
    df = np.array([np.inf, 1e6, 30.0, 1.0, 0.0, np.nan])
    x = np.array([2.5, -1.0, 3.0, 0.5, 1.0, 1.0])
    assert same(dist.t_sf(x, df), stats.t.sf(x, df))
    assert same(dist.t_isf(np.full(6, 0.025), df), stats.t.isf(0.025, df))


def test_normal_matches_scipy_stats() -> None:
    assert same(dist.norm_cdf(X), stats.norm.cdf(X))
    with np.errstate(over="ignore"):  # scipy's own x² overflows at 1e300
        assert same(dist.norm_pdf(X), stats.norm.pdf(X))
    assert same(dist.norm_ppf(Q), stats.norm.ppf(Q))
    assert same(dist.norm_isf(Q), stats.norm.isf(Q))
    assert dist.norm_isf(1e-300) == pytest.approx(37.0470962, rel=1e-8)  # no 1 − q rounding


@pytest.mark.parametrize("df", [1.0, 2.0, 5.0, 1000.0, 0.0, -1.0, np.nan])
def test_chi2_matches_scipy_stats(df: float) -> None:
    x = np.array([-1.0, 0.0, 1e-9, 1.0, 10.0, 1e3, 1e6, np.inf, np.nan])
    assert same(dist.chi2_sf(x, df), stats.chi2.sf(x, df))


def test_scalars_stay_scalars() -> None:
    assert isinstance(dist.t_sf(1.0, 10.0), float)
    assert isinstance(dist.chi2_sf(3.0, 2.0), float)
    assert isinstance(dist.t_isf(0.025, np.inf), float)
