"""The learned Bayesian prior's credible intervals cover the true lift at their level.

Known truth: portfolios of K experiments whose true relative lifts are drawn from Normal(μ, τ²)
(μ = +0.5%, τ = 2%), each estimated with its own standard error (uniform on 0.5%–4%, so some
experiments are much noisier than the spread of true lifts). Each experiment's prior is learned
from the other K − 1 exactly as the readout does (nsexp.stats.prediction.marginal_priors, the
function behind nsexp.learning.predict.lift_priors, with the error of the prior mean added by
with_mean_error), and its posterior is nsexp.stats.bayes's. Empirical-Bayes intervals are
calibrated only approximately (the prior's two moments are estimates from K comparisons), so
the tests hold each level within 1 point (the Monte Carlo error is a few tenths of that).
Figures in docs/calibration.md ("Issue 18 — the Bayesian prior").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from nsexp.stats.bayes import PRIOR_SD, central_interval, posterior
from nsexp.stats.prediction import marginal_priors, with_mean_error

MU, TAU = 0.005, 0.02
SE_LOW, SE_HIGH = 0.005, 0.04
LEVELS = (0.95, 0.8)


class Coverage(NamedTuple):
    """Per level: coverage of the learned prior's credible interval (mean over portfolios and
    its standard error), the default prior's coverage, and the learned interval's width as a
    share of the default's; the learned posterior mean's squared error against the estimate's."""

    learned: dict[float, tuple[float, float]]
    default: dict[float, float]
    width: float
    mse_ratio: float


def run(portfolios: int, k: int, seed: int, draw: str = "normal") -> Coverage:
    """Simulate `portfolios` portfolios of `k` experiments at once (a portfolio per column)."""
    rng = np.random.default_rng(seed)
    if draw == "normal":
        truth = rng.normal(MU, TAU, (k, portfolios))
    else:  # heavier tails with the same SD: most ideas near μ, a few large (Laplace)
        truth = MU + rng.laplace(0.0, TAU / np.sqrt(2), (k, portfolios))
    se = rng.uniform(SE_LOW, SE_HIGH, (k, portfolios))
    y = truth + rng.normal(0.0, se)
    prior = with_mean_error(marginal_priors(y, se**2, np.arange(k)))
    sign = np.ones_like(y)
    learned, default = {}, {}
    for level in LEVELS:
        alpha = 1 - level
        post = posterior(y, se, sign, alpha, prior.mean, np.sqrt(prior.cov))
        inside = (post.cred_low < truth) & (truth < post.cred_high)
        per = inside.mean(axis=0)
        learned[level] = (float(per.mean()), float(per.std(ddof=1) / np.sqrt(portfolios)))
        plain = posterior(y, se, sign, alpha)
        low, high = central_interval(plain.mean, plain.sd, alpha)
        default[level] = float(((low < truth) & (truth < high)).mean())
        if level == LEVELS[0]:
            width = float(np.mean(post.sd / plain.sd))
            mse_ratio = float(np.mean((post.mean - truth) ** 2) / np.mean((y - truth) ** 2))
    return Coverage(learned, default, width, mse_ratio)


def report(c: Coverage, label: str) -> None:
    for level in LEVELS:
        cover, err = c.learned[level]
        print(
            f"{label}: {level:.0%} learned-prior credible interval covers {cover:.4f} ± {err:.4f}"
            f" (default prior Normal(0, {PRIOR_SD:g}²): {c.default[level]:.4f})"
        )
    ratios = f"width ÷ default's {c.width:.3f}; squared error ÷ the estimate's {c.mse_ratio:.3f}"
    print(f"{label}: {ratios}")


def _assert_covers(c: Coverage) -> None:
    for level, (cover, err) in c.learned.items():
        assert abs(cover - level) < 0.01, (level, cover, err)


def test_learned_prior_covers_at_its_level() -> None:
    c = run(400, 40, seed=2026)
    report(c, "K = 40, 400 portfolios")
    _assert_covers(c)
    assert c.width < 0.8 and c.mse_ratio < 0.7  # it is worth learning: narrower and closer


@pytest.mark.slow
@pytest.mark.parametrize("k", [20, 60, 120])
def test_learned_prior_covers_at_its_level_large(k: int) -> None:
    c = run(4_000, k, seed=7)
    report(c, f"K = {k}, 4,000 portfolios")
    _assert_covers(c)
