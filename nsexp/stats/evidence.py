"""Evidence on many edges at once: the noise-corrected correlation and slope of true effects
between a child metric and its parent across experiments, with bootstrap intervals.

The same method of moments as nsexp.stats.meta (Tripuraneni et al. 2023), vectorised over
edges: every edge's comparisons are a mask over one array of comparisons, every moment is one
matrix product with the weights (the point estimate and each bootstrap draw, resampling whole
experiments with the same draws for every edge). For one edge it equals the scalar reference
`effect_correlation` in tests/meta_reference.py with the same seed.

- corrected correlation: Cov(a, b) / sqrt(Var(a) Var(b)) of the true effects, where each is the
  sample moment minus the mean sampling moment; Fisher-z interval with the bootstrap SD;
- slope: Cov(a, b) / Var(a), the parent's effect per unit of the child's (noise removed from
  both, so it is not attenuated toward 0 as a regression on noisy estimates is); percentile
  bootstrap interval; the intercept makes the line pass through the means.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist
from nsexp.stats.meta import cluster_bootstrap_counts, moment_terms, moments_of

FloatArray = np.ndarray
EDGE = 0.999  # correlations are kept inside ±EDGE on the Fisher scale
# comparisons in other experiments before the portfolio's history is used: an edge's label, the
# predictions, the Twyman range and the Bayesian prior learned from it
MIN_COMPARISONS = 20


class EdgeEstimates(NamedTuple):
    """One entry per edge (NaN where undefined)."""

    n: FloatArray
    naive: FloatArray
    corrected: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    slope: FloatArray
    slope_low: FloatArray
    slope_high: FloatArray
    intercept: FloatArray
    true_sd_x: FloatArray
    true_sd_y: FloatArray


def edge_evidence(
    mask: FloatArray,
    x: FloatArray,
    y: FloatArray,
    se_x: FloatArray,
    se_y: FloatArray,
    cov_xy: FloatArray,
    groups: FloatArray,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> EdgeEstimates:
    """Corrected correlation and slope per edge; arrays (edges, n) with `mask` marking each
    edge's comparisons (values off the mask are ignored), `groups` (n,) the experiments."""
    m = np.asarray(mask, bool).astype(float)

    def clean(v: FloatArray) -> FloatArray:
        return np.where(m > 0, np.nan_to_num(np.asarray(v, float)), 0.0)

    x, y, cxy = clean(x), clean(y), clean(cov_xy)
    vx, vy = clean(se_x) ** 2, clean(se_y) ** 2
    terms, shift = moment_terms(x, y, vx, vy, cxy, m)  # (edges, n, 9)
    counts, codes = cluster_bootstrap_counts(np.asarray(groups), n_boot, seed)
    per_group = np.zeros((counts.shape[1], *terms.shape[::2]))  # (experiments, edges, 9)
    np.add.at(per_group, codes, terms.transpose(1, 0, 2))  # each experiment's terms once
    boot = (counts @ per_group.reshape(counts.shape[1], -1)).reshape(n_boot, *terms.shape[::2])
    sums = np.concatenate([terms.sum(axis=1)[:, None, :], boot.transpose(1, 0, 2)], axis=1)
    mom = moments_of(sums, shift)  # (edges, 1 + draws): the point, then the draws
    point, boot = mom.correlation[:, 0], mom.correlation[:, 1:]
    low, high = fisher_intervals(point, boot, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.where(mom.var_x > 0, mom.cov / mom.var_x, np.nan)
    slope = slopes[:, 0]
    s_low, s_high = percentile_intervals(slopes[:, 1:], level)
    return EdgeEstimates(
        n=m.sum(axis=1),
        naive=mom.naive_correlation[:, 0],
        corrected=point,
        ci_low=low,
        ci_high=high,
        slope=slope,
        slope_low=np.where(np.isfinite(slope), s_low, np.nan),
        slope_high=np.where(np.isfinite(slope), s_high, np.nan),
        intercept=mom.mean_y[:, 0] - slope * mom.mean_x[:, 0],
        true_sd_x=np.sqrt(np.maximum(mom.var_x[:, 0], 0.0)),
        true_sd_y=np.sqrt(np.maximum(mom.var_y[:, 0], 0.0)),
    )


def fisher_intervals(
    point: FloatArray, boot: FloatArray, level: float
) -> tuple[FloatArray, FloatArray]:
    """tanh(atanh(r) ± z SD*) per row, SD* the SD of atanh(r*) over the finite draws (as the
    scalar fisher_interval of tests/meta_reference.py); NaN with fewer than two finite draws."""
    z = np.arctanh(np.clip(boot, -EDGE, EDGE))
    finite = np.isfinite(z)
    count = finite.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(finite, z, 0.0).sum(axis=1) / count
        var = np.where(finite, (z - mean[:, None]) ** 2, 0.0).sum(axis=1) / (count - 1)
    half = dist.norm_ppf(0.5 + level / 2) * np.sqrt(var)
    centre = np.arctanh(np.clip(point, -EDGE, EDGE))
    ok = np.isfinite(point) & (count >= 2)
    return np.where(ok, np.tanh(centre - half), np.nan), np.where(
        ok, np.tanh(centre + half), np.nan
    )


def percentile_intervals(boot: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """The central `level` percentile interval of each row's finite draws (NaN when fewer than
    half the draws are finite: the quantity is too often undefined to bound)."""
    tail = (1 - level) / 2 * 100
    enough = np.isfinite(boot).mean(axis=1) >= 0.5 if boot.size else np.zeros(len(boot), bool)
    low, high = np.full(len(boot), np.nan), np.full(len(boot), np.nan)
    if enough.any():
        rows = np.where(np.isfinite(boot[enough]), boot[enough], np.nan)
        low[enough] = np.nanpercentile(rows, tail, axis=1)
        high[enough] = np.nanpercentile(rows, 100 - tail, axis=1)
    return low, high
