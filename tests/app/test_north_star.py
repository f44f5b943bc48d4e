"""The North Star page in AppTest: the catalog tree and the per-metric movement table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from helpers import AppOpener

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.report.movement import metric_movement, movement_table

PAGE = "pages/north_star.py"


def test_tree_and_table_show_every_metric(open_app: AppOpener, demo_copy: Path) -> None:
    at = open_app(PAGE)
    assert not at.exception
    readout = build_readout(load_dataset(demo_copy))
    catalog = readout.catalog
    assert at.title[0].value == f"North Star: {catalog.north_star.label}"
    (tree,) = at.get("graphviz_chart")
    for m in catalog.metrics.values():
        assert m.label in tree.proto.spec
    assert "Leading indicators" in tree.proto.spec and "Guardrails" in tree.proto.spec
    shown = pl.from_pandas(at.dataframe[0].value)
    assert shown.equals(movement_table(metric_movement(readout)))


def test_settings_change_the_counts(open_app: AppOpener, demo_copy: Path) -> None:
    at = open_app(PAGE, {"alpha": "0.01", "correction": "none"})
    strict = build_readout(load_dataset(demo_copy), Settings(alpha=0.01, correction="none"))
    shown = pl.from_pandas(at.dataframe[0].value)
    assert shown.equals(movement_table(metric_movement(strict)))
    default = open_app(PAGE)
    assert not pl.from_pandas(default.dataframe[0].value).equals(shown)
