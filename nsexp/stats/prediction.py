"""What the portfolio predicts for a new comparison: a multivariate normal prior of true effects
learned from the other experiments, the posterior of the North Star's true effect, the
predictive range of each metric (Twyman's law) and the false-positive risk of a win.

Model (the normal-normal empirical Bayes of nsexp.stats.meta.shrink, in k dimensions; cf.
Netflix, KDD 2024, on combining proxies with the North Star): each comparison's true relative
effects θ ~ N(μ, Σ) across experiments, and its estimates y | θ ~ N(θ, S) with S the sampling
covariance computed within the experiment. μ and Σ come from the other experiments by the
method of moments, pairwise over the comparisons that measured both metrics: Σ = Cov(y) −
mean(S) (Tripuraneni et al. 2023), projected onto the positive semi-definite matrices. Then

    E[θ_0 | y] = μ_0 + Σ_0o (Σ_oo + S_oo)⁻¹ (y_o − μ_o),
    Var[θ_0 | y] = Σ_00 − Σ_0o (Σ_oo + S_oo)⁻¹ Σ_o0,

with 0 the North Star and o the metrics observed and used. Every experiment's prior leaves that
experiment out, so a comparison is never its own history, and allows for its own estimation
error (`with_estimation_error`). Vectorised over comparisons.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist

FloatArray = np.ndarray
TWYMAN_LEVEL = 0.999


class Priors(NamedTuple):
    """Leave-one-experiment-out priors, one per comparison: mean (n, k), covariance (n, k, k),
    the comparisons each moment came from (n, k, k) and each metric's mean sampling variance
    over them (n, k); from marginal_priors, `cov` and `counts` are each metric's own (n, k)."""

    mean: FloatArray
    cov: FloatArray
    counts: FloatArray
    noise: FloatArray | None = None


class Posterior(NamedTuple):
    """The North Star's posterior per comparison."""

    mean: FloatArray
    sd: FloatArray


def _group_terms(y: FloatArray, s: FloatArray, groups: np.ndarray) -> tuple[np.ndarray, FloatArray]:
    """Each experiment's pairwise sums (groups, 4, k, k): counts, sums, cross products and
    sampling covariances over the comparisons that measured both metrics; and each comparison's
    experiment code."""
    mask = np.isfinite(y).astype(float)
    yz = np.nan_to_num(y)
    codes = np.unique(groups, return_inverse=True)[1]
    both = mask[:, :, None] * mask[:, None, :]
    terms = np.stack(
        [
            both,
            both * yz[:, :, None],
            both * yz[:, :, None] * yz[:, None, :],
            both * np.nan_to_num(s),
        ],
        axis=1,
    )
    per = np.zeros((int(codes.max()) + 1, *terms.shape[1:]))
    np.add.at(per, codes, terms)
    return codes, per


