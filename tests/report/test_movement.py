"""nsexp.report.movement: how often each metric moved, and the North Star with it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers import make_units, write_frame, write_metrics

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset, load_dataset
from nsexp.learning.tree import RESAMPLING, tree_evidence
from nsexp.report.movement import metric_movement, movement_table


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Readout:
    """The bundled demo data read out with the default settings."""
    return build_readout(demo_dataset)


@pytest.fixture
def two_experiments(tmp_path: Path) -> Readout:
    """Two seeded experiments; one lifts clicks (vanity) only, one lifts lessons and clicks."""
    vanity = make_units(3, {"control": 3000, "t": 3000}, {"t": {"clicks": 1.3}}, "vanity")
    real = make_units(
        4, {"control": 3000, "t": 3000}, {"t": {"clicks": 1.3, "lessons": 1.2}}, "real"
    )
    write_frame(pl.concat([vanity, real]), tmp_path / "units.csv")
    write_metrics(tmp_path)
    return build_readout(load_dataset(tmp_path), Settings())


def test_metric_movement_counts_what_moved_and_whether_the_north_star_followed(
    two_experiments: Readout,
) -> None:
    movement = metric_movement(two_experiments).rows_by_key("metric", named=True)
    results = two_experiments.results
    assert results.filter(pl.col("metric") == "clicks")["better"].to_list() == [True, True]
    lessons = results.filter(pl.col("metric") == "lessons").sort("experiment")
    assert lessons["better"].to_list() == [True, False]
    clicks = movement["clicks"][0]
    assert clicks["experiments"] == 2
    assert clicks["experiments_moved"] == clicks["comparisons_moved"] == clicks["better"] == 2
    assert clicks["ns_moved_with"] == clicks["ns_followed"] == 1
    assert movement["lessons"][0]["experiments_moved"] == 1
    assert metric_movement(two_experiments)["role"][0] == "north_star"


def test_metric_movement_leaves_out_invalid_experiments(demo: Readout) -> None:
    movement = metric_movement(demo)
    invalid = sum(
        all(t.verdict == "invalid" for t in e.treatments) for e in demo.experiments.values()
    )
    assert invalid >= 1
    # every metric but the one measured only lately is in every experiment
    everywhere = movement.filter(pl.col("metric") != "first_day_lesson")
    assert set(everywhere["experiments"]) == {len(demo.experiments) - invalid}
    lately = movement.filter(pl.col("metric") == "first_day_lesson")["experiments"][0]
    assert lately == sum(1 for e in demo.experiments if not e.startswith("past_")) - invalid
    people = movement_table(movement)
    assert people.height == len(demo.catalog.metrics)
    assert people["North Star moved too"][0] == "—"


def test_movement_counts_what_the_north_star_edges_count(demo: Readout) -> None:
    """Moved and followed are the tree's (one definition): on every metric measured with spread
    the movement counts equal its North Star edge's."""
    evidence = tree_evidence(
        demo.judgement, resampling=RESAMPLING._replace(n_boot=50)
    ).north_star_edges()
    movement = metric_movement(demo).rows_by_key("metric", named=True, unique=True)
    for edge in evidence.edges:
        row = movement[edge.child]
        assert (row["comparisons"], row["comparisons_moved"], row["ns_followed"]) == (
            edge.n_comparisons,
            edge.n_moved,
            edge.n_parent_followed,
        )
