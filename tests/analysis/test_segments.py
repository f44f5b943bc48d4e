"""Segments: per-segment readouts with their own families, and Cochran's Q across segments."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import CliRunner, make_units, write_frame, write_metrics
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from nsexp.analysis.readout import build_readout
from nsexp.analysis.results import RESULT_SCHEMA, MetricResult
from nsexp.analysis.segments import segment_readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.stats.heterogeneity import cochran_q


def results_frame(metrics: tuple[MetricResult, ...]) -> pl.DataFrame:
    """Records back as a typed frame (RESULT_SCHEMA columns), to compare with a readout's."""
    rows = [{name: getattr(m, name) for name in RESULT_SCHEMA} for m in metrics]
    return pl.DataFrame(rows, schema=RESULT_SCHEMA)


def test_q_matches_statsmodels_and_the_direct_formula():
    """Q, I², pooled effect and p against statsmodels' combine_effects, group by group."""
    rng = np.random.default_rng(8)
    effects = [rng.normal(0.02, 0.03, k) for k in (2, 3, 5)]
    ses = [rng.uniform(0.005, 0.03, k) for k in (2, 3, 5)]
    group = np.repeat(["a", "b", "c"], [2, 3, 5])
    got = cochran_q(np.concatenate(effects), np.concatenate(ses), group)
    for i, (theta, se) in enumerate(zip(effects, ses, strict=True)):
        ref = combine_effects(theta, se**2)
        w = 1 / se**2
        pooled = (w * theta).sum() / w.sum()
        q = (w * (theta - pooled) ** 2).sum()
        assert got.q[i] == pytest.approx(ref.q, rel=1e-10)
        assert got.q[i] == pytest.approx(q, rel=1e-10)
        assert got.pooled[i] == pytest.approx(ref.mean_effect_fe, rel=1e-10)
        assert got.i2[i] == pytest.approx(max(0.0, ref.i2), rel=1e-10, abs=1e-12)  # clamped
        assert got.p_value[i] == pytest.approx(stats.chi2.sf(q, theta.size - 1), rel=1e-10)


def test_single_segment_or_no_se_is_not_testable():
    """One usable segment: no test (NaN), not a crash."""
    got = cochran_q(np.array([0.1, 0.2]), np.array([0.01, np.nan]), np.array(["a", "a"]))
    assert np.isnan(got.p_value[0]) and got.df[0] == 0


def test_q_is_calibrated_under_a_common_effect():
    """3,000 groups of 4 segment estimates sharing one effect: P(p < 0.05) within noise of 0.05;
    with a real spread between segments the test finds it most of the time."""
    rng = np.random.default_rng(21)
    groups, k = 3_000, 4
    se = rng.uniform(0.01, 0.04, (groups, k))
    group = np.repeat(np.arange(groups), k)
    same = cochran_q((0.03 + rng.normal(0, se)).ravel(), se.ravel(), group)
    rate = float((same.p_value < 0.05).mean())
    low, high = stats.binom.ppf([0.001, 0.999], groups, 0.05) / groups
    assert low <= rate <= high
    spread = np.array([0.0, 0.0, 0.1, 0.1])
    differ = cochran_q((spread + rng.normal(0, se)).ravel(), se.ravel(), group)
    assert (differ.p_value < 0.05).mean() > 0.8


@pytest.fixture
def segmented(tmp_path: Path) -> Path:
    """Two segments; the treatment lifts lessons by 25% in `ios` only."""
    ios = make_units(1, {"control": 1200, "treatment": 1200}, {"treatment": {"lessons": 1.25}})
    web = make_units(2, {"control": 1200, "treatment": 1200})
    frame = pl.concat(
        [
            ios.with_columns(pl.lit("ios").alias("platform")),
            web.with_columns(pl.lit("web").alias("platform")),
        ]
    ).with_columns(pl.lit("exp").alias("experiment"))
    write_frame(frame, tmp_path / "units.parquet")
    write_metrics(tmp_path)
    return tmp_path


