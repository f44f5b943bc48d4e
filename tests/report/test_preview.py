"""The Data page's preview tables: what was read, per experiment and per metric."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from helpers import DEMO_DATA

from nsexp.io import load_dataset
from nsexp.report.preview import experiments_table, metrics_table, summary_head

DATA = DEMO_DATA


def test_experiments_table_counts_units_metrics_and_dates() -> None:
    dataset = load_dataset(DATA)
    table = experiments_table(dataset)
    assert table["experiment"].to_list() == sorted(dataset.experiments)
    row = table.filter(pl.col("experiment") == "placement_test").row(0, named=True)
    assert row["variants"] == "adaptive, control, short_quiz"
    assert row["control"] == "control"
    assert row["name"] == "Placement test redesign"
    units = dataset.units.filter(pl.col("experiment") == "placement_test")["units"].sum()
    assert row["units"] == units
    assert row["metrics"] == len(dataset.catalog.metrics)
    assert row["first_date"] <= row["last_date"]


def test_experiments_table_without_dates(tmp_path: Path) -> None:
    (tmp_path / "signup.csv").write_text("variant,lessons\ncontrol,1\ncontrol,2\nt,3\nt,1\n")
    (tmp_path / "metrics.toml").write_text(
        '[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'
    )
    row = experiments_table(load_dataset(tmp_path)).row(0, named=True)
    assert row == {
        "experiment": "signup",
        "name": "signup",
        "owner": "",
        "control": "control",
        "variants": "control, t",
        "units": 4,
        "metrics": 1,
        "first_date": None,
        "last_date": None,
    }


def test_metrics_table_is_in_role_order() -> None:
    catalog = load_dataset(DATA).catalog
    table = metrics_table(catalog)
    assert table["metric"][0] == catalog.north_star.id
    assert table["role"][0] == "North Star"
    assert table["role"].to_list()[-1] == "Guardrail"
    ratio = table.filter(pl.col("type") == "ratio").row(0, named=True)
    assert ratio["columns"] == "minutes / sessions"


def test_summary_head_is_the_first_rows_of_the_summary() -> None:
    dataset = load_dataset(DATA)
    head = summary_head(dataset, rows=5)
    assert head.equals(dataset.summary.head(5))
