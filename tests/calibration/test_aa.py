"""A/A calibration: with no true effect, the uncorrected tests reject at about alpha, the
intervals cover zero at about 1 - alpha, and Holm keeps the family-wise error at most alpha.

Bands are 3 binomial standard errors around alpha (or 1 - alpha); they are not widened.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from helpers import METRICS, write_metrics

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.arms import ArmSums
from nsexp.stats.compare import compare
from nsexp.stats.multiplicity import adjust

ALPHA = 0.05
KINDS = ("mean", "proportion", "ratio")


def band(rate: float, trials: int) -> tuple[float, float]:
    """rate +- 3 binomial standard errors."""
    half = 3 * math.sqrt(rate * (1 - rate) / trials)
    return rate - half, rate + half


def draw_arm(rng: np.random.Generator, kind: str, k: int, n: int) -> ArmSums:
    """k independent arms of n units each from the same population, summed per arm."""
    if kind == "mean":
        y = rng.gamma(2.0, 2.5, (k, n))  # skewed, like most engagement metrics
        x = np.ones_like(y)
    elif kind == "proportion":
        y = (rng.random((k, n)) < 0.3).astype(float)
        x = np.ones_like(y)
    else:
        x = rng.poisson(3.0, (k, n)) + 1.0
        y = x * rng.gamma(3.0, 2.0, (k, n))
    is_ratio = kind == "ratio"
    nan = np.full(k, np.nan)
    return ArmSums(
        n=np.full(k, float(n)),
        sum=y.sum(axis=1),
        sum_sq=(y * y).sum(axis=1),
        den_sum=x.sum(axis=1) if is_ratio else nan,
        den_sum_sq=(x * x).sum(axis=1) if is_ratio else nan,
        num_den_sum=(x * y).sum(axis=1) if is_ratio else nan,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_pure_stats_false_positive_rate_and_coverage(kind: str) -> None:
    """4000 A/A comparisons of 400 vs 400 units, vectorised through compare()."""
    k, n = 4000, 400
    rng = np.random.default_rng({"mean": 1, "proportion": 2, "ratio": 3}[kind])
    control, treatment = draw_arm(rng, kind, k, n), draw_arm(rng, kind, k, n)
    res = compare(np.full(k, kind), control, treatment, ALPHA)
    low, high = band(ALPHA, k)
    fpr = float(np.mean(res.p_value < ALPHA))
    assert low <= fpr <= high, fpr
    cover_low, cover_high = band(1 - ALPHA, k)
    abs_cover = float(np.mean((res.abs_ci_low <= 0) & (res.abs_ci_high >= 0)))
    rel_cover = float(np.mean((res.rel_ci_low <= 0) & (res.rel_ci_high >= 0)))
    assert cover_low <= abs_cover <= cover_high, abs_cover
    assert cover_low <= rel_cover <= cover_high, rel_cover


def aa_frame(seed: int, experiments: int, n: int) -> pl.DataFrame:
    """Unit rows of many A/A experiments with three identical arms, in one frame."""
    rng = np.random.default_rng(seed)
    arms = ("control", "a", "b")
    total = experiments * len(arms) * n
    sessions = rng.poisson(3.0, total) + 1
    return pl.DataFrame(
        {
            "experiment": np.repeat([f"aa{i:04d}" for i in range(experiments)], len(arms) * n),
            "variant": np.tile(np.repeat(arms, n), experiments),
            "lessons": rng.gamma(2.0, 2.5, total),
            "retained": rng.random(total) < 0.4,
            "minutes": sessions * rng.gamma(3.0, 2.0, total),
            "sessions": sessions,
            "clicks": rng.poisson(3.0, total).astype(float),
            "errors": (rng.random(total) < 0.1).astype(np.int64),
        }
    )


@pytest.fixture(scope="module")
def aa_readouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Readout]:
    """400 three-arm A/A experiments (500 units per arm) through the full path, per correction."""
    root = tmp_path_factory.mktemp("aa")
    aa_frame(2026, 400, 500).write_parquet(root / "aa.parquet")
    write_metrics(root)
    dataset = load_dataset(root)
    return {
        c: build_readout(dataset, Settings(alpha=ALPHA, correction=c)) for c in ("none", "holm")
    }


@pytest.mark.parametrize("metric", list(METRICS))
def test_full_path_false_positive_rate_and_coverage(
    aa_readouts: dict[str, Readout], metric: str
) -> None:
    rows = aa_readouts["none"].results.filter(pl.col("metric") == metric)
    assert rows.height == 800  # 400 experiments x 2 treatments
    low, high = band(ALPHA, rows.height)
    fpr = rows.select((pl.col("p_value") < ALPHA).mean()).item()
    assert low <= fpr <= high, fpr
    cover_low, cover_high = band(1 - ALPHA, rows.height)
    for lo, hi in (("abs_ci_low", "abs_ci_high"), ("rel_ci_low", "rel_ci_high")):
        cover = rows.select(((pl.col(lo) <= 0) & (pl.col(hi) >= 0)).mean()).item()
        assert cover_low <= cover <= cover_high, (lo, cover)


def test_srm_rarely_fires_on_equal_splits(aa_readouts: dict[str, Readout]) -> None:
    """Equal arms by construction: no experiment may show a mismatch at p < 0.001."""
    assert not any(e.srm.mismatch for e in aa_readouts["none"].experiments.values())


def test_holm_keeps_family_wise_error_at_most_alpha(aa_readouts: dict[str, Readout]) -> None:
    """Per experiment, the 'other metrics' family holds 8 tests (4 metrics x 2 treatments)."""
    fwer = {}
    for correction, readout in aa_readouts.items():
        per_exp = (
            readout.results.filter(pl.col("role") != "north_star")
            .group_by("experiment")
            .agg(pl.col("significant").any(), pl.len())
        )
        assert per_exp["len"].unique().to_list() == [8]
        fwer[correction] = per_exp["significant"].mean()
    experiments = len(aa_readouts["holm"].experiments)
    assert fwer["holm"] <= band(ALPHA, experiments)[1], fwer
    assert fwer["none"] > band(ALPHA, experiments)[1], fwer  # uncorrected, the family errs
    # no false winners: with Holm, verdicts are flat or inconclusive almost everywhere
    verdicts = [t.verdict for e in aa_readouts["holm"].experiments.values() for t in e.treatments]
    bad = sum(v not in ("flat", "inconclusive") for v in verdicts)
    assert bad / len(verdicts) <= band(2 * ALPHA, len(verdicts))[1]


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_corrections_on_independent_families(method: str) -> None:
    """10 000 families of 6 independent null p-values: FWER (= FDR under the null) <= alpha."""
    rng = np.random.default_rng(7)
    families, size = 10_000, 6
    p = rng.random(families * size)
    family = np.repeat(np.arange(families), size).astype(str)
    adjusted = adjust(p, family, method)
    rejected = (adjusted < ALPHA).reshape(families, size).any(axis=1)
    assert rejected.mean() <= band(ALPHA, families)[1]
    assert rejected.mean() >= band(ALPHA, families)[0]  # and near it: these are not conservative
