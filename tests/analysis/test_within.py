"""Within-experiment covariance of two relative lifts (nsexp.analysis.within): a metric crossed
with an exact copy of itself gets the readout's own variance, and across many simulated
experiments the computed covariance matches the spread of the lifts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import write_metrics

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset


def units(
    rng: np.random.Generator, n: int, experiments: int = 1, lift: float = 0.05
) -> pl.DataFrame:
    """Engaged learners do more of everything: the metrics' unit values are correlated."""
    eng = rng.gamma(3.0, 1 / 3, n)
    arm = rng.random(n) < 0.5
    boost = np.where(arm, 1 + lift, 1.0)
    pre = rng.poisson(4 * eng).astype(float)
    lessons = rng.poisson(5 * eng * boost).astype(float)
    sessions = 1.0 + rng.poisson(3 * eng)
    return pl.DataFrame(
        {
            "experiment": [f"e{i:03d}" for i in rng.integers(0, experiments, n)],
            "variant": np.where(arm, "treatment", "control"),
            "lessons": lessons,
            "lessons_pre": np.where(rng.random(n) < 0.05, np.nan, pre),
            "starts": lessons + rng.poisson(2 * np.sqrt(eng)),
            "retained": (rng.random(n) < np.minimum(0.45 * np.sqrt(eng) * boost, 0.97)).astype(
                float
            ),
            "minutes": rng.gamma(1.8 * sessions, 3.4 * boost * eng),
            "sessions": sessions,
        }
    ).with_columns(pl.col("lessons_pre").fill_nan(None))


MEAN = {"type": "mean"}
RATIO = {"type": "ratio", "numerator": "minutes", "denominator": "sessions"}


@pytest.mark.parametrize(
    ("spec", "cuped"),
    [
        (MEAN | {"column": "starts"}, False),
        (MEAN | {"column": "lessons", "covariate": "lessons_pre"}, True),
        ({"type": "proportion", "column": "retained"}, False),
        (RATIO, False),
    ],
)
def test_a_metric_crossed_with_its_copy_has_its_own_variance(
    tmp_path: Path, spec: dict, cuped: bool
) -> None:
    write_metrics(
        tmp_path,
        {"ns": {"role": "north_star", **spec}, "copy": {"role": "leading", **spec}},
    )
    units(np.random.default_rng(1), 20_000).write_parquet(tmp_path / "e.parquet")
    readout = build_readout(load_dataset(tmp_path), Settings(cuped=cuped))
    row = readout.judgement.within.row(0, named=True)
    ns = readout.results.filter(pl.col("metric") == "ns").row(0, named=True)
    assert (ns["cuped_theta"] is not None) is cuped
    # proportions: the readout's p(1 − p) against the sample variance's n − 1; CUPED: the
    # readout's classical per-arm variance σ̂²(1/n + d²/Sxx) with σ̂² = SSE/(n − 2), against
    # the delta method's SSE/((n − 1) n) over the part means: they differ by O(1/n) (about
    # 1/n here, n ≈ 10,000 per arm), so the bound is 2/n
    n = min(ns["n_control"], ns["n_treatment"])
    tolerance = 2e-4 if spec["type"] == "proportion" else 2 / n if cuped else 1e-9
    assert row["lift_cov"] == pytest.approx(ns["rel_se"] ** 2, rel=tolerance)
    assert row["lift_corr"] == pytest.approx(1.0, abs=tolerance)


def test_computed_covariance_matches_the_spread_across_experiments(tmp_path: Path) -> None:
    """400 experiments of one design in one file: the sample covariance of the lifts across
    them is the truth the per-experiment delta-method covariance must match (3 SEs)."""
    write_metrics(
        tmp_path,
        {
            "lessons": {"role": "north_star", "type": "mean", "covariate": "lessons_pre"},
            "starts": {"role": "leading", "type": "mean"},
            "retained": {"role": "leading", "type": "proportion", "parent": "starts"},
            "minutes_per_session": {"role": "leading", **RATIO, "parent": "starts"},
        },
    )
    k = 400
    units(np.random.default_rng(4), 1500 * k, experiments=k).write_parquet(
        tmp_path / "many.parquet"
    )
    readout = build_readout(load_dataset(tmp_path))
    lifts = readout.results.pivot("metric", index="experiment", values="rel_effect")
    pairs = readout.judgement.within.group_by("metric", "other").agg(
        pl.col("lift_cov").mean(), pl.len()
    )
    assert pairs.height == 5  # three metrics with the North Star, two with their parent
    rng = np.random.default_rng(0)
    far_from_zero = 0
    for row in pairs.iter_rows(named=True):
        assert row["len"] == k
        x, y = lifts[row["metric"]].to_numpy(), lifts[row["other"]].to_numpy()
        empirical = np.cov(x, y)[0, 1]
        boots = [np.cov(x[i], y[i])[0, 1] for i in rng.integers(0, k, (300, k))]
        assert abs(row["lift_cov"] - empirical) < 3 * np.std(boots), row
        far_from_zero += abs(empirical) > 3 * np.std(boots)
    assert far_from_zero >= 3  # where assuming zero would be wrong, the computed value is right
