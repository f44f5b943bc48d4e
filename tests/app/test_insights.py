"""The Portfolio insights page in AppTest, on the demo data: every edge of the tree, and its
chart builders."""

from __future__ import annotations

import pytest
from helpers import APP_FILE, DEMO_DATA
from streamlit.testing.v1 import AppTest

from nsexp.analysis.readout import build_readout, judge
from nsexp.io import load_dataset
from nsexp.learning.proxies import cumulative_impact
from nsexp.learning.tree import RESAMPLING, tree_evidence
from nsexp.report.proxy_charts import (
    edge_points,
    edge_scatter,
    fitted_line,
    impact_chart,
    ranking_chart,
)
from nsexp.report.tree import by_correlation, edges_table

APP = str(APP_FILE)
PAGE = "pages/insights.py"
DATA = DEMO_DATA


@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app reads the committed demo data."""
    monkeypatch.setenv("NSEXP_DATA_DIR", str(DATA))


def open_page(query: dict[str, str] | None = None) -> AppTest:
    """The app opened on the Portfolio insights page, with the given query parameters."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def test_page_renders_every_edge_with_its_scatter_table_and_impact(demo: None) -> None:
    at = open_page()
    assert not at.exception
    assert not at.error and not at.warning
    text = " ".join(m.value for m in at.markdown)
    assert "Predictive:** Day-7 retention → Lessons completed" in text
    assert "Started a streak → Day-7 retention" in text  # a second-level edge
    assert "winner's curse" in text
    evidence = tree_evidence(judge(load_dataset(DATA)))
    edges = len(evidence.edges)
    # ranking chart + one scatter per edge + the impact chart
    assert len(at.get("vega_lite_chart")) == edges + 2
    (table,) = at.dataframe
    assert table.value.shape[0] == edges
    assert list(table.value["Edge"]) == list(edges_table(evidence)["Edge"])
    assert all(r[0] in "+−—" for r in table.value["Corrected r"])
    assert at.metric[0].label == "North Star wins (comparisons)"


def test_bad_workspace_is_explained(demo: None) -> None:
    at = open_page({"workspace": "../../etc"})
    assert not at.exception
    assert any("workspace" in w.value for w in at.warning)
    assert len(at.get("vega_lite_chart")) > 2  # the bundled data instead


def test_alpha_from_the_link_changes_the_counts(demo: None) -> None:
    default, strict = open_page(), open_page({"alpha": "0.01"})
    assert not strict.exception
    moved = [
        t.value["Moved"].astype(int).sum() for t in (default.dataframe[0], strict.dataframe[0])
    ]
    assert moved[1] < moved[0]


def test_chart_builders_are_pure() -> None:
    readout = build_readout(load_dataset(DATA))
    evidence = tree_evidence(readout.judgement, resampling=RESAMPLING._replace(n_boot=200))
    best = by_correlation(evidence.edges)[0]
    assert best.slope is not None and best.intercept is not None
    points = edge_points(evidence.comparisons, best.child, best.parent)
    line = fitted_line(points, best.slope, best.intercept)
    assert line["parent_effect"].to_list() == pytest.approx(
        [best.intercept + best.slope * x for x in line["effect"]]
    )
    names = [e.name for e in evidence.edges]
    assert all(" → " in n and "_" not in n for n in names)  # labels, not ids
    ranking = ranking_chart(evidence.edges).to_dict()
    assert ranking["layer"]
    (values,) = [v for v in ranking["datasets"].values() if v and "edge" in v[0]]
    assert [v["edge"] for v in values] == names
    names = {e.id: e.name for e in readout.experiments.values()}
    impact = impact_chart(cumulative_impact(readout.judgement), names).to_dict()
    assert impact["layer"]
    wins = [v["win"] for d in impact["datasets"].values() for v in d if "win" in v]
    assert wins and not any("past_" in w for w in wins)  # experiments by name, not by id
    edge = evidence.edge("streak_started")
    assert edge is not None and edge.parent == "day7_retention"
    points = edge_points(evidence.comparisons, "streak_started", "day7_retention")
    assert points.height == edge.n_comparisons
    spec = edge_scatter(evidence.comparisons, edge, "Started a streak", "Day-7 retention").to_dict()
    assert "title" not in spec  # the heading is data drawn as text, never a Vega title
    lines = [v["line"] for d in spec["datasets"].values() for v in d if "line" in v]
    assert f"{lines[0]} {lines[1]}" == edge.heading == "Started a streak → Day-7 retention: weak"
