"""Which file holds an experiment's units, and which of its columns can split it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from helpers import make_units, write_frame, write_metrics

from nsexp.analysis.segments import MAX_SEGMENT_VALUES, experiment_file, segment_columns
from nsexp.io import Dataset, load_dataset


def test_demo_files_and_their_segment_columns(demo_dataset: Dataset) -> None:
    dataset = demo_dataset
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
