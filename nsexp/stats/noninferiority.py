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
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist

FloatArray = np.ndarray


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
) -> NonInferiority:
    """Test each entry against its margin (NaN margin: not tested, NaN results)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log1p(rel)
        se = rel_se / (1 + rel)
        bound = np.where(sign > 0, np.log1p(-margin), np.log1p(margin))
        p = dist.t_sf(sign * (log_ratio - bound) / se, df)
        power = dist.t_sf(dist.t_isf(alpha, df) - np.abs(bound) / se, df)
    tested = np.isfinite(margin) & np.isfinite(p)
    return NonInferiority(
        p_value=np.where(tested, p, np.nan),
        safe=tested & (p < alpha),
        power=np.where(np.isfinite(margin), power, np.nan),
    )
