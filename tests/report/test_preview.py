"""The Data page's preview tables: what was read, per experiment and per metric."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers import DEMO_DATA, make_units, write_frame, write_metrics
from scipy.stats import chisquare

from nsexp.analysis.srm import srm_checks
from nsexp.config.setup import declare_splits
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.report.preview import (
    experiments_table,
    metrics_table,
    planned_splits,
    split_table,
    summary_head,
)

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


def _unequal(tmp_path: Path) -> Path:
    """A 10 / 80 / 10 experiment with no split declared: the SRM check assumes equal shares."""
    sizes = {"control": 1_000, "big": 8_000, "small": 1_000}
    write_frame(make_units(3, sizes, experiment="launch"), tmp_path / "launch.csv")
    write_metrics(tmp_path)
    return tmp_path


def test_split_table_shows_the_shares_the_check_tested(tmp_path: Path) -> None:
    table = split_table(srm_checks(load_dataset(_unequal(tmp_path)))).sort("variant")
    assert table["variant"].to_list() == ["big", "control", "small"]
    assert table["units"].to_list() == [8_000, 1_000, 1_000]
    assert table["observed_share"].to_list() == [0.8, 0.1, 0.1]
    assert table["planned_share"].to_list() == pytest.approx([1 / 3] * 3, rel=1e-15)
    assert table["assumed"].all() and table["mismatch"].all()
    expected = chisquare([8_000, 1_000, 1_000]).pvalue
    assert table["p_value"][0] == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_a_declared_split_from_the_table_passes_the_check(tmp_path: Path) -> None:
    data = _unequal(tmp_path)
    before = split_table(srm_checks(load_dataset(data)))
    shares = {"control": 10.0, "big": 80.0, "small": 10.0}
    after = before.with_columns(pl.col("variant").replace_strict(shares).alias("planned_share"))
    changed = planned_splits(before, after)
    assert changed == {"launch": shares}
    (data / "experiments.toml").write_text(declare_splits("", changed))
    check = srm_checks(load_dataset(data))["launch"]
    assert not check.assumed and not check.mismatch
    f_exp = [n * 10_000 for n in (0.8, 0.1, 0.1)]
    expected = chisquare([8_000, 1_000, 1_000], f_exp=f_exp).pvalue
    assert check.p_value == pytest.approx(expected, rel=1e-9)


def test_planned_splits_ignores_rescaled_shares_and_refuses_empty_ones(tmp_path: Path) -> None:
    before = split_table(srm_checks(load_dataset(_unequal(tmp_path))))
    rescaled = before.with_columns(pl.lit(5.0).alias("planned_share"))  # 5/5/5 is 1/3 each
    assert planned_splits(before, rescaled) == {}
    for bad in (0.0, None, float("inf")):
        edited = before.with_columns(
            pl.when(pl.col("variant") == "big")
            .then(pl.lit(bad, dtype=pl.Float64))
            .otherwise(pl.col("planned_share"))
            .alias("planned_share")
        )
        with pytest.raises(InputError, match="experiment launch: every arm needs a positive"):
            planned_splits(before, edited)
