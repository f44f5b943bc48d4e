"""Peeking calibration: A/A experiments looked at every day for 14 days, through the real pipeline.

Known truth: no effect. With --sequential the share of experiments ever significant on any day
must stay at or below α (plus binomial noise); with fixed-horizon tests it rises well above α.
The measured figures are recorded in docs/calibration.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import REPO, write_toml
from scipy import stats

from nsexp.analysis.settings import Settings
from nsexp.analysis.timeline import north_star_timelines
from nsexp.io import load_dataset

ALPHA = 0.05
DAYS = 14


def aa_portfolio(directory: Path, experiments: int, seed: int, daily: int = 400) -> Path:
    """Daily summary rows of seeded A/A experiments: a normal North Star, a Bernoulli metric.

    The sums are drawn exactly from their sampling distributions: for normal units the sum is
    normal and (n-1)s²/σ² is an independent chi-square; conversions are binomial.
    """
    rng = np.random.default_rng(seed)
    shape = (experiments, 2, DAYS)
    n = rng.poisson(daily, shape) + 2
    mu, sigma = 5.0, 3.0
    total = rng.normal(n * mu, sigma * np.sqrt(n))
    sum_sq = sigma**2 * rng.chisquare(n - 1) + total**2 / n
    converted = rng.binomial(n, 0.2).astype(float)
    exp_ids = np.array([f"aa{i:05d}" for i in range(experiments)])
    dates = np.datetime64("2026-01-01") + np.arange(DAYS).astype("timedelta64[D]")
    e, v, d = np.meshgrid(np.arange(experiments), np.arange(2), np.arange(DAYS), indexing="ij")
    keys = {
        "experiment": exp_ids[e.ravel()],
        "variant": np.array(["control", "treatment"])[v.ravel()],
        "date": dates[d.ravel()],
        "n": n.ravel(),
    }
    frame = pl.concat(
        [
            pl.DataFrame(
                keys | {"metric": "value", "sum": total.ravel(), "sum_sq": sum_sq.ravel()}
            ),
            pl.DataFrame(
                keys
                | {"metric": "converted", "sum": converted.ravel(), "sum_sq": converted.ravel()}
            ),
        ]
    )
    frame.write_parquet(directory / "aa.parquet")
    write_toml(
        directory / "metrics.toml",
        {
            "metrics": {
                "value": {"role": "north_star", "type": "mean"},
                "converted": {"role": "leading", "type": "proportion"},
            }
        },
    )
    return directory


def ever_significant(directory: Path, sequential: bool, metric: str | None = None) -> float:
    """Share of experiments whose North Star (or `metric`) was significant on any of the looks."""
    dataset = load_dataset(directory)
    timeline = north_star_timelines(dataset, Settings(sequential=sequential), metric=metric)
    assert timeline.group_by("experiment").len()["len"].unique().to_list() == [DAYS]
    per_exp = timeline.group_by("experiment").agg((pl.col("p_value") < ALPHA).any().alias("hit"))
    return float(per_exp["hit"].mean())


def binomial_ceiling(share: float, runs: int) -> float:
    """Upper 99.9% limit of the share of `runs` draws significant when the true rate is `share`."""
    return float(stats.binom.ppf(0.999, runs, share) / runs)


RUNS = 1_500


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 seeded A/A experiments with 14 daily looks."""
    return aa_portfolio(tmp_path_factory.mktemp("aa"), RUNS, seed=20261122)


@pytest.mark.parametrize("metric", ["value", "converted"])
def test_sequential_peeking_stays_at_alpha(portfolio: Path, metric: str):
    """Always-valid p-values looked at daily: ever-significant share at most α plus noise."""
    share = ever_significant(portfolio, sequential=True, metric=metric)
    assert share <= binomial_ceiling(ALPHA, RUNS)


@pytest.mark.parametrize("metric", ["value", "converted"])
def test_fixed_horizon_peeking_inflates(portfolio: Path, metric: str):
    """Fixed-horizon p-values looked at daily: ever significant far more often than α.

    Armitage, McPherson & Rowe (1969) put 14 equally spaced looks at about 0.20 for α = 0.05;
    anything below 0.12 would mean the looks are not being taken.
    """
    share = ever_significant(portfolio, sequential=False, metric=metric)
    assert share > 0.12
    assert share > binomial_ceiling(ALPHA, RUNS)


