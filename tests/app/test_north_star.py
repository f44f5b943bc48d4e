"""The North Star page in AppTest: the real tree with evidence on every edge, one metric's
scatter against its parent (chosen in the page, kept in the URL), the health line and the team
scoreboard."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from helpers import AppOpener

from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout
from nsexp.learning.proxies import cumulative_impact
from nsexp.report.review import targets_of
from nsexp.report.review_tables import targets_table
from nsexp.report.scoreboard import scoreboard_frame, scoreboard_table
from nsexp.report.text import md_escape
from nsexp.store.decisions import latest

PAGE = "pages/north_star.py"


def test_tree_draws_every_metric_with_its_evidence(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE)
    assert not at.exception and not at.warning
    catalog = demo_copy_dataset.catalog
    assert at.title[0].value == f"North Star: {catalog.north_star.label}"
    tree, outside = at.get("graphviz_chart")
    spec = tree.proto.spec + outside.proto.spec
    for m in catalog.metrics.values():
        assert m.label in spec
        if m.owner:
            assert m.owner in spec
    assert "frequency · Engagement" in spec and "efficiency · Onboarding" in spec
    assert "m_lessons_completed -> m_day7_retention" in spec  # the North Star on top
    assert "m_day7_retention -> m_streak_started" in spec  # an input of an input
    assert "predictive\\nr +" in spec and 'style="dashed"' in spec  # drawn by the evidence
    assert "too few" in spec and "weak" in spec and "vanity" in spec
    health = next(m.value for m in at.markdown if m.value.startswith("**Health.**"))
    assert "Median detectable effect" in health and "Direction of travel" in health
    assert not at.get("vega_lite_chart")  # no metric chosen yet: no scatter


def test_choosing_a_metric_shows_its_scatter_against_its_parent(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"node": "streak_started"})
    assert not at.exception
    assert at.selectbox[0].value == "streak_started"
    assert any(s.value == "Started a streak → Day-7 retention" for s in at.subheader)
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert "title" not in spec  # the edge's heading is a text mark fed by data
    assert any(layer["mark"].get("type") == "text" for layer in spec["layer"])
    dot = at.get("graphviz_chart")[0].proto.spec
    node = next(line for line in dot.splitlines() if line.strip().startswith("m_streak_started ["))
    assert 'color="#1c7ed6"' in node and "penwidth=3" in node  # the chosen metric is outlined
    at.selectbox[0].set_value("page_views").run()
    assert any(s.value == "Page views → Lessons completed" for s in at.subheader)
    assert at.query_params["node"] == "page_views"


def test_unknown_metric_in_the_link_is_explained(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"node": "nope"})
    assert not at.exception
    said = md_escape("The link asks for node = 'nope', which is not a metric under the North Star")
    assert any(said in w.value for w in at.warning)
    assert "node" not in at.query_params
    assert at.selectbox[0].value is None


def test_scoreboard_per_team(open_app: AppOpener, demo_copy_dataset: Dataset) -> None:
    at = open_app(PAGE, {"alpha": "0.01"})
    readout = learned_readout(demo_copy_dataset, Settings(alpha=0.01))  # as the app reads
    expected = scoreboard_table(scoreboard_frame(readout, cumulative_impact(readout.judgement)))
    board = next(d for d in at.dataframe if "Concluded with a result" in d.value.columns)
    shown = pl.from_pandas(board.value)
    assert shown.equals(expected)
    assert set(shown["Team"]) == {e.experiment.info.owner for e in readout.experiments.values()}


def test_targets_per_team_as_the_review_counts_them(
    open_app: AppOpener, demo_copy: Path, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE)
    readout = learned_readout(demo_copy_dataset, Settings())
    expected = targets_table(targets_of(readout, latest(demo_copy)))
    shown = pl.from_pandas(at.dataframe[0].value)
    assert shown.equals(expected)
    with_target = {m.label for m in readout.catalog.metrics.values() if m.target is not None}
    assert set(shown["Metric"]) == with_target  # a node without a target shows none
    assert len(with_target) == 3  # the demo: the North Star and two inputs
