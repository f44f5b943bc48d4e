"""Meta-analysis across experiments: noise-corrected correlation of true effects and
empirical-Bayes shrinkage, on per-comparison estimates and their standard errors.

Each experiment i gives estimates x_i (a metric) and y_i (the North Star) of true effects
(a_i, b_i), with sampling variances sx_i², sy_i² and sampling covariance c_i. Across
experiments, Cov(x, y) = Cov(a, b) + mean(c) and Var(x) = Var(a) + mean(sx²), so the
moments of the true effects are the sample moments minus the mean sampling moments
(method of moments; Tripuraneni et al. 2023, "Choosing a Proxy Metric from Past Experiments").
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray


class TrueMoments(NamedTuple):
    """Moments of the true effects across experiments (arrays: one entry per weighting)."""

    mean_x: FloatArray
    mean_y: FloatArray
    var_x: FloatArray
    var_y: FloatArray
    cov: FloatArray
    naive_correlation: FloatArray
    correlation: FloatArray


class Shrinkage(NamedTuple):
    """Normal-normal empirical Bayes: the fitted prior and each estimate's posterior."""

    prior_mean: float
    prior_var: float
    posterior_mean: FloatArray
    posterior_sd: FloatArray


def moment_terms(
    x: FloatArray,
    y: FloatArray,
    var_x: FloatArray,
    var_y: FloatArray,
    cov_xy: FloatArray,
    mask: FloatArray | None = None,
) -> tuple[FloatArray, tuple[FloatArray, FloatArray]]:
    """Per comparison (last axis; `mask` marks the ones used, others count zero) the terms whose
    weighted sums give every moment: 1, x, y, x², y², xy (x and y shifted by their plain means,
    so no square loses digits) and the sampling moments; and the two shifts (keepdims)."""
    m = np.ones_like(x) if mask is None else np.asarray(mask, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        count = np.maximum(m.sum(axis=-1, keepdims=True), 1.0)
        shift = (
            (m * x).sum(axis=-1, keepdims=True) / count,
            (m * y).sum(axis=-1, keepdims=True) / count,
        )
    dx, dy = (x - shift[0]) * m, (y - shift[1]) * m
    terms = (m, dx, dy, dx * dx, dy * dy, dx * dy, var_x * m, var_y * m, cov_xy * m)
    return np.stack(terms, axis=-1), shift


def moments_of(sums: FloatArray, shift: tuple[FloatArray, FloatArray]) -> TrueMoments:
    """TrueMoments from weighted sums of moment_terms (last axis the nine terms, the one before
    the weightings), shifted back by `shift`."""
    total, sx, sy, sxx, syy, sxy, vx, vy, cxy = np.moveaxis(sums, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx, my = sx / total, sy / total
        var_x = (sxx - total * mx * mx) / (total - 1)
        var_y = (syy - total * my * my) / (total - 1)
        cov = (sxy - total * mx * my) / (total - 1)
        tx, ty, txy = var_x - vx / total, var_y - vy / total, cov - cxy / total
        naive = np.clip(cov / np.sqrt(var_x * var_y), -1.0, 1.0)
        ok = (tx > 0) & (ty > 0)
        corr = np.where(ok, np.clip(txy / np.sqrt(np.where(ok, tx * ty, 1.0)), -1.0, 1.0), np.nan)
    return TrueMoments(mx + shift[0], my + shift[1], tx, ty, txy, naive, corr)


def cluster_bootstrap_counts(
    groups: FloatArray, n_boot: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Resample whole groups (experiments) with replacement: (n_boot, groups) draw counts, and
    each row's group index (row weights are counts[:, codes])."""
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    return _draw_counts(int(codes.max()) + 1, n_boot, seed), codes


@functools.lru_cache(maxsize=2)
def _draw_counts(n_groups: int, n_boot: int, seed: int) -> FloatArray:
    """How often each of n_groups groups is drawn in each resample: the same for every metric
    of a portfolio with as many experiments, so drawn once (read-only). Drawn a block of
    resamples at a time (the same stream: each 64-bit draw is taken in turn), so the working
    arrays stay near _DRAW_CELLS: whole (n_boot, n_groups) int64 temporaries cost a
    1,000-experiment readout ~0.2 CPU s in fresh pages."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, n_groups))
    block = max(1, _DRAW_CELLS // n_groups)
    for start in range(0, n_boot, block):
        rows = min(block, n_boot - start)
        draws = rng.integers(0, n_groups, size=(rows, n_groups))
        draws += n_groups * np.arange(rows)[:, None]  # row r's groups counted in bins r·n_groups…
        counts = np.bincount(draws.ravel(), minlength=rows * n_groups)
        out[start : start + rows] = counts.reshape(rows, n_groups)
    out.flags.writeable = False
    return out


_DRAW_CELLS = 1 << 17  # draws made at once (1 MB of int64)


def shrink(estimate: FloatArray, se: FloatArray) -> Shrinkage:
    """Shrink each estimate toward the portfolio's distribution of true effects.

    Prior N(mu, tau²) by method of moments: mu = mean(estimate), tau² = max(Var(estimate) -
    mean(se²), 0); posterior mean mu + tau²/(tau² + se²) (estimate - mu), variance
    tau² se²/(tau² + se²). This undoes the winner's curse on average (Efron 2011, "Tweedie's
    formula and selection bias").
    """
    est, var = np.asarray(estimate, float), np.asarray(se, float) ** 2
    mu = float(est.mean())
    tau2 = float(max(est.var(ddof=1) - var.mean(), 0.0)) if est.size > 1 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(tau2 + var > 0, tau2 / (tau2 + var), 0.0)
    return Shrinkage(
        prior_mean=mu,
        prior_var=tau2,
        posterior_mean=mu + factor * (est - mu),
        posterior_sd=np.sqrt(factor * var),
    )
