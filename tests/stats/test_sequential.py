"""Always-valid intervals: the closed form against a numerically integrated mixture martingale."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import CliRunner, make_units, write_frame, write_metrics
from scipy import integrate, optimize, stats

from nsexp.analysis.methods import methods
from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.analysis.timeline import north_star_timelines
from nsexp.io import load_dataset
from nsexp.stats.sequential import (
    always_valid_p,
    boundary_multiplier,
    sequential_comparison,
    tuned_eta,
)


def mixture_log_lr(s: float, v: float, rho: float) -> float:
    """log ∫ exp(λ s − λ² v / 2) N(λ; 0, 1/rho) dλ by quadrature: the two-sided mixture martingale.

    The integrand is scaled by its peak value so large s does not overflow.
    """

    def log_integrand(lam: float) -> float:
        return lam * s - lam**2 * v / 2 + stats.norm.logpdf(lam, scale=1 / np.sqrt(rho))

    peak = s / (v + rho)  # the integrand's mode, so quad sees the mass
    width = 12 / np.sqrt(v + rho)
    top = log_integrand(peak)
    value, _ = integrate.quad(
        lambda lam: np.exp(log_integrand(lam) - top),
        peak - width,
        peak + width,
        epsabs=0,
        epsrel=1e-12,
    )
    return top + np.log(value)


@pytest.mark.parametrize(
    ("n", "eta", "alpha", "sigma"),
    [(1_000, 126.0, 0.05, 1.0), (50_000, 4_000.0, 0.05, 2.5), (300, 900.0, 0.01, 0.3)],
)
def test_boundary_matches_numerical_mixture(n: float, eta: float, alpha: float, sigma: float):
    """Solve ∫ mixture = 1/α for the sum S with brentq; the half-width in SEs must agree."""
    v = n * sigma**2  # intrinsic time of S = sum of n centred units with sd sigma
    rho = eta * sigma**2
    s_star = optimize.brentq(
        lambda s: mixture_log_lr(s, v, rho) - np.log(1 / alpha), 0, 50 * np.sqrt(v)
    )
    se = sigma / np.sqrt(n)  # of the mean S / n
    numeric = (s_star / n) / se
    assert boundary_multiplier(n, eta, alpha) == pytest.approx(numeric, rel=1e-8)


@pytest.mark.parametrize("z", [0.5, 2.0, 3.3, 4.5])
def test_p_value_is_inverse_mixture(z: float):
    """p = min(1, 1/Λ) with Λ integrated numerically at the observed z."""
    n, eta, sigma = 2_000.0, 300.0, 1.7
    s = z * sigma * np.sqrt(n)
    expected = min(1.0, np.exp(-mixture_log_lr(s, n * sigma**2, eta * sigma**2)))
    assert always_valid_p(z, n, eta) == pytest.approx(expected, rel=1e-8)


def test_p_below_alpha_exactly_when_interval_excludes_zero():
    """The p-value and the interval are the same test: duality on random inputs."""
    rng = np.random.default_rng(3)
    n = rng.integers(100, 100_000, 5_000).astype(float)
    eta = tuned_eta(rng.integers(100, 100_000, 5_000), 0.05)
    z = rng.normal(0, 4, 5_000)
    p = always_valid_p(z, n, eta)
    excludes = np.abs(z) > boundary_multiplier(n, eta, 0.05)
    assert np.array_equal(p < 0.05, excludes)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_tuned_eta_is_near_the_tightest_boundary(alpha: float):
    """The closed-form η is within 0.1% of the width a numerical minimiser finds at n*."""
    n_star = 20_000.0
    best = optimize.minimize_scalar(
        lambda log_eta: boundary_multiplier(n_star, np.exp(log_eta), alpha),
        bounds=(0, 20),
        method="bounded",
        options={"xatol": 1e-10},
    )
    width = boundary_multiplier(n_star, tuned_eta(n_star, alpha), alpha)
    assert best.fun <= width <= best.fun * 1.001


def test_boundary_wider_than_fixed_and_grows_slowly():
    """Always valid costs width: wider than z_{1-α/2}; far from n*, wider still."""
    eta = tuned_eta(10_000, 0.05)
    mult = boundary_multiplier(np.array([1e3, 1e4, 1e5]), eta, 0.05)
    assert np.all(mult > stats.norm.ppf(0.975))
    assert mult[1] < mult[0] and mult[1] < mult[2]


def test_sequential_comparison_keeps_estimates(data_dir: Path):
    """Sequential readout: same effects and SEs, wider intervals, larger p-values."""
    dataset = load_dataset(data_dir)
    fixed = build_readout(dataset, Settings()).results
    seq = build_readout(dataset, Settings(sequential=True)).results
    assert np.allclose(seq["abs_effect"], fixed["abs_effect"])
    assert np.allclose(seq["rel_effect"], fixed["rel_effect"], equal_nan=True)
    assert (
        seq["abs_ci_high"] - seq["abs_ci_low"] > fixed["abs_ci_high"] - fixed["abs_ci_low"]
    ).all()
    assert (seq["p_value"] >= fixed["p_value"] - 1e-15).all()


def test_readout_matches_hand_formula(tmp_path: Path):
    """North Star p and CI from scipy's Welch statistic and the mixture formula written out, η
    tuned to the default planned sample."""
    units = make_units(5, {"control": 3000, "treatment": 3000}, {"treatment": {"lessons": 1.06}})
    write_frame(units, tmp_path / "exp.csv")
    write_metrics(tmp_path)
    row = (
        build_readout(load_dataset(tmp_path), Settings(sequential=True))
        .results.filter(pl.col("metric") == "lessons")
        .row(0, named=True)
    )
    t = units.filter(pl.col("variant") == "treatment")["lessons"].to_numpy()
    c = units.filter(pl.col("variant") == "control")["lessons"].to_numpy()
    welch = stats.ttest_ind(t, c, equal_var=False)
    se = np.sqrt(t.var(ddof=1) / t.size + c.var(ddof=1) / c.size)
    n = t.size + c.size
    # tuned to GrowthBook's default planned sample of 5,000 units (no planned_units given)
    eta = 5000 / (2 * np.log(20) + np.log(1 + 2 * np.log(20)))
    p = min(1.0, np.sqrt((n + eta) / eta) * np.exp(-(welch.statistic**2) * n / (2 * (n + eta))))
    half = se * np.sqrt((1 + eta / n) * np.log((1 + n / eta) * 400))
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert row["abs_ci_low"] == pytest.approx(t.mean() - c.mean() - half, rel=1e-9)
    assert row["abs_ci_high"] == pytest.approx(t.mean() - c.mean() + half, rel=1e-9)


def test_planned_sample_changes_tuning(data_dir: Path):
    """sequential_n fixes η; the methods text says which tuning was used."""
    dataset = load_dataset(data_dir)
    a = build_readout(dataset, Settings(sequential=True, sequential_n=500))
    b = build_readout(dataset, Settings(sequential=True))
    assert not np.allclose(a.results["abs_ci_low"], b.results["abs_ci_low"])
    assert any("planned 500 units" in m for m in methods(a.settings))
    assert not any("Sequential" in m for m in methods(Settings()))


def test_comparison_with_zero_variance_keeps_p():
    """No variation in either arm: the fixed-horizon convention (p 1 or 0) is kept."""
    from nsexp.stats.arms import ArmSums
    from nsexp.stats.compare import compare

    def arm(n: float, total: float) -> ArmSums:
        nan = np.array([np.nan])
        return ArmSums(np.array([n]), np.array([total]), np.array([total]), nan, nan, nan)

    kind = np.array(["proportion"])
    fixed = compare(kind, arm(10, 10), arm(10, 10), 0.05)
    seq = sequential_comparison(fixed, np.array([20.0]), 0.05, 20.0)
    assert seq.p_value[0] == 1.0


def test_timeline_sequential_last_date_matches_readout(tmp_path: Path):
    """The always-valid timeline's last entry is the sequential readout's North Star."""
    frames = [
        make_units(s, {"control": 900, "treatment": 900}, experiment=f"e{s}", days=10)
        for s in range(3)
    ]
    write_frame(pl.concat(frames), tmp_path / "all.parquet")
    write_metrics(tmp_path)
    dataset = load_dataset(tmp_path)
    settings = Settings(sequential=True)
    readout = build_readout(dataset, settings)
    timeline = north_star_timelines(dataset, settings)
    assert timeline["experiment"].n_unique() == 3
    for (eid,), part in timeline.partition_by("experiment", as_dict=True).items():
        last = part.sort("date").row(-1, named=True)
        ns = readout.experiments[eid].treatment("treatment").north_star
        assert last["rel_ci_low"] == pytest.approx(ns.rel_ci_low, rel=1e-12)
        assert last["p_value"] == pytest.approx(ns.p_value, rel=1e-12)


def test_cli_sequential_json_has_timelines(tmp_path: Path, run_cli: CliRunner):
    """`--sequential --format json`: settings say so, every comparison has its timeline."""
    write_frame(make_units(2, {"control": 800, "b": 700, "c": 750}, days=7), tmp_path / "x.csv")
    write_metrics(tmp_path)
    code, out, _ = run_cli("readout", tmp_path, "--sequential", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["settings"]["sequential"] is True
    comparisons = doc["experiments"][0]["comparisons"]
    assert len(comparisons) == 2
    for comp in comparisons:
        timeline = comp["north_star_timeline"]
        assert len(timeline) == 7
        assert set(timeline[0]) == {
            "date",
            "n_control",
            "n_treatment",
            "rel_effect",
            "rel_ci_low",
            "rel_ci_high",
            "p_value",
            # the figures that decide, as the readout up to that date quotes them (issue 20)
            "p_adjusted",
            "rel_ci_adj_low",
            "rel_ci_adj_high",
            "rel_post_mean",
            "rel_cred_low",
            "rel_cred_high",
            "engine",
        }
        assert [e["n_control"] for e in timeline] == sorted(e["n_control"] for e in timeline)


def test_json_without_dates_has_no_timeline(data_dir: Path, run_cli: CliRunner):
    """Undated data: no north_star_timeline key (there is nothing to plot)."""
    code, out, _ = run_cli("readout", data_dir, "--format", "json")
    assert code == 0
    assert all(
        "north_star_timeline" not in c
        for e in json.loads(out)["experiments"]
        for c in e["comparisons"]
    )


def test_cli_rejects_bad_sequential_n(data_dir: Path, run_cli: CliRunner):
    """A planned sample of 1 is bad input: one error line, exit 2."""
    code, _, err = run_cli("readout", data_dir, "--sequential", "--sequential-n", "1")
    assert code == 2
    assert err.startswith("error:") and "sequential_n" in err


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_sequential_adjusted_intervals_agree_with_adjusted_p(tmp_path: Path, correction: str):
    """--sequential: an adjusted interval excludes zero exactly when p_adjusted < alpha."""
    frames = [
        make_units(
            s,
            {"control": 900, "b": 900, "c": 900},
            {"b": {"clicks": 1.1, "lessons": 1.06}, "c": {"errors": 1.5}},
            experiment=f"e{s}",
        )
        for s in range(6)
    ]
    write_frame(pl.concat(frames), tmp_path / "all.parquet")
    write_metrics(tmp_path)
    settings = Settings(sequential=True, correction=correction)
    results = build_readout(load_dataset(tmp_path), settings).results.drop_nulls("p_adjusted")
    significant = (results["p_adjusted"] < 0.05).to_numpy()
    assert 0 < significant.sum() < results.height
    for pre in ("abs", "rel"):
        low, high = results[f"{pre}_ci_adj_low"], results[f"{pre}_ci_adj_high"]
        excludes = ((low > 0) | (high < 0)).to_numpy()
        assert np.array_equal(excludes, significant)
        plain = results[f"{pre}_ci_high"] - results[f"{pre}_ci_low"]
        assert ((high - low) >= plain * (1 - 1e-12)).to_numpy()[~significant].all()


def test_sequential_flat_uses_the_always_valid_interval(tmp_path: Path):
    """Under --sequential the equivalence interval is the (1 − 2α) confidence sequence: wider
    than the fixed one, and `flat` is judged on it."""
    write_frame(make_units(9, {"control": 20_000, "treatment": 20_000}), tmp_path / "a.parquet")
    write_metrics(tmp_path)
    dataset = load_dataset(tmp_path)
    fixed = build_readout(dataset, Settings()).results
    seq = build_readout(dataset, Settings(sequential=True)).results
    n = (seq["n_control"] + seq["n_treatment"]).to_numpy().astype(float)
    eta = 5000 / (2 * np.log(20) + np.log(1 + 2 * np.log(20)))  # the default planned sample
    half = seq["rel_se"].to_numpy() * np.sqrt((1 + eta / n) * np.log((1 + n / eta) / 0.1**2))
    assert np.allclose(seq["equivalence_ci_high"] - seq["rel_effect"], half, rtol=1e-12)
    inside = (seq["equivalence_ci_low"] > -seq["practical_threshold"]) & (
        seq["equivalence_ci_high"] < seq["practical_threshold"]
    )
    assert (seq["flat"] == (inside & ~seq["significant"])).all()
    wider = (seq["equivalence_ci_high"] - seq["equivalence_ci_low"]) > (
        fixed["equivalence_ci_high"] - fixed["equivalence_ci_low"]
    )
    assert wider.all()
    assert (~seq["flat"] | fixed["flat"]).all()  # flat when sequential implies flat when fixed
