"""Issue 18 items 4 and 5 through the whole readout: an adjustment that would widen the
interval does not decide, and a metric constant within both arms gets no test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import CliRunner, write_metrics

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.stats.validity import CONSTANT

SCORE = {"score": {"role": "north_star", "type": "mean", "practical_threshold": 0.01}}


def _readout(root: Path):
    readout = build_readout(load_dataset(root))
    row = readout.results.row(0, named=True)
    treatment = next(iter(readout.experiments.values())).treatments[0]
    return row, treatment


@pytest.mark.parametrize("rows", ["units", "mean_variance", "tiny"])
def test_both_arms_constant_get_no_test_and_decide_nothing(tmp_path: Path, rows: str) -> None:
    """40 × 3.00 vs 40 × 3.01 (unit rows, or mean/variance rows with variance 0; also 10 units
    per arm, below the minimum): no p-value, no interval of zero width, not decisive, and the
    reason says why."""
    write_metrics(tmp_path, SCORE)
    if rows != "mean_variance":
        n = 10 if rows == "tiny" else 40
        pl.DataFrame(
            {"variant": ["control"] * n + ["treatment"] * n, "score": [3.0] * n + [3.01] * n}
        ).write_csv(tmp_path / "e.csv")
    else:
        pl.DataFrame(
            {
                "experiment": ["e", "e"],
                "variant": ["control", "treatment"],
                "metric": ["score", "score"],
                "n": [40, 40],
                "mean": [3.0, 3.01],
                "variance": [0.0, 0.0],
            }
        ).write_csv(tmp_path / "s.csv")
    row, treatment = _readout(tmp_path)
    assert row["rel_effect"] == pytest.approx(0.01 / 3)
    for name in ("p_value", "abs_ci_low", "rel_ci_low", "rel_ci_adj_low", "equivalence_ci_low"):
        assert row[name] is None
    assert row["decisive"] is False and row["note"] == CONSTANT
    assert treatment.verdict == "inconclusive"
    assert "does not vary within either arm" in treatment.reasons[0].text
    assert "[+0.3%, +0.3%]" not in " ".join(r.text for r in treatment.reasons)


def test_one_constant_arm_is_still_tested(tmp_path: Path) -> None:
    """Only both arms constant is degenerate: one arm with spread gives Welch's test."""
    write_metrics(tmp_path, SCORE)
    spread = list(np.random.default_rng(1).normal(3.0, 0.5, 40))
    pl.DataFrame(
        {"variant": ["control"] * 40 + ["treatment"] * 40, "score": spread + [3.01] * 40}
    ).write_csv(tmp_path / "e.csv")
    row, _ = _readout(tmp_path)
    assert row["p_value"] is not None and row["decisive"]
    assert row["abs_ci_high"] > row["abs_ci_low"]


def test_a_widening_adjustment_is_reported_in_the_json_and_the_reason(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    """A covariate unrelated to the metric, 40 units per arm (seed 0: Lin's interval would be
    wider): the unadjusted figures decide, with the increase in the JSON, the note and the
    reason sentence."""
    rng = np.random.default_rng(0)
    y, x = rng.normal(10, 2, 80), rng.normal(5, 1, 80)
    y[40:] += 1.0
    pl.DataFrame(
        {"variant": ["control"] * 40 + ["treatment"] * 40, "score": y, "score_pre": x}
    ).write_csv(tmp_path / "e.csv")
    write_metrics(tmp_path, {"score": {**SCORE["score"], "covariate": "score_pre"}})
    row, treatment = _readout(tmp_path)
    assert row["variance_reduction"] is None and row["cuped_theta"] is None
    assert row["abs_effect"] == pytest.approx(y[40:].mean() - y[:40].mean(), rel=1e-12)
    assert row["cuped_variance_increase"] > 0
    assert "CUPED would widen the interval" in row["note"]
    assert "unadjusted: CUPED would widen the interval" in treatment.reasons[0].text
    code, out, _ = run_cli("readout", tmp_path, "--format", "json")
    assert code == 0
    metric = json.loads(out)["experiments"][0]["comparisons"][0]["metrics"][0]
    assert metric["cuped_variance_increase"] == pytest.approx(row["cuped_variance_increase"])
