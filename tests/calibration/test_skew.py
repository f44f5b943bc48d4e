"""Skewed metrics in unequal arms (issue 18, item 1): A/A experiments with a small, skewed arm
make false wins under Welch's t; the skewness-corrected test (nsexp.stats.skew) holds them at
about α/2 = 2.5% and keeps the power of a permutation test on the same unit rows.

The default suite runs 2,000 seeded A/A comparisons per design through the statistics
(compare → skewness → corrected); the slow versions run the same designs through files →
load_dataset → build_readout (`north_star_win`), and the power at a true +20% lift against a
permutation test. Figures: docs/calibration.md, "Issue 18"; `-s` prints them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import write_toml

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.arms import ArmSums
from nsexp.stats.compare import compare
from nsexp.stats.skew import corrected, skewness

ALPHA = 0.05
LIMIT = 0.03  # the bound on false wins: α/2 = 2.5% plus simulation noise
DESIGNS = [
    ("lognormal", 40, 2000),
    ("lognormal", 100, 5000),
    ("exponential", 40, 2000),
    ("exponential", 100, 5000),
]


def draw(rng: np.random.Generator, dist: str, shape: tuple[int, int]) -> np.ndarray:
    """Unit values: spend ~ lognormal(0, 1), or exponential(1)."""
    return rng.lognormal(0.0, 1.0, shape) if dist == "lognormal" else rng.exponential(1.0, shape)


def sums(y: np.ndarray) -> ArmSums:
    """Per-run sufficient statistics of a (runs, units) array, third power included."""
    runs, n = y.shape
    nan = np.full(runs, np.nan)
    zero = np.zeros(runs)
    s1, s2, s3 = y.sum(1), (y * y).sum(1), (y**3).sum(1)
    return ArmSums(np.full(runs, float(n)), s1, s2, nan, nan, nan, zero, s1, s2, dev_sum_cu=s3)


def wins(yc: np.ndarray, yt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per run: Welch's t and the corrected test call the treatment significantly better."""
    kind = np.full(yc.shape[0], "mean")
    control, treatment = sums(yc), sums(yt)
    plain = compare(kind, control, treatment, ALPHA)
    fixed = corrected(plain, skewness(kind, control, treatment), ALPHA)
    return (plain.p_value < ALPHA) & (plain.abs_effect > 0), (fixed.p_value < ALPHA) & (
        fixed.abs_effect > 0
    )


@pytest.mark.parametrize(("dist", "n_c", "n_t"), DESIGNS)
def test_corrected_test_holds_false_wins_in_aa(dist: str, n_c: int, n_t: int) -> None:
    rng = np.random.default_rng(18)
    chunks = [wins(draw(rng, dist, (2000, n_c)), draw(rng, dist, (2000, n_t))) for _ in range(5)]
    welch = np.mean([w.mean() for w, _ in chunks])  # 10,000 runs: a binomial SE of 0.16%
    fixed = np.mean([f.mean() for _, f in chunks])
    print(f"A/A {dist} {n_c}/{n_t}: Welch {welch:.4f}, corrected {fixed:.4f}")
    assert welch > LIMIT  # the problem is there to fix
    assert fixed <= LIMIT


def test_equal_arms_are_not_skewed() -> None:
    """Equal arms: the skewness of the difference is 0, Welch's t is kept as it is."""
    rng = np.random.default_rng(3)
    yc, yt = draw(rng, "lognormal", (200, 300)), draw(rng, "lognormal", (200, 300))
    kind = np.full(200, "mean")
    check = skewness(kind, sums(yc), sums(yt))
    assert not check.skewed.any()
    assert np.allclose(check.a, 0.0)


def readout_rows(root: Path, yc: np.ndarray, yt: np.ndarray) -> pl.DataFrame:
    """Unit rows of many experiments (declared split) through files → load_dataset →
    build_readout: the North Star's verdict per experiment."""
    runs, n_c = yc.shape
    n_t = yt.shape[1]
    ids = [f"e{i:05d}" for i in range(runs)]
    pl.DataFrame(
        {
            "experiment": np.concatenate([np.repeat(ids, n_c), np.repeat(ids, n_t)]),
            "variant": ["control"] * (runs * n_c) + ["treatment"] * (runs * n_t),
            "spend": np.concatenate([yc.ravel(), yt.ravel()]),
        }
    ).write_parquet(root / "units.parquet")
    spend = {"label": "Spend", "role": "north_star", "type": "mean", "column": "spend"}
    write_toml(root / "metrics.toml", {"metrics": {"spend": spend}})
    split = {"control": n_c / (n_c + n_t), "treatment": n_t / (n_c + n_t)}
    experiments = {i: {"control": "control", "expected_split": split} for i in ids}
    write_toml(root / "experiments.toml", {"experiments": experiments})
    readout = build_readout(load_dataset(root), Settings(alpha=ALPHA))
    verdicts = [t.verdict for e in readout.experiments.values() for t in e.treatments]
    return pl.DataFrame({"verdict": verdicts})


@pytest.mark.slow
@pytest.mark.parametrize(("dist", "n_c", "n_t"), DESIGNS)
def test_readout_false_wins_in_aa(tmp_path: Path, dist: str, n_c: int, n_t: int) -> None:
    runs = 2000
    rng = np.random.default_rng(2026)
    rows = readout_rows(tmp_path, draw(rng, dist, (runs, n_c)), draw(rng, dist, (runs, n_t)))
    rate = (rows["verdict"] == "north_star_win").mean()
    loss = (rows["verdict"] == "north_star_loss").mean()
    print(f"readout A/A {dist} {n_c}/{n_t}: north_star_win {rate:.4f}, loss {loss:.4f}")
    assert rate <= LIMIT
    assert loss <= LIMIT


def permutation_wins(yc: np.ndarray, yt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two-sided permutation test of the difference of means (999 relabellings), per run:
    significant at α with the treatment ahead."""
    runs, n_c = yc.shape
    y = np.concatenate([yc, yt], 1)
    n_t = yt.shape[1]
    observed = yt.mean(1) - yc.mean(1)
    total = y.sum(1)
    extreme = np.zeros(runs)
    for _ in range(999):
        picked = np.argsort(rng.random(y.shape), axis=1)[:, :n_c]
        control = np.take_along_axis(y, picked, 1).sum(1)
        diff = (total - control) / n_t - control / n_c
        extreme += np.abs(diff) >= np.abs(observed) - 1e-12
    return ((extreme + 1) / 1000 < ALPHA) & (observed > 0)


@pytest.mark.slow
def test_power_at_a_true_lift_matches_a_permutation_test(tmp_path: Path) -> None:
    """100 vs 5,000 lognormal units, true +20% lift: the readout's wins within 10 points of a
    permutation test's on the same unit rows."""
    runs = 400
    rng = np.random.default_rng(20)
    yc, yt = draw(rng, "lognormal", (runs, 100)), 1.2 * draw(rng, "lognormal", (runs, 5000))
    rows = readout_rows(tmp_path, yc, yt)
    power = (rows["verdict"] == "north_star_win").mean()
    reference = permutation_wins(yc, yt, rng).mean()
    print(f"power +20% lognormal 100/5000: readout {power:.4f}, permutation {reference:.4f}")
    assert abs(power - reference) <= 0.10