def test_each_segment_equals_a_readout_of_its_rows(segmented: Path, tmp_path_factory):
    """Segment figures (and their own Holm families) equal a plain readout of that segment."""
    sr = segment_readout(load_dataset(segmented, segment="platform"), Settings())
    frame = pl.read_parquet(segmented / "units.parquet")
    for value in ("ios", "web"):
        alone = tmp_path_factory.mktemp(value)
        write_frame(frame.filter(pl.col("platform") == value), alone / "units.parquet")
        write_metrics(alone)
        plain = build_readout(load_dataset(alone), Settings()).results
        metrics = sr.readout.experiments[f"exp/platform={value}"].treatment("treatment").metrics
        seg = results_frame(metrics)
        for col in ("p_value", "p_adjusted", "rel_ci_low", "abs_effect"):
            assert np.allclose(seg[col].to_numpy(), plain[col].to_numpy(), equal_nan=True)
        others = seg.filter(pl.col("role") != "north_star")
        holm = multipletests(others["p_value"].to_numpy(), method="holm")[1]
        assert np.allclose(others["p_adjusted"].to_numpy(), holm)


def test_heterogeneity_flags_the_segment_only_effect(segmented: Path):
    """lessons moves in ios only: Q's p is tiny; it equals Q computed from the segment rows."""
    sr = segment_readout(load_dataset(segmented, segment="platform"), Settings())
    row = sr.heterogeneity.filter(pl.col("metric") == "lessons").row(0, named=True)
    assert row["segments"] == 2 and row["p_value"] < 1e-6
    seg = sr.readout.results.filter(pl.col("metric") == "lessons")
    theta, se = seg["rel_effect"].to_numpy(), seg["rel_se"].to_numpy()
    q = (theta[0] - theta[1]) ** 2 / (se[0] ** 2 + se[1] ** 2)  # two segments: a z-test squared
    assert row["q"] == pytest.approx(q, rel=1e-10)


def test_segment_needs_its_column(segmented: Path):
    """An absent column is bad input naming it."""
    with pytest.raises(InputError, match="nope"):
        load_dataset(segmented, segment="nope")


def test_cli_segment_outputs(segmented: Path, run_cli: CliRunner):
    """json has a section per segment and the Q tests; table and markdown show them too."""
    code, out, _ = run_cli("readout", segmented, "--segment", "platform", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["segment_column"] == "platform"
    (exp,) = doc["experiments"]
    assert [s["segment"] for s in exp["segments"]] == ["ios", "web"]
    assert {h["metric"] for h in exp["heterogeneity"]} >= {"lessons", "clicks"}
    for output in ("table", "markdown"):
        code, out, _ = run_cli("readout", segmented, "--segment", "platform", "--format", output)
        assert code == 0 and "Cochran's Q" in out and "exp/platform=web" in out
    assert "\\" not in out  # plain names: nothing in the Markdown is escaped


def test_cli_segment_on_summary_only_data_exits_2(tmp_path: Path, run_cli: CliRunner):
    """Summary rows cannot be split by segment: one error line."""
    rows = {
        "experiment": ["e", "e"],
        "variant": ["control", "b"],
        "metric": ["lessons", "lessons"],
        "n": [10, 10],
        "sum": [5.0, 6.0],
        "sum_sq": [5.0, 6.0],
    }
    pl.DataFrame(rows).write_csv(tmp_path / "s.csv")
    write_metrics(tmp_path, {"lessons": {"role": "north_star", "type": "mean"}})
    code, _, err = run_cli("readout", tmp_path, "--segment", "platform")
    assert code == 2 and err.startswith("error:") and "summary rows only" in err


def test_segment_with_one_variant_is_left_out_with_a_note(tmp_path: Path):
    """A segment only the control reached cannot be compared: left out, noted, no crash."""
    units = make_units(3, {"control": 800, "treatment": 800}).with_columns(
        pl.lit("exp").alias("experiment"), pl.lit("web").alias("platform")
    )
    lone = make_units(4, {"control": 30}).with_columns(
        pl.lit("exp").alias("experiment"), pl.lit("tv").alias("platform")
    )
    write_frame(pl.concat([units, lone]), tmp_path / "units.parquet")
    write_metrics(tmp_path)
    dataset = load_dataset(tmp_path, segment="platform")
    assert list(dataset.experiments) == ["exp/platform=web"]
    assert any("platform=tv" in n for n in dataset.experiments["exp/platform=web"].notes)
