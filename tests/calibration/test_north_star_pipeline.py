"""The North Star model end to end: a portfolio drawn from the model written as summary files
with cross sums, read by `load_dataset`, read out, and learned from, as the app and the CLI do.

120 experiments; true relative effects on (ns, p, v) ~ N(μ, Σ) with corr(ns, p) = 0.9 and
corr(ns, v) = 0; the units' values correlate 0.3 (ns, p) and 0.8 (ns, v), so the estimates'
noise does too. Each arm's sample means are drawn jointly normal and its sample covariance
Wishart, written as n, sum, sum_sq and ns_cross_sum. Bands: four binomial standard errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from helpers import write_metrics
from scipy import stats

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.learning.history import learn
from nsexp.learning.tree import RESAMPLING

METRICS = ("ns", "p", "v")
BASE = np.array([5.0, 8.0, 12.0])
UNIT_SD = np.array([4.0, 6.0, 6.0])
UNIT_CORR = np.array([[1.0, 0.3, 0.8], [0.3, 1.0, 0.3], [0.8, 0.3, 1.0]])
EFFECT_SD = np.array([0.02, 0.05, 0.015])
EFFECT_CORR = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])


def write_portfolio(root: Path, k: int, seed: int) -> np.ndarray:
    """Summary rows of k experiments in one CSV; returns their true relative effects (k, 3)."""
    rng = np.random.default_rng(seed)
    truth = rng.multivariate_normal(
        [0.003, 0.006, 0.01], EFFECT_CORR * np.outer(EFFECT_SD, EFFECT_SD), k
    )
    unit = UNIT_CORR * np.outer(UNIT_SD, UNIT_SD)
    rows = []
    for i in range(k):
        n = int(rng.integers(8, 40)) * 100
        for arm, lift in (("control", np.zeros(3)), ("treatment", truth[i])):
            means = BASE * (1 + lift)
            mean = rng.multivariate_normal(means, unit / n)
            cov = stats.wishart(df=n - 1, scale=unit / (n - 1)).rvs(random_state=rng)
            sums = n * mean
            cross = (n - 1) * cov + np.outer(sums, sums) / n
            for j, metric in enumerate(METRICS):
                rows.append(
                    {
                        "experiment": f"e{i:03d}",
                        "variant": arm,
                        "metric": metric,
                        "n": n,
                        "sum": sums[j],
                        "sum_sq": cross[j, j],
                        "ns_cross_sum": None if metric == "ns" else cross[j, 0],
                    }
                )
    root.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_csv(root / "portfolio.csv")
    write_metrics(
        root,
        {
            "ns": {"role": "north_star", "type": "mean"},
            "p": {"role": "leading", "type": "mean"},
            "v": {"role": "leading", "type": "mean"},
        },
    )
    return truth


def test_the_pipeline_learns_the_truth(tmp_path: Path) -> None:
    k = 120
    truth = write_portfolio(tmp_path, k, seed=11)
    readout = build_readout(load_dataset(tmp_path))
    learning = learn(readout.judgement, resampling=RESAMPLING._replace(n_boot=500))
    p, v = learning.evidence.edge("p"), learning.evidence.edge("v")
    assert p is not None and v is not None
    assert p.within_covariance == v.within_covariance == "computed"
    assert p.label == "predictive"
    assert p.correlation_ci_low <= 0.9 <= p.correlation_ci_high
    # v's estimates share noise with the North Star's: the naive correlation is far from 0, the
    # corrected one is not (its interval covers the truth, 0)
    assert v.naive_correlation is not None and v.naive_correlation > 0.2
    assert v.correlation_ci_low <= 0.0 <= v.correlation_ci_high
    assert abs(v.corrected_correlation) < v.naive_correlation / 2
    assert v.label != "predictive"
    covered, narrower = 0, 0
    for i, e in enumerate(sorted(readout.experiments)):
        t = readout.experiments[e].treatments[0]
        pred = learning.learned[(e, t.variant)].prediction
        assert pred is not None and pred.sources == ("ns", "p")
        covered += pred.rel_ci_low <= truth[i, 0] <= pred.rel_ci_high
        narrower += (pred.rel_ci_high - pred.rel_ci_low) < (
            t.north_star.rel_ci_high - t.north_star.rel_ci_low
        )
    share = covered / k
    assert abs(share - 0.95) < 4 * np.sqrt(0.95 * 0.05 / k), share
    assert narrower == k
