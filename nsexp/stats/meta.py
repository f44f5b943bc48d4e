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

from nsexp.stats import dist

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
    undefined_share: float


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
    of a portfolio with as many experiments, so drawn once (read-only)."""
    draws = np.random.default_rng(seed).integers(0, n_groups, size=(n_boot, n_groups))
    offsets = draws + n_groups * np.arange(n_boot)[:, None]
    counts = np.bincount(offsets.ravel(), minlength=n_boot * n_groups)
    out = counts.reshape(n_boot, n_groups).astype(float)
    out.flags.writeable = False
    return out


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
    undefined = float(np.mean(np.isnan(boot)))
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
        undefined_share=undefined,
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