def test_final_look_alone_is_calibrated(portfolio: Path):
    """The last day alone, fixed horizon: false-positive rate within binomial noise of α."""
    dataset = load_dataset(portfolio)
    timeline = north_star_timelines(dataset, Settings())
    last = timeline.filter(pl.col("date") == pl.col("date").max())
    rate = float((last["p_value"] < ALPHA).mean())
    low = stats.binom.ppf(0.001, RUNS, ALPHA) / RUNS
    assert low <= rate <= binomial_ceiling(ALPHA, RUNS)


@pytest.mark.slow
def test_peeking_calibration_large(tmp_path: Path):
    """20,000 A/A experiments: the figures quoted in docs/calibration.md."""
    runs = 20_000
    directory = aa_portfolio(tmp_path, runs, seed=7)
    seq = ever_significant(directory, sequential=True)
    fixed = ever_significant(directory, sequential=False)
    print(f"\nA/A, 14 daily looks, {runs} runs: sequential {seq:.4f}, fixed {fixed:.4f}")
    assert seq <= binomial_ceiling(ALPHA, runs)
    assert fixed > 0.12


ASOS_CSV = REPO.parent / "shared/data/asos/asos_digital_experiments_dataset.csv"


def asos_aa(directory: Path, replicates: int, seed: int) -> Path:
    """A/A experiments with ASOS's real daily traffic: each ASOS experiment's control arm gives
    the new units per day (its cumulative counts differenced, per day as nsexp dates them) and
    its final conversion rate of metric 1; both simulated arms draw binomial conversions."""
    raw = pl.read_csv(ASOS_CSV, schema_overrides={"experiment_id": pl.String})
    daily = (
        raw.filter(pl.col("metric_id") == 1)
        .with_columns((pl.col("time_since_start") - 1e-9).ceil().cast(pl.Int64).alias("day"))
        .sort("time_since_start")
        .group_by("experiment_id", "day")
        .agg(pl.col("count_c").last(), pl.col("mean_c").last())
        .sort("experiment_id", "day")
        .with_columns(
            pl.col("count_c")
            .diff()
            .over("experiment_id")
            .fill_null(pl.col("count_c"))
            .alias("new"),
            pl.col("mean_c").last().over("experiment_id").alias("rate"),
        )
        .filter(pl.col("new") > 0)
    )
    rng = np.random.default_rng(seed)
    reps = np.repeat(np.arange(replicates), daily.height)
    base = pl.concat([daily] * replicates).with_columns(pl.Series("rep", reps))
    n = base["new"].to_numpy()
    rate = base["rate"].to_numpy()
    arms = []
    for variant in ("control", "treatment"):
        half = rng.binomial(n, 0.5)  # each new unit is randomised to this arm with p = 1/2
        conv = rng.binomial(half, rate).astype(float)
        arms.append(
            base.select(
                pl.format("{}-{}", "experiment_id", "rep").alias("experiment"),
                pl.lit(variant).alias("variant"),
                (pl.date(2026, 1, 1) + pl.duration(days=pl.col("day"))).alias("date"),
                pl.lit("converted").alias("metric"),
                pl.Series("n", half),
                pl.Series("sum", conv),
                pl.Series("sum_sq", conv),
            ).filter(pl.col("n") > 0)
        )
    pl.concat(arms).write_parquet(directory / "asos_aa.parquet")
    write_toml(
        directory / "metrics.toml",
        {"metrics": {"converted": {"role": "north_star", "type": "proportion"}}},
    )
    return directory


def test_peeking_on_asos_traffic(tmp_path: Path):
    """A/A on ASOS's real traffic and run lengths (up to 131 daily looks), 10 replicates of each
    of the 78 experiments: sequential stays at most α; fixed-horizon looks inflate it."""
    if not ASOS_CSV.is_file():
        reason = f"ASOS dataset not found at {ASOS_CSV}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    directory = asos_aa(tmp_path, replicates=10, seed=3)
    dataset = load_dataset(directory)
    runs = len(dataset.experiments)
    shares = {}
    for sequential in (True, False):
        timeline = north_star_timelines(dataset, Settings(sequential=sequential))
        hit = timeline.group_by("experiment").agg((pl.col("p_value") < ALPHA).any())
        shares[sequential] = float(hit["p_value"].mean())
    print(
        f"\nASOS-traffic A/A, {runs} runs: sequential {shares[True]:.4f}, fixed {shares[False]:.4f}"
    )
    assert shares[True] <= binomial_ceiling(ALPHA, runs)
    assert shares[False] > binomial_ceiling(ALPHA, runs)
