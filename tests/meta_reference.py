"""Scalar references for the vectorised estimators of nsexp.stats (moved here from
nsexp.stats.meta: the app uses the vectorised forms, the tests check them against these).

true_moments and effect_correlation are the one-edge method of moments built from the same
terms as nsexp.stats.evidence.edge_evidence, checked against numpy and explicit resampling in
tests/learning/test_proxies.py; relative_covariance is the delta-method covariance of two
lifts, checked against simulation there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist
from nsexp.stats.meta import (
    TrueMoments,
    cluster_bootstrap_counts,
    moment_terms,
    moments_of,
)

FloatArray = np.ndarray


class CorrelationEstimate(NamedTuple):
    """Noise-corrected correlation of true effects with a bootstrap interval."""

    naive: float
    corrected: float
    ci_low: float
    ci_high: float
    slope: float
    intercept: float
    true_sd_x: float
    true_sd_y: float


def true_moments(
    weights: FloatArray,
    x: FloatArray,
    y: FloatArray,
    var_x: FloatArray,
    var_y: FloatArray,
    cov_xy: FloatArray,
) -> TrueMoments:
    """Method-of-moments moments of the true effects; `weights` is (n,) or (B, n) counts."""
    rows, shift = moment_terms(*(np.asarray(v, dtype=float) for v in (x, y, var_x, var_y, cov_xy)))
    return moments_of(np.atleast_2d(np.asarray(weights, dtype=float)) @ rows, shift)


def effect_correlation(
    x: FloatArray,
    y: FloatArray,
    se_x: FloatArray,
    se_y: FloatArray,
    cov_xy: FloatArray | None = None,
    groups: FloatArray | None = None,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> CorrelationEstimate:
    """Correlation of true effects, corrected for sampling noise, with a Fisher-z interval whose
    SD comes from a bootstrap over experiments (`groups`: one experiment's comparisons). The
    bootstrap sums each experiment's terms once and weights the experiments, not the rows."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    vx, vy = np.asarray(se_x, float) ** 2, np.asarray(se_y, float) ** 2
    cxy = np.zeros_like(x) if cov_xy is None else np.asarray(cov_xy, float)
    groups = np.arange(x.size) if groups is None else np.asarray(groups)
    rows, shift = moment_terms(x, y, vx, vy, cxy)
    point = moments_of(rows.sum(axis=0, keepdims=True), shift)
    counts, codes = cluster_bootstrap_counts(groups, n_boot, seed)
    per_group = np.zeros((counts.shape[1], rows.shape[1]))
    np.add.at(per_group, codes, rows)
    boot = moments_of(counts @ per_group, shift).correlation
    low, high = fisher_interval(float(point.correlation[0]), boot, level)
    var_x, cov = float(point.var_x[0]), float(point.cov[0])
    slope = cov / var_x if var_x > 0 else np.nan
    return CorrelationEstimate(
        naive=float(point.naive_correlation[0]),
        corrected=float(point.correlation[0]),
        ci_low=float(low),
        ci_high=float(high),
        slope=float(slope),
        intercept=float(point.mean_y[0] - slope * point.mean_x[0]),
        true_sd_x=float(np.sqrt(var_x)) if var_x > 0 else 0.0,
        true_sd_y=float(np.sqrt(point.var_y[0])) if point.var_y[0] > 0 else 0.0,
    )


def fisher_interval(point: float, boot: FloatArray, level: float) -> tuple[float, float]:
    """tanh(atanh(r) ± z SD*) with SD* the bootstrap SD of atanh(r*); r kept inside ±0.999.

    Better than the percentile interval for correlations below ~0.9 (its coverage:
    tests/learning/test_proxies.py).
    """
    edge = 0.999
    boot = boot[np.isfinite(boot)]
    if not np.isfinite(point) or boot.size < 2:
        return np.nan, np.nan
    spread = np.std(np.arctanh(np.clip(boot, -edge, edge)), ddof=1)
    centre = np.arctanh(np.clip(point, -edge, edge))
    half = dist.norm_ppf(0.5 + level / 2) * spread
    return float(np.tanh(centre - half)), float(np.tanh(centre + half))


def relative_covariance(
    mean_x_c: FloatArray,
    mean_y_c: FloatArray,
    mean_x_t: FloatArray,
    mean_y_t: FloatArray,
    cov_c: FloatArray,
    cov_t: FloatArray,
    n_c: FloatArray,
    n_t: FloatArray,
) -> FloatArray:
    """Delta-method sampling covariance of two relative lifts (x_t/x_c - 1, y_t/y_c - 1)
    from each arm's unit-level covariance of the two metrics (cov_c, cov_t)."""
    return cov_t / n_t / (mean_x_c * mean_y_c) + (mean_x_t * mean_y_t) * (cov_c / n_c) / (
        mean_x_c**2 * mean_y_c**2
    )
