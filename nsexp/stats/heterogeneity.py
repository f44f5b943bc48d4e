"""Does the effect differ across segments? Cochran's Q test of heterogeneity, vectorised.

For k independent segment estimates θ_i with standard errors s_i, weights w_i = 1/s_i²:
Q = Σ w_i (θ_i − θ̄)², θ̄ = Σ w_i θ_i / Σ w_i, and under a common effect Q ~ χ²(k − 1)
(Cochran 1954; the fixed-effect meta-analysis test, e.g. Borenstein et al. 2009, ch. 16).
I² = max(0, (Q − (k − 1)) / Q) is the share of the spread beyond chance (Higgins & Thompson 2002).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist

FloatArray = np.ndarray


class Heterogeneity(NamedTuple):
    """One entry per group: pooled effect, Q, degrees of freedom, p-value and I²."""

    pooled: FloatArray
    q: FloatArray
    df: FloatArray
    p_value: FloatArray
    i2: FloatArray


def cochran_q(effect: FloatArray, se: FloatArray, group: np.ndarray) -> Heterogeneity:
    """Cochran's Q per group of segment estimates; entries with no finite positive SE are
    left out. Groups come back in np.unique order of `group`."""
    effect = np.asarray(effect, dtype=float)
    se = np.asarray(se, dtype=float)
    usable = np.isfinite(effect) & np.isfinite(se) & (se > 0)
    keys, index = np.unique(np.asarray(group), return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(usable, 1 / se**2, 0.0)
        wx = np.where(usable, w * effect, 0.0)
    size = keys.size
    sw = np.bincount(index, w, size)
    k = np.bincount(index, usable.astype(float), size)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.bincount(index, wx, size) / sw
        spread = np.where(usable, w * (effect - pooled[index]) ** 2, 0.0)  # two passes: exact
        q = np.bincount(index, spread, size)
        df = k - 1
        p = np.where(df > 0, dist.chi2_sf(q, np.maximum(df, 1)), np.nan)
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0)
    valid = df > 0
    return Heterogeneity(
        pooled=np.where(k > 0, pooled, np.nan),
        q=np.where(valid, q, np.nan),
        df=df,
        p_value=p,
        i2=np.where(valid, i2, np.nan),
    )
