"""CUPED, capping, bootstrap, Bayesian engine and guardrail status through the whole readout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import METRICS, CliRunner, make_units, write_frame, write_metrics

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import Dataset, load_dataset

CATALOG: dict[str, dict[str, Any]] = {
    **METRICS,
    "lessons": {**METRICS["lessons"], "covariate": "lessons_pre"},
    "clicks": {**METRICS["clicks"], "cap_quantile": 0.99},
    "errors": {**METRICS["errors"], "non_inferiority_margin": 0.5},
}


def _units(seed: int = 3, days: int = 0) -> pl.DataFrame:
    frame = make_units(
        seed, {"control": 3000, "treatment": 3000}, {"treatment": {"lessons": 1.04}}, days=days
    )
    rng = np.random.default_rng(seed + 100)
    # A pre-period covariate correlated with lessons (shared component) for both arms.
    pre = frame["lessons"].to_numpy() * 0.9 + rng.gamma(2.0, 2.5, frame.height)
    return frame.with_columns(pl.Series("lessons_pre", pre))


@pytest.fixture
def depth_dir(tmp_path: Path) -> Path:
    """One unit-level experiment with a covariate, a capped metric and a guardrail margin."""
    write_frame(_units(), tmp_path / "exp.parquet")
    write_metrics(tmp_path, CATALOG)
    return tmp_path


def _row(readout: Any, metric: str) -> dict[str, Any]:
    return readout.results.filter(pl.col("metric") == metric).row(0, named=True)


def test_cuped_on_by_default_and_off_on_request(depth_dir: Path) -> None:
    data = load_dataset(depth_dir)
    on = _row(build_readout(data), "lessons")
    off = _row(build_readout(data, Settings(cuped=False)), "lessons")
    assert 0.1 < on["variance_reduction"] < 0.9
    assert off["variance_reduction"] is None
    ratio = ((on["abs_ci_high"] - on["abs_ci_low"]) / (off["abs_ci_high"] - off["abs_ci_low"])) ** 2
    assert ratio == pytest.approx(1 - on["variance_reduction"], rel=0.02)  # df differ slightly
    assert _row(build_readout(data), "clicks")["variance_reduction"] is None


def test_summary_rows_with_covariate_sums_give_the_same_cuped_result(
    depth_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    units = _units()
    y, x = pl.col("lessons"), pl.col("lessons_pre")
    summary = units.group_by("variant").agg(
        pl.lit("lessons").alias("metric"),
        pl.len().alias("n"),
        y.sum().alias("sum"),
        (y * y).sum().alias("sum_sq"),
        x.sum().alias("cov_sum"),
        (x * x).sum().alias("cov_sum_sq"),
        (x * y).sum().alias("num_cov_sum"),
    )
    other = tmp_path_factory.mktemp("summary")
    write_frame(summary.with_columns(pl.lit("exp").alias("experiment")), other / "exp.csv")
    write_metrics(other, {"lessons": CATALOG["lessons"]})
    from_summary = _row(build_readout(load_dataset(other)), "lessons")
    from_units = _row(build_readout(load_dataset(depth_dir)), "lessons")
    for key in ("abs_effect", "abs_ci_low", "rel_effect", "rel_ci_high", "variance_reduction"):
        assert from_summary[key] == pytest.approx(from_units[key], rel=1e-9)


def test_cap_quantile_winsorises_at_the_pooled_quantile(depth_dir: Path) -> None:
    units = _units()
    clicks = units["clicks"].to_numpy()
    cap = np.quantile(clicks, 0.99)  # numpy's default linear interpolation, both arms pooled
    capped = np.minimum(clicks, cap)
    control = capped[units["variant"].to_numpy() == "control"]
    row = load_dataset(depth_dir).summary.filter(
        (pl.col("metric") == "clicks") & (pl.col("variant") == "control")
    )
    assert row["sum"].item() == pytest.approx(control.sum(), rel=1e-12)
    assert row["sum_sq"].item() == pytest.approx((control**2).sum(), rel=1e-12)


def test_bootstrap_interval_sits_beside_the_analytic_one(depth_dir: Path) -> None:
    data = load_dataset(depth_dir)
    first = build_readout(data, Settings(bootstrap=500, seed=4))
    again = build_readout(data, Settings(bootstrap=500, seed=4))
    for metric in ("lessons", "clicks"):
        row = _row(first, metric)
        assert row["rel_ci_boot_low"] == _row(again, metric)["rel_ci_boot_low"]
        width = row["rel_ci_high"] - row["rel_ci_low"]
        assert abs(row["rel_ci_boot_low"] - row["rel_ci_low"]) < 0.15 * width
        assert abs(row["rel_ci_boot_high"] - row["rel_ci_high"]) < 0.15 * width
    assert _row(first, "retained")["rel_ci_boot_low"] is None  # proportions: analytic only


def test_bayesian_engine_decides_on_chance_to_win(depth_dir: Path) -> None:
    readout = build_readout(load_dataset(depth_dir), Settings(engine="bayesian"))
    rows = readout.results.to_dicts()
    for row in rows:
        decided = row["chance_to_win"] > 0.975 or row["chance_to_win"] < 0.025
        assert row["significant"] == decided
    reasons = " ".join(r.text for r in readout.experiments["exp"].treatments[0].reasons)
    assert "chance to win" in reasons


def test_guardrail_status_and_power(depth_dir: Path) -> None:
    row = _row(build_readout(load_dataset(depth_dir)), "errors")
    assert row["guardrail_status"] in ("safe", "unproven")
    assert 0 < row["guardrail_power"] < 1
    assert _row(build_readout(load_dataset(depth_dir)), "lessons")["guardrail_status"] is None


def test_north_star_win_names_guardrails_not_shown_safe(tmp_path: Path) -> None:
    frame = make_units(8, {"control": 4000, "treatment": 4000}, {"treatment": {"lessons": 1.1}})
    write_frame(frame, tmp_path / "exp.parquet")
    write_metrics(
        tmp_path, {**METRICS, "errors": {**METRICS["errors"], "non_inferiority_margin": 0.01}}
    )
    t = build_readout(load_dataset(tmp_path)).experiments["exp"].treatments[0]
    assert t.verdict == "north_star_win"
    assert any("errors is not shown safe" in r.text for r in t.reasons)


def test_days_needed_uses_daily_traffic(tmp_path: Path) -> None:
    write_frame(_units(days=10), tmp_path / "exp.parquet")
    write_metrics(tmp_path, CATALOG)
    row = _row(build_readout(load_dataset(tmp_path), Settings(cuped=False)), "clicks")
    arm = min(row["n_control"], row["n_treatment"])
    # make_units spreads dates uniformly over 10 days; the control arm has 3000 units.
    expected = np.ceil(max(row["units_needed"] - arm, 0) / (3000 / 10))
    assert row["days_needed"] == expected
    assert row["mde"] > 0


@pytest.mark.parametrize(
    ("metric", "extra", "message"),
    [
        ("minutes_per_session", {"covariate": "x"}, "covariate is set on a ratio metric"),
        ("retained", {"cap_quantile": 0.99}, "cap_quantile is set on a proportion"),
        ("clicks", {"cap_quantile": 1.5}, "is not a quantile"),
        ("clicks", {"non_inferiority_margin": 0.1}, "non_inferiority_margin is set on a vanity"),
        ("errors", {"non_inferiority_margin": -0.1}, "is not a relative effect"),
    ],
)
def test_bad_depth_keys_are_input_errors(
    tmp_path: Path, run_cli: CliRunner, metric: str, extra: dict[str, Any], message: str
) -> None:
    write_frame(_units(), tmp_path / "exp.parquet")
    write_metrics(tmp_path, {**METRICS, metric: {**METRICS[metric], **extra}})
    with pytest.raises(InputError, match=message):
        load_dataset(tmp_path)
    code, _, err = run_cli("readout", tmp_path)
    assert code == 2 and err.startswith("error:") and "metrics.toml" in err


def test_cli_flags_and_json_fields(depth_dir: Path, run_cli: CliRunner) -> None:
    code, out, _ = run_cli(
        "readout", depth_dir, "--format", "json", "--engine", "bayesian", "--bootstrap", "200"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["settings"]["engine"] == "bayesian"
    metric = doc["experiments"][0]["comparisons"][0]["metrics"][0]
    for field in (
        "chance_to_win",
        "expected_loss",
        "variance_reduction",
        "mde",
        "rel_ci_adj_low",
        "abs_ci_adj_high",
        "rel_ci_boot_low",
    ):
        assert metric[field] is not None, field
    comparison = doc["experiments"][0]["comparisons"][0]
    assert comparison["north_star_mde"] > 0 and "north_star_days_needed" in comparison
    code, out, _ = run_cli("readout", depth_dir, "--format", "json", "--no-cuped")
    assert (
        json.loads(out)["experiments"][0]["comparisons"][0]["metrics"][0]["variance_reduction"]
        is None
    )
    assert run_cli("readout", depth_dir, "--bootstrap", "5")[0] == 2
    assert run_cli("readout", depth_dir, "--engine", "magic")[0] == 2


def test_plan_command(run_cli: CliRunner) -> None:
    code, out, _ = run_cli(
        "plan",
        "--proportion",
        "0.2",
        "--daily-units",
        "1000",
        "--effect",
        "0.05",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out)["units_per_arm"] > 0
    code, _, err = run_cli("plan", "--baseline-mean", "5", "--daily-units", "10", "--effect", "0.1")
    assert code == 2 and err.startswith("error:") and "--baseline-variance" in err


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Dataset:
    """The committed demo portfolio, loaded once."""
    return demo_dataset


@pytest.mark.parametrize(
    "settings", [Settings(), Settings(correction="bh", cuped=False), Settings(sequential=True)]
)
def test_demo_adjusted_intervals_agree_with_adjusted_p(demo: Any, settings: Settings) -> None:
    results = build_readout(demo, settings).results.drop_nulls("p_adjusted")
    significant = (results["p_adjusted"] < settings.alpha).to_list()
    for low, high in (("rel_ci_adj_low", "rel_ci_adj_high"), ("abs_ci_adj_low", "abs_ci_adj_high")):
        excludes = ((results[low] > 0) | (results[high] < 0)).to_list()
        assert excludes == significant


@pytest.mark.parametrize("cuped", [None, False])
def test_demo_shows_every_verdict_with_and_without_cuped(demo: Any, cuped: bool | None) -> None:
    readout = build_readout(demo, Settings(cuped=cuped))
    seen = {
        (t.verdict, t.north_star_status if t.verdict == "vanity_only" else "")
        for e in readout.experiments.values()
        for t in e.treatments
    }
    expected = {
        ("invalid", ""),
        ("north_star_loss", ""),
        ("guardrail_breach", ""),
        ("north_star_win", ""),
        ("vanity_only", "flat"),
        ("vanity_only", "inconclusive"),
        ("flat", ""),
        ("inconclusive", ""),
    }
    assert expected <= seen
    ns = readout.results.filter(pl.col("role") == "north_star")
    reduction = ns["variance_reduction"].drop_nulls()
    if cuped is None:  # unit-level experiments: lessons_pre has rho^2 ~ 0.40 with the North Star
        assert reduction.len() >= 10 and reduction.min() > 0.3
    else:
        assert reduction.len() == 0


def test_bootstrap_and_cuped_per_segment(tmp_path: Path) -> None:
    units = _units()
    platform = np.where(np.arange(units.height) % 3 == 0, "web", "app")
    write_frame(units.with_columns(pl.Series("platform", platform)), tmp_path / "exp.parquet")
    write_metrics(tmp_path, CATALOG)
    data = load_dataset(tmp_path, segment="platform")
    results = build_readout(data, Settings(bootstrap=200)).results
    lessons = results.filter(pl.col("metric") == "lessons")
    assert lessons.height == 2
    assert lessons["rel_ci_boot_low"].null_count() == 0
    assert lessons["variance_reduction"].null_count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (pl.lit(None, dtype=pl.Float64).alias("cov_sum_sq"), "some covariate sums but not all"),
        ((pl.col("cov_sum") ** 2 / pl.col("n") * 0.5).alias("cov_sum_sq"), "impossible"),
        ((pl.col("num_cov_sum") * 3).alias("num_cov_sum"), "impossible"),
    ],
)
def test_bad_covariate_sums_are_input_errors(
    tmp_path: Path, run_cli: CliRunner, change: pl.Expr, message: str
) -> None:
    units = _units()
    y, x = pl.col("lessons"), pl.col("lessons_pre")
    summary = units.group_by("variant").agg(
        pl.lit("lessons").alias("metric"),
        pl.len().alias("n"),
        y.sum().alias("sum"),
        (y * y).sum().alias("sum_sq"),
        x.sum().alias("cov_sum"),
        (x * x).sum().alias("cov_sum_sq"),
        (x * y).sum().alias("num_cov_sum"),
    )
    write_frame(summary.with_columns(change), tmp_path / "exp.csv")
    write_metrics(tmp_path, {"lessons": CATALOG["lessons"]})
    code, _, err = run_cli("readout", tmp_path)
    assert code == 2 and message in err and "exp.csv" in err
