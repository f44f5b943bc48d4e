"""Guardrails by non-inferiority (Schultzberg, Ankargren & Frånberg 2024, Spotify's risk-aware
decision rule): a guardrail is safe only when a one-sided test shows it no worse than a margin.

The test runs on the log of the ratio treatment / control, where the ratio of two means is much
closer to normal than the ratio itself (a delta-method test on the relative lift is slightly
anti-conservative at a few thousand conversions: 0.057 instead of 0.05 in
tests/calibration/test_depth.py's setting). With r = log(1 + lift), its standard error
se_r = rel_se / (1 + lift) (= sqrt(Var_t / mean_t^2 + Var_c / mean_c^2)) and the margin m:
higher-is-better metrics test H0: r <= log(1 - m); lower-is-better ones H0: r >= log(1 + m);
one-sided t-test with the comparison's df at level alpha. The power reported is that of this
test when the true lift is 0.

Proportions near 100% with few non-events (`counts`, the exact methods of nsexp.stats.exact)
use Farrington & Manning's score test of the ratio instead, whose variance never vanishes (the
log-ratio test called 300/300 vs 300/300 safe with p = 0 and power 1), and its power exactly,
by enumeration, at the control's rate with one event and one non-event added; where that
enumeration would pass EXACT_REACH counts per arm, the normal approximation at that rate.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist
from nsexp.stats.exact import (
    adjusted_rate,
    farrington_manning,
    farrington_manning_power,
    rare_counts,
)
from nsexp.stats.intervals import Methods

FloatArray = np.ndarray
EXACT_REACH = 400


class NonInferiority(NamedTuple):
    """One-sided p-value, whether non-inferiority is shown, and the test's power at lift 0."""

    p_value: FloatArray
    safe: FloatArray
    power: FloatArray


def non_inferiority(
    rel: FloatArray,
    rel_se: FloatArray,
    df: FloatArray,
    sign: FloatArray,
    margin: FloatArray,
    alpha: float,
    counts: Methods | None = None,
) -> NonInferiority:
    """Test each entry against its margin (NaN margin: not tested, NaN results); `counts`:
    the entries' interval methods and counts, whose proportions near 100% with few non-events
    ("newcombe_relative") get the score test (near 0% the log-ratio test keeps its size: ≤ α
    by enumeration where the score test reached 0.056)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log1p(rel)
        se = rel_se / (1 + rel)
        bound = np.where(sign > 0, np.log1p(-margin), np.log1p(margin))
        p = dist.t_sf(sign * (log_ratio - bound) / se, df)
        power = dist.t_sf(dist.t_isf(alpha, df) - np.abs(bound) / se, df)
    if counts is not None:
        few = (counts.rel_ci == "newcombe_relative") & np.isfinite(margin)
        if few.any():
            p, power = _score_test(counts, few, sign, bound, alpha, p, power)
    tested = np.isfinite(margin) & np.isfinite(p)
    return NonInferiority(
        p_value=np.where(tested, p, np.nan),
        safe=tested & (p < alpha),
        power=np.where(np.isfinite(margin), power, np.nan),
    )


def _score_test(
    counts: Methods,
    few: np.ndarray,
    sign: FloatArray,
    bound: FloatArray,
    alpha: float,
    p: FloatArray,
    power: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """P and power of the few-event entries by the Farrington–Manning test (see the module)."""
    n_c, x_c, n_t, x_t = (a[few] for a in (counts.n_c, counts.x_c, counts.n_t, counts.x_t))
    theta, side = np.exp(bound[few]), sign[few]
    p = p.copy()
    p[few] = dist.norm_cdf(-side * farrington_manning(n_c, x_c, n_t, x_t, theta))
    rate = adjusted_rate(n_c, x_c)
    exact = np.fmax(rare_counts(n_c, rate), rare_counts(n_t, rate)) <= EXACT_REACH
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(rate * (1 - rate) * (1 / n_c + 1 / n_t)) / rate
        approx = dist.norm_cdf(np.abs(bound[few]) / se - dist.norm_isf(alpha))
    if exact.any():
        approx[exact] = farrington_manning_power(
            n_c[exact], n_t[exact], rate[exact], theta[exact], side[exact], alpha
        )
    power = power.copy()
    power[few] = approx
    return p, power
