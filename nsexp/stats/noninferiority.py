"""Guardrails by non-inferiority (Schultzberg, Ankargren & Frånberg 2024, Spotify's risk-aware
decision rule): a guardrail is safe only when a one-sided test shows it no worse than a margin.

With d the relative lift in the metric's good direction and m the margin, H0: d <= -m is
rejected at level alpha when (d + m) / se > z_{1-alpha} (a one-sided t-test with the
comparison's df). The power reported is that of this test when the true lift is 0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

FloatArray = np.ndarray


class NonInferiority(NamedTuple):
    """One-sided p-value, whether non-inferiority is shown, and the test's power at d = 0."""

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
        stat = (sign * rel + margin) / rel_se
        p = stats.t.sf(stat, df)
        power = stats.t.sf(stats.t.isf(alpha, df) - margin / rel_se, df)
    tested = np.isfinite(margin) & np.isfinite(p)
    return NonInferiority(
        p_value=np.where(tested, p, np.nan),
        safe=tested & (p < alpha),
        power=np.where(np.isfinite(margin), power, np.nan),
    )
