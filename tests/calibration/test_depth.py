"""Calibration with known truth for CUPED, power (MDE), the Bayesian engine and the bootstrap.

Each test simulates many seeded experiments at once and checks a rate or a mean against its
theoretical value, with a band of about 4 standard errors of the simulation (99.99%), computed
from the number of runs, never from nsexp's output. Figures are recorded in docs/calibration.md;
`-s` prints them. The @slow versions repeat with more runs (`make bench`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import write_frame, write_metrics
from scipy import stats

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.stats.arms import ArmSums
from nsexp.stats.bayes import PRIOR_SD, posterior
from nsexp.stats.bootstrap import relative_lift_interval
from nsexp.stats.compare import compare
from nsexp.stats.cuped import CovSums, cuped_compare

ALPHA = 0.05


def _arm(y: np.ndarray, x: np.ndarray | None = None) -> tuple[ArmSums, CovSums]:
    """Per-run sufficient statistics of (runs, units) arrays."""
    runs, n = y.shape
    nan = np.full(runs, np.nan)
    arm = ArmSums(np.full(runs, float(n)), y.sum(1), (y * y).sum(1), nan, nan, nan)
    if x is None:
        return arm, CovSums(nan, nan, nan)
    return arm, CovSums(x.sum(1), (x * x).sum(1), (x * y).sum(1))


def _cuped_aa(runs: int, n: int, rho: float, seed: int) -> dict[str, float]:
    """A/A runs with a covariate of correlation rho; figures of the adjusted and plain tests."""
    rng = np.random.default_rng(seed)
    arms = []
    for _ in range(2):
        x = rng.normal(0, 1, (runs, n))
        y = 10 + 2 * (rho * x + np.sqrt(1 - rho**2) * rng.normal(0, 1, (runs, n)))
        arms.append(_arm(y, 3 + x))
    (c, cc), (t, tc) = arms
    kind = np.full(runs, "mean")
    res = cuped_compare(kind, c, t, cc, tc, ALPHA)
    plain = compare(kind, c, t, ALPHA)
    adj = res.comparison
    return {
        "mean_effect_in_se": float(adj.abs_effect.mean() / adj.abs_effect.std()),
        "false_positive_rate": float((adj.p_value < ALPHA).mean()),
        "coverage": float(((adj.abs_ci_low < 0) & (adj.abs_ci_high > 0)).mean()),
        "variance_ratio": float(adj.abs_effect.var() / plain.abs_effect.var()),
        "mean_variance_reduction": float(res.variance_reduction.mean()),
        "sd_variance_reduction": float(res.variance_reduction.std()),
    }


def _check_cuped(fig: dict[str, float], runs: int, n: int, rho: float) -> None:
    band = 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)
    assert abs(fig["mean_effect_in_se"]) < 4 / np.sqrt(runs)  # unbiased
    assert abs(fig["false_positive_rate"] - ALPHA) < band
    assert abs(fig["coverage"] - (1 - ALPHA)) < band
    # Ratio of two variances over `runs` runs: each log-variance has sd sqrt(2 / runs).
    assert abs(np.log(fig["variance_ratio"] / (1 - rho**2))) < 4 * np.sqrt(4 / runs)
    # Reported reduction: 4 simulation SEs plus the O(1/n) small-sample bias of rho-hat^2.
    tol = 4 * fig["sd_variance_reduction"] / np.sqrt(runs) + 2 / n
    assert abs(fig["mean_variance_reduction"] - rho**2) < tol


@pytest.mark.parametrize("rho", [0.3, 0.63])
def test_cuped_aa_unbiased_and_reduces_variance_by_rho_squared(rho: float) -> None:
    runs, n = 2_000, 400
    fig = _cuped_aa(runs, n, rho, seed=20261122)
    print(f"CUPED A/A rho={rho}: {fig}")
    _check_cuped(fig, runs, n, rho)


@pytest.mark.slow
def test_cuped_aa_large() -> None:
    runs, n, rho = 10_000, 1_000, 0.63
    fig = _cuped_aa(runs, n, rho, seed=7)
    print(f"CUPED A/A large rho={rho}: {fig}")
    _check_cuped(fig, runs, n, rho)


def _detection_rate(tmp_path: Path, runs: int, seed: int) -> tuple[float, float]:
    """MDE from a readout of one pilot dataset, then the share of A/B runs at that effect that
    the same test detects (two-sided, alpha): about the 80% power promised."""
    rng = np.random.default_rng(seed)
    n, shape, scale = 1_500, 2.0, 2.5  # skewed, like lessons per learner
    pilot = pl.DataFrame(
        {
            "variant": ["control"] * n + ["treatment"] * n,
            "lessons": rng.gamma(shape, scale, 2 * n),
        }
    )
    write_frame(pilot, tmp_path / "pilot.parquet")
    write_metrics(tmp_path, {"lessons": {"role": "north_star", "type": "mean"}})
    row = build_readout(load_dataset(tmp_path)).results.row(0, named=True)
    mde = row["mde"]
    mean = shape * scale
    c = rng.gamma(shape, scale, (runs, n))
    # The treatment shifts every unit by the MDE (same spread), the setting the formula assumes.
    t = rng.gamma(shape, scale, (runs, n)) + mde * mean
    res = compare(np.full(runs, "mean"), _arm(c)[0], _arm(t)[0], ALPHA)
    # The pilot's estimated SE carries sampling error; the promise holds for the true SE.
    true_se = np.sqrt(2 * shape * scale**2 / n)
    expected = stats.norm.sf(stats.norm.isf(ALPHA / 2) - mde * mean / true_se)
    return float((res.p_value < ALPHA).mean()), float(expected)


def test_effect_at_the_readout_mde_is_detected_about_80_percent(tmp_path: Path) -> None:
    runs = 2_000
    rate, expected = _detection_rate(tmp_path, runs, seed=20261122)
    print(f"MDE detection: {rate:.4f} (power at the true SE {expected:.4f})")
    assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / runs)
    assert abs(expected - 0.8) < 0.05  # the pilot's SE is within a few % of the truth


@pytest.mark.slow
def test_mde_detection_large(tmp_path: Path) -> None:
    runs = 20_000
    rate, expected = _detection_rate(tmp_path, runs, seed=7)
    print(f"MDE detection large: {rate:.4f} (power at the true SE {expected:.4f})")
    assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / runs)


def test_chance_to_win_is_calibrated_when_lifts_come_from_the_prior() -> None:
    """Draw true lifts from the prior and estimates around them: among runs with chance to win
    near q, the lift is positive in a share q of them (Bayesian calibration with known truth)."""
    rng = np.random.default_rng(20261122)
    runs = 200_000
    se = rng.uniform(0.05, 0.4, runs)
    truth = rng.normal(0, PRIOR_SD, runs)
    rel = truth + rng.normal(0, se)
    post = posterior(rel, se, np.ones(runs), ALPHA)
    bins = np.digitize(post.chance_to_win, np.linspace(0.1, 0.9, 9))
    for b in range(10):
        inside = bins == b
        q = post.chance_to_win[inside].mean()
        won = (truth[inside] > 0).mean()
        assert abs(won - q) < 4 * np.sqrt(q * (1 - q) / inside.sum()), (b, q, won)
    loss = np.maximum(-truth, 0).mean()
    assert post.expected_loss.mean() == pytest.approx(loss, abs=4 * truth.std() / np.sqrt(runs))
    covered = ((post.cred_low < truth) & (truth < post.cred_high)).mean()
    assert abs(covered - (1 - ALPHA)) < 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)
    print(f"Bayes: credible coverage {covered:.4f}, mean loss {post.expected_loss.mean():.5f}")


def test_bayesian_aa_false_win_rate_is_at_most_alpha() -> None:
    rng = np.random.default_rng(11)
    runs, n = 4_000, 500
    c = rng.gamma(2.0, 2.5, (runs, n))
    t = rng.gamma(2.0, 2.5, (runs, n))
    res = compare(np.full(runs, "mean"), _arm(c)[0], _arm(t)[0], ALPHA)
    post = posterior(res.rel_effect, res.rel_se, np.ones(runs), ALPHA)
    decided = (post.chance_to_win > 1 - ALPHA / 2) | (post.chance_to_win < ALPHA / 2)
    rate = decided.mean()
    print(f"Bayesian A/A decided rate {rate:.4f}")
    assert rate < ALPHA + 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)


def _bootstrap_coverage(runs: int, seed: int, n_boot: int, n: int) -> float:
    """A/A on log-normal (heavy-tailed) data: share of percentile intervals covering 0."""
    rng = np.random.default_rng(seed)
    covered = 0
    for k in range(runs):
        c = rng.lognormal(0, 1.2, (n, 1))
        t = rng.lognormal(0, 1.2, (n, 1))
        ci = relative_lift_interval(c, t, n_boot, ALPHA, [seed, k])
        covered += int(ci.low[0] < 0 < ci.high[0])
    return covered / runs


def test_bootstrap_interval_covers_about_95_percent() -> None:
    runs = 200
    rate = _bootstrap_coverage(runs, seed=20261122, n_boot=200, n=500)
    print(f"Bootstrap A/A coverage (log-normal sigma 1.2, n=500): {rate:.4f}")
    assert abs(rate - (1 - ALPHA)) < 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)


@pytest.mark.slow
def test_bootstrap_coverage_large() -> None:
    runs = 1_000
    rate = _bootstrap_coverage(runs, seed=7, n_boot=500, n=2_000)
    print(f"Bootstrap A/A coverage large: {rate:.4f}")
    assert abs(rate - (1 - ALPHA)) < 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)


def _guardrail_runs(runs: int, worse_by: float, seed: int) -> tuple[float, float]:
    """Share of runs whose guardrail (a rate where lower is better) is declared safe, and the
    mean reported power, when the treatment truly raises the rate by `worse_by` (relative)."""
    from nsexp.stats.noninferiority import non_inferiority

    rng = np.random.default_rng(seed)
    n, rate, margin = 20_000, 0.05, 0.15
    conv_c = rng.binomial(n, rate, runs).astype(float)
    conv_t = rng.binomial(n, rate * (1 + worse_by), runs).astype(float)
    nan = np.full(runs, np.nan)
    size = np.full(runs, float(n))
    arm_c = ArmSums(size, conv_c, conv_c, nan, nan, nan)
    arm_t = ArmSums(size, conv_t, conv_t, nan, nan, nan)
    res = compare(np.full(runs, "proportion"), arm_c, arm_t, ALPHA)
    ni = non_inferiority(
        res.rel_effect, res.rel_se, res.df, -np.ones(runs), np.full(runs, margin), ALPHA
    )
    return float(ni.safe.mean()), float(ni.power.mean())


def test_guardrail_non_inferiority_error_rate_and_power() -> None:
    runs = 4_000
    band = 4 * np.sqrt(ALPHA * (1 - ALPHA) / runs)
    at_margin, _ = _guardrail_runs(runs, 0.15, seed=20261122)
    assert abs(at_margin - ALPHA) < band  # truly worse by the margin: "safe" only ~alpha
    at_zero, power = _guardrail_runs(runs, 0.0, seed=20261123)
    assert abs(at_zero - power) < 4 * np.sqrt(power * (1 - power) / runs)
    print(
        f"Guardrail NI: safe at the margin {at_margin:.4f}; at 0 {at_zero:.4f} (power {power:.4f})"
    )
