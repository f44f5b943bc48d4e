"""The normal, Student t and chi-square functions the tests need, from scipy.special.

They are the functions scipy.stats' distributions call (ndtr, ndtri, stdtr, stdtrit, chdtrc),
with scipy.stats' answers at the edges of their domains (a probability of 0 or 1, a statistic
outside the support, an invalid degree of freedom), so results are identical to the bit
(tests/stats/test_dist.py) — without importing scipy.stats, which takes about a second and
would be most of the CLI's start-up.
"""

from __future__ import annotations

import numpy as np
from scipy import special

FloatArray = np.ndarray
_SQRT_2PI = np.sqrt(2 * np.pi)


def norm_cdf(x: FloatArray | float) -> FloatArray:
    """P(Z <= x) for a standard normal Z."""
    return special.ndtr(x)


def norm_pdf(x: FloatArray | float) -> FloatArray:
    """The standard normal density at x."""
    x = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):  # x² overflows to inf for |x| > 1e154: density 0
        return np.exp(-(x**2) / 2.0) / _SQRT_2PI


def norm_ppf(q: FloatArray | float) -> FloatArray:
    """The standard normal quantile: z with P(Z <= z) = q."""
    return special.ndtri(q)


def norm_isf(q: FloatArray | float) -> FloatArray:
    """The upper quantile: z with P(Z > z) = q (accurate for tiny q, unlike ppf(1 − q))."""
    return -special.ndtri(q)


def t_sf(x: FloatArray | float, df: FloatArray | float) -> FloatArray:
    """P(T > x) for Student's t with df degrees of freedom (df = inf: the normal)."""
    return _valid_df(special.stdtr(df, -np.asarray(x, dtype=float)), df)


def t_ppf(q: FloatArray | float, df: FloatArray | float) -> FloatArray:
    """Student's t quantile: t with P(T <= t) = q."""
    q = np.asarray(q, dtype=float)
    inner = special.stdtrit(df, q)
    return _valid_df(np.where(q == 0, -np.inf, np.where(q == 1, np.inf, inner)), df)


def t_isf(q: FloatArray | float, df: FloatArray | float) -> FloatArray:
    """Student's t upper quantile: t with P(T > t) = q."""
    q = np.asarray(q, dtype=float)
    inner = -special.stdtrit(df, q)
    return _valid_df(np.where(q == 0, np.inf, np.where(q == 1, -np.inf, inner)), df)


def chi2_sf(x: FloatArray | float, df: FloatArray | float) -> FloatArray:
    """P(X > x) for a chi-square X with df degrees of freedom (1 below the support)."""
    x = np.asarray(x, dtype=float)
    return _valid_df(np.where(x < 0, 1.0, special.chdtrc(df, np.maximum(x, 0.0))), df)


def _valid_df(values: FloatArray, df: FloatArray | float) -> FloatArray:
    """NaN wherever df is not a positive number, as scipy.stats answers."""
    df = np.asarray(df, dtype=float)
    out = np.where(df > 0, values, np.nan)
    return out if out.ndim else out[()]
