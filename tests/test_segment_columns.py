"""Pure helpers behind the readout's segment view and its verdict-card notes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from conftest import DEMO_DATA, make_units, write_frame, write_metrics

from nsexp.analysis.segments import MAX_SEGMENT_VALUES, experiment_file, segment_columns
from nsexp.io import load_dataset
from nsexp.report import tables


def test_demo_files_and_their_segment_columns() -> None:
    dataset = load_dataset(DEMO_DATA)
    found = experiment_file(dataset, "push_reminders")
    assert found is not None and found.name == "push_reminders.parquet"
    assert segment_columns(found, dataset.catalog) == ["platform"]
    referral = experiment_file(dataset, "referral_banner")  # a file with an experiment column
    assert referral is not None and referral.name == "referral_banner.parquet"
    assert experiment_file(dataset, "dark_mode") is None  # summary rows: nothing to split


def test_only_low_cardinality_text_columns_are_segments(tmp_path: Path) -> None:
    units = make_units(3, {"control": 300, "treatment": 300})
    n = units.height
    units = units.with_columns(
        pl.Series("country", [["de", "fr", "us"][i % 3] for i in range(n)]),
        pl.Series("paid", [i % 2 == 0 for i in range(n)]),
        pl.Series("email", [f"u{i}@x" for i in range(n)]),  # one value per unit
        pl.Series("constant", ["same"] * n),
        pl.Series("score", [float(i) for i in range(n)]),  # a number, not a label
    )
    write_frame(units, tmp_path / "exp.csv")
    write_metrics(tmp_path)
    dataset = load_dataset(tmp_path)
    found = experiment_file(dataset, "exp")
    assert found == tmp_path / "exp.csv"
    assert segment_columns(found, dataset.catalog) == ["country", "paid"]
    assert MAX_SEGMENT_VALUES < 300


def test_guardrail_text_and_card_notes() -> None:
    guard = {
        "metric": "errors",
        "label": "Errors",
        "role": "guardrail",
        "guardrail_status": "safe",
        "non_inferiority_margin": 0.1,
        "guardrail_power": 0.923,
    }
    assert tables.guardrail_text(guard) == "safe (margin 10%, power 92%)"
    assert tables.guardrail_text(guard | {"non_inferiority_margin": None}) == (
        "safe (no margin set)"
    )
    assert tables.guardrail_text({"role": "leading", "guardrail_status": None}) == ""
    ns = {
        "metric": "lessons",
        "label": "Lessons",
        "role": "north_star",
        "variance_reduction": 0.4,
        "mde": 0.031,
        "days_needed": 12.2,
        "practical_threshold": 0.02,
    }
    comparison = {"north_star_status": "inconclusive", "metrics": [ns, guard]}
    assert tables.card_notes(comparison) == [
        "CUPED removed 40% of the North Star's variance.",
        "Detectable today: 3.1%; about 12 more days at current traffic to detect ±2%.",
        "Guardrails: Errors safe (margin 10%, power 92%).",
    ]
    moved = comparison | {"north_star_status": "moved"}
    assert not any(n.startswith("Detectable") for n in tables.card_notes(moved))
