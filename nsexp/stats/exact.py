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
- Near 100% (fewer non-events than events) the lift's interval is Newcombe's score interval of
  the difference over the control's rate: the score interval on the rates of non-events (Wilson
  limits are the same for a rate and its complement), where the adjusted log ratio of events
  near n shrinks to zero width (300/300 vs 300/300 gave [0.0%, 0.0%]).
- Non-inferiority on the ratio p_t / p_c near 100%: Farrington & Manning's (1990) score test,
  its variance at the rates' maximum-likelihood estimate restricted to the margin (never zero
  while a margin separates the rates); its power by exact enumeration of both arms' outcomes.
- Power and sample figures use each arm's rate with one event and one non-event added,
  (x + 1) / (n + 2) (Agresti & Caffo 2000), whose variance is never zero.
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray
FEW_EVENTS = 10
_REL_ERR = 1 + 1e-7
_CHUNK = 64  # entries per enumeration grid in farrington_manning_power


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


def near_one(n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray) -> np.ndarray:
    """True where the arms together have fewer non-events than events (rates near 100%)."""
    return (n_c - x_c) + (n_t - x_t) < x_c + x_t


def newcombe_relative(
    n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The lift's interval near 100%: Newcombe's interval of p_t − p_c (that of the non-event
    rates q_c − q_t) over the control's rate."""
    low, high = newcombe(n_c, x_c, n_t, x_t, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_c = x_c / n_c
        return low / p_c, high / p_c


def adjusted_rate(n: FloatArray, x: FloatArray) -> FloatArray:
    """(x + 1) / (n + 2): the rate with one event and one non-event added (Agresti & Caffo
    2000), never 0 or 1, so its variance can stand in where p(1 − p) is zero."""
    return (np.asarray(x, dtype=float) + 1) / (np.asarray(n, dtype=float) + 2)


def farrington_manning(
    n_c: FloatArray, x_c: FloatArray, n_t: FloatArray, x_t: FloatArray, theta: FloatArray
) -> FloatArray:
    """Farrington & Manning's (1990) score statistic of H0: p_t = theta · p_c,
    (p̂_t − theta p̂_c) / √(p̃_t(1 − p̃_t)/n_t + theta² p̃_c(1 − p̃_c)/n_c), the rates p̃ the
    maximum-likelihood estimates under H0 (the smaller root of N theta p² − (theta n_t + x_t +
    n_c + theta x_c) p + x_t + x_c = 0, p̃_t = theta p̃_c); ±inf where that variance is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (n_c + n_t) * theta
        b = -(theta * n_t + x_t + n_c + theta * x_c)
        c = x_t + x_c
        p_c = (-b - np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))) / (2 * a)
        p_t = theta * p_c
        var = p_t * (1 - p_t) / n_t + theta**2 * p_c * (1 - p_c) / n_c
        gap = x_t / n_t - theta * x_c / n_c
        return np.where(var > 0, gap / np.sqrt(var), np.sign(gap) * np.inf)


def rare_counts(n: FloatArray, rate: FloatArray) -> FloatArray:
    """How far the count of an arm's rarer outcome (event or non-event) at `rate` must be
    enumerated: its binomial tail beyond is below 1e-12."""
    from scipy import stats

    return stats.binom.isf(1e-12, n, np.minimum(rate, 1 - rate))


def farrington_manning_power(
    n_c: FloatArray,
    n_t: FloatArray,
    rate: FloatArray,
    theta: FloatArray,
    sign: FloatArray,
    alpha: float,
) -> FloatArray:
    """Power of the one-sided Farrington–Manning test at level alpha (sign > 0: H0 p_t ≤
    theta p_c rejected for large statistics; sign < 0: H0 p_t ≥ theta p_c, small ones) when
    both arms' true rate is `rate`, by exact enumeration of the arms' counts of the rarer
    outcome up to `rare_counts` (one padded grid per chunk of entries)."""
    from scipy import stats

    n_c, n_t, rate, theta, sign = (
        np.asarray(a, dtype=float) for a in (n_c, n_t, rate, theta, sign)
    )
    rare = np.minimum(rate, 1 - rate)
    reach = np.fmax(rare_counts(n_c, rate), rare_counts(n_t, rate))
    power = np.zeros(n_c.shape)
    for start in range(0, n_c.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        k = np.arange(int(np.nanmax(reach[part], initial=0.0)) + 1, dtype=float)
        kc, kt = k[None, :, None], k[None, None, :]
        nc, nt = n_c[part, None, None], n_t[part, None, None]
        flip = (rate[part] > 0.5)[:, None, None]  # the rarer outcome is the non-event
        with np.errstate(invalid="ignore"):
            prob = stats.binom.pmf(kc, nc, rare[part, None, None]) * stats.binom.pmf(
                kt, nt, rare[part, None, None]
            )
            z = farrington_manning(
                nc,
                np.where(flip, nc - kc, kc),
                nt,
                np.where(flip, nt - kt, kt),
                theta[part, None, None],
            )
            reject = sign[part, None, None] * z > stats.norm.isf(alpha)
        power[part] = np.where(reject & (prob > 0), prob, 0.0).sum(axis=(1, 2))
    return power