def leave_one_out_priors(y: FloatArray, s: FloatArray, groups: np.ndarray) -> Priors:
    """The prior of each comparison from the comparisons of every other experiment.

    `y` (n, k) estimates (NaN: not measured), `s` (n, k, k) their sampling covariances,
    `groups` (n,) the experiments. Pairwise moments: metric j's mean over the comparisons that
    measured j and l, so a metric measured only lately does not bias another's moments."""
    codes, per = _group_terms(y, s, groups)
    left = per.sum(axis=0)[None] - per[codes]
    n, a, cross, within = left[:, 0], left[:, 1], left[:, 2], left[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_pair = a / n
        cov = (cross - n * mean_pair * np.swapaxes(mean_pair, 1, 2)) / (n - 1) - within / n
        mean = np.diagonal(mean_pair, axis1=1, axis2=2).copy()
        noise = np.diagonal(within / n, axis1=1, axis2=2).copy()
    cov = np.where(n > 1, cov, 0.0)
    return Priors(mean, psd(0.5 * (cov + np.swapaxes(cov, 1, 2))), n, noise)


def with_estimation_error(prior: Priors) -> Priors:
    """The prior with one standard error of its noise correction added to each variance.

    A true-effect variance is estimated as Var(estimates) − mean(se²); with K comparisons that
    subtraction is uncertain by about sqrt(2 / (K − 1)) mean(se²) (the sampling SD of a variance
    of K draws). Near the boundary (no spread beyond noise, correlations near ±1) the plug-in
    prior claims a certainty K experiments cannot give, and intervals built on it cover too
    little (about 93% at 95% with K = 60, when a metric correlates 0.9 with the North Star).
    Adding that standard error keeps the prior off the boundary; on simulated portfolios of
    K = 30 to 120 the 95% intervals then cover 94.6–95.8% (docs/calibration.md)."""
    if prior.noise is None:
        return prior
    cov = prior.cov.copy()
    idx = np.arange(cov.shape[1])
    cov[:, idx, idx] += _ridge(np.diagonal(prior.counts, axis1=1, axis2=2), prior.noise)
    return prior._replace(cov=cov)


def _ridge(k: FloatArray, noise: FloatArray) -> FloatArray:
    """One standard error of a noise correction from k comparisons: sqrt(2/(k − 1))·mean(se²)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.where(k > 1, np.sqrt(2 / (k - 1)) * noise, 0.0))


def marginal_priors(y: FloatArray, var: FloatArray, groups: np.ndarray) -> Priors:
    """Each metric's own leave-one-experiment-out prior, mean and variance (n, k), with its
    estimation error allowed for: the diagonal of `leave_one_out_priors` followed by
    `with_estimation_error`, without its (n, k, k) arrays (a catalog may hold 1,000 metrics)."""
    mask = np.isfinite(y)
    yz = np.where(mask, y, 0.0)
    codes = np.unique(groups, return_inverse=True)[1]
    terms = np.stack([mask, yz, yz * yz, np.where(mask, np.nan_to_num(var), 0.0)], axis=1)
    per = np.zeros((int(codes.max()) + 1, *terms.shape[1:]))
    np.add.at(per, codes, terms)
    left = per.sum(axis=0)[None] - per[codes]
    n, total, squares, within = left[:, 0], left[:, 1], left[:, 2], left[:, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / n
        noise = within / n
        tau2 = np.where(n > 1, (squares - n * mean * mean) / (n - 1) - noise, 0.0)
    tau2 = np.maximum(np.nan_to_num(tau2), 0.0) + _ridge(n, noise)
    return Priors(mean, tau2, n, noise)


def with_mean_error(prior: Priors) -> Priors:
    """A marginal prior (from marginal_priors) whose variance also holds the error of its mean.

    The prior mean is the average of k past lifts, so it misses the true mean by about
    sqrt((tau² + mean(se²)) / k); a new experiment's true lift (not among the k) differs from
    that average by both, so its prior variance is tau² + (tau² + mean(se²)) / k. Without the
    term, 95% credible intervals from k = 20–60 past comparisons cover only 94.2–94.6% in
    simulation; with it 94.8–95.1% (docs/calibration.md, Issue 18)."""
    if prior.noise is None:
        return prior
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.where(prior.counts > 0, (prior.cov + prior.noise) / prior.counts, 0.0)
    return prior._replace(cov=prior.cov + np.nan_to_num(extra))


def psd(cov: FloatArray) -> FloatArray:
    """Each (k, k) matrix with its negative eigenvalues set to zero (a covariance again)."""
    values, vectors = np.linalg.eigh(np.nan_to_num(cov))
    return (vectors * np.maximum(values, 0.0)[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def north_star_posterior(y: FloatArray, s: FloatArray, prior: Priors, use: FloatArray) -> Posterior:
    """Posterior mean and SD of metric 0 (the North Star) given the metrics `use` (n, k) marks
    (metric 0 always), per comparison."""
    used = np.asarray(use, bool) & np.isfinite(y)
    used[:, 0] = True
    k = y.shape[1]
    pair = used[:, :, None] & used[:, None, :]
    eye = np.broadcast_to(np.eye(k), pair.shape)
    system = np.where(pair, prior.cov + np.nan_to_num(s), eye * 1.0)
    cross = np.where(used, prior.cov[:, 0, :], 0.0)
    resid = np.where(used, np.nan_to_num(y) - prior.mean, 0.0)
    # a pseudo-inverse: a metric with no spread and no noise makes the system singular, and
    # then conditions on nothing (Gaussian conditioning with a generalised inverse)
    gain = (np.linalg.pinv(system, hermitian=True) @ cross[..., None])[..., 0]
    mean = prior.mean[:, 0] + np.einsum("nk,nk->n", gain, resid)
    var = prior.cov[:, 0, 0] - np.einsum("nk,nk->n", gain, cross)
    return Posterior(mean=mean, sd=np.sqrt(np.maximum(var, 0.0)))


def predicted_north_star(
    y: FloatArray, s: FloatArray, groups: np.ndarray, use: FloatArray
) -> tuple[Posterior, Priors]:
    """The North Star's posterior per comparison under its leave-one-experiment-out prior,
    allowing for that prior's estimation error (`with_estimation_error`); and the prior. The
    prior is learned over the metrics some comparison uses (columns of the result), so a
    catalog's other metrics cost nothing."""
    use = np.asarray(use, bool)
    cols = np.flatnonzero(use.any(axis=0) | (np.arange(y.shape[1]) == 0))
    y, s, use = y[:, cols], s[:, cols][:, :, cols], use[:, cols]
    prior = with_estimation_error(leave_one_out_priors(y, s, groups))
    return north_star_posterior(y, s, prior, use), prior


def predictive_range(
    se: FloatArray, prior: Priors, level: float = TWYMAN_LEVEL
) -> tuple[FloatArray, FloatArray]:
    """The central `level` range of each metric's estimate in a new comparison (n, k): prior
    mean ± z sqrt(prior variance + the estimate's own sampling variance), `prior` from
    marginal_priors (its `cov` the variances, (n, k))."""
    tau2 = np.maximum(prior.cov, 0.0)
    half = dist.norm_ppf(0.5 + level / 2) * np.sqrt(tau2 + np.asarray(se, float) ** 2)
    return prior.mean - half, prior.mean + half


def win_power(threshold: float | FloatArray, se: FloatArray, alpha: float) -> FloatArray:
    """P(significant in the better direction | the true effect is the practical threshold) of
    a two-sided test at alpha: Φ(threshold / se − z_{1−α/2})."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return dist.norm_cdf(np.asarray(threshold) / np.asarray(se) - dist.norm_ppf(1 - alpha / 2))


def prior_null(success_rate: FloatArray, alpha: float, power: FloatArray) -> FloatArray:
    """The share of ideas with no real effect, π, from the observed rate of significant wins:
    success = (α/2) π + power (1 − π) solved for π at the portfolio's typical power, kept
    inside [0, 1] (the observed rate counts the false positives too)."""
    half = alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip((np.asarray(power) - success_rate) / (np.asarray(power) - half), 0.0, 1.0)


def false_positive_risk(alpha: float, power: FloatArray, null_share: FloatArray) -> FloatArray:
    """P(no real effect | a significant win) = (α/2) π / ((α/2) π + power (1 − π)), with α/2
    because a win is significant in one direction (Kohavi, Deng & Vermeer 2022, Table 2)."""
    half = alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return half * null_share / (half * null_share + np.asarray(power) * (1 - null_share))
