"""Proportions with few events: tests and intervals that hold where the Wald z-test does not.

With fewer than FEW_EVENTS conversions (or non-conversions) in an arm the unpooled z-test's
standard error is itself a poor estimate — zero when an arm has no events, which gives p ≈ 0 and
a zero-width interval. There nsexp uses, vectorised over many metrics at once:

- Fisher's exact test, two-sided by the minimum-likelihood rule (the tables no more likely than
  the observed one, relative tolerance 1e-7 as in R's fisher.test): valid at any sample size,
  conservative, so it never calls more than α (Fisher 1935; Agresti 2013, §3.5). Checked
  against scipy.stats.fisher_exact.
- Newcombe's hybrid score interval for the difference p_t − p_c (Newcombe 1998, method 10;
  Wilson score limits per arm), the default of statsmodels' confint_proportions_2indep.
- The adjusted log interval for the ratio p_t / p_c (Katz et al. 1978, 0.5 added to every count
  and total; statsmodels' "log-adjusted"), recommended for small counts by Fagerland, Lydersen
  & Laake (2015); where the treatment has no event its lower end is the ratio 0 (−100%).
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray
FEW_EVENTS = 10
_REL_ERR = 1 + 1e-7


def few_events(n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray) -> np.ndarray:
    """True where an arm has fewer than FEW_EVENTS events or non-events."""
    least = np.minimum.reduce([x_c, n_c - x_c, x_t, n_t - x_t])
    with np.errstate(invalid="ignore"):
        return least < FEW_EVENTS


def fisher_p(n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray) -> FloatArray:
    """Two-sided p-value of Fisher's exact test of the 2x2 tables (events / non-events per arm).

    Conditional on the margins the control's events X are hypergeometric (M = n_c + n_t units,
    K = x_c + x_t events, n_c drawn); p sums the probabilities of every table with P(X = x) at
    most P(X = x_obs) (times 1 + 1e-7): the tail beyond x_obs and, on the other side of the
    mode, the tail beyond the first value no more likely (by bisection: the pmf is unimodal)."""
    from scipy import stats  # here: only few-event metrics need it, and it costs ~1 s to import

    n_c, x_c, n_t, x_t = (np.asarray(a, dtype=float) for a in (n_c, x_c, n_t, x_t))
    total, events = n_c + n_t, x_c + x_t
    law = stats.hypergeom(total, events, n_c)
    low, high = np.maximum(0, n_c - (total - events)), np.minimum(n_c, events)
    mode = np.floor((n_c + 1) * (events + 1) / (total + 2))
    below = x_c < mode
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = law.logpmf(x_c) + np.log(_REL_ERR)
        # The smallest y on the other side where the test below turns true: below the mode,
        # y in [mode, high] with pmf(y) <= observed; above it, y in [low, mode] with
        # pmf(y) > observed (then y - 1 is the last value no more likely).
        lo, hi = np.where(below, mode, low), np.where(below, high + 1, mode + 1)
        searching = lo < hi
        while searching.any():  # at most log2(support) + 1 rounds
            mid = np.floor((lo + hi) / 2)
            unlikely = law.logpmf(mid) <= observed
            turned = np.where(below, unlikely, ~unlikely)
            hi = np.where(searching & turned, mid, hi)
            lo = np.where(searching & ~turned, mid + 1, lo)
            searching = lo < hi
        # each side's two tails, evaluated only where needed (scipy's hypergeometric cdf/sf
        # sum the pmf element by element)
        p = np.empty_like(x_c)
        for side, near, far in ((below, "cdf", "sf"), (~below, "sf", "cdf")):
            part = stats.hypergeom(total[side], events[side], n_c[side])
            shift = 0.0 if near == "cdf" else 1.0
            p[side] = getattr(part, near)(x_c[side] - shift) + getattr(part, far)(lo[side] - 1)
        at_mode = law.logpmf(x_c) >= law.logpmf(mode) - np.log(_REL_ERR)
    degenerate = (events == 0) | (events == total) | (low == high)
    return np.where(degenerate | at_mode, 1.0, np.minimum(p, 1.0))


def wilson(n: FloatArray, x: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval of x / n at critical value z (Wilson 1927)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = z * z
        centre = (x + z2 / 2) / (n + z2)
        half = z * np.sqrt(x * (n - x) / n + z2 / 4) / (n + z2)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe(
    n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Newcombe's hybrid score interval of p_t − p_c at critical value z."""
    p_c, p_t = x_c / n_c, x_t / n_t
    l_c, u_c = wilson(n_c, x_c, z)
    l_t, u_t = wilson(n_t, x_t, z)
    diff = p_t - p_c
    return (
        diff - np.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2),
        diff + np.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2),
    )


def newcombe_z(n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray) -> FloatArray:
    """The critical value at which Newcombe's interval just reaches 0 (its test statistic): an
    interval at critical value z excludes 0 exactly when z is below it. Bisection on z."""
    diff = x_t / n_t - x_c / n_c
    lo, hi = np.zeros_like(diff), np.full_like(diff, 40.0)
    for _ in range(80):
        mid = (lo + hi) / 2
        low, high = newcombe(n_c, x_c, n_t, x_t, mid)
        excludes = np.where(diff > 0, low > 0, high < 0)
        lo, hi = np.where(excludes, mid, lo), np.where(excludes, hi, mid)
    return np.where(diff == 0, 0.0, (lo + hi) / 2)


def log_ratio(
    n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The adjusted log ratio log((x_t + ½)/(n_t + ½)) − log((x_c + ½)/(n_c + ½)) and its
    standard error √(1/(x_t + ½) − 1/(n_t + ½) + 1/(x_c + ½) − 1/(n_c + ½))."""
    xt, nt, xc, nc = x_t + 0.5, n_t + 0.5, x_c + 0.5, n_c + 0.5
    estimate = np.log(xt / nt) - np.log(xc / nc)
    return estimate, np.sqrt(np.maximum(1 / xt - 1 / nt + 1 / xc - 1 / nc, 0.0))


def log_ratio_interval(
    n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The relative lift's interval from the adjusted log ratio at critical value z; −100% is
    its lower end where the treatment has no event (the ratio 0 cannot be excluded)."""
    estimate, se = log_ratio(n_c, x_c, n_t, x_t)
    low = np.expm1(estimate - z * se)
    return np.where(x_t == 0, -1.0, low), np.expm1(estimate + z * se)
