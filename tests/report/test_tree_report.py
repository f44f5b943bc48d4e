"""The tree's evidence rendered: DOT drawn by the evidence, JSON field names, table, Markdown,
and `nsexp tree` on the demo data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import DEMO_DATA, CliRunner, write_metrics

from nsexp.analysis.readout import judge
from nsexp.io import Dataset, load_dataset
from nsexp.learning.tree import RESAMPLING, TreeEvidence, tree_evidence
from nsexp.report.tree import edges_table, to_markdown, to_table, tree_dict
from nsexp.report.tree_chart import EDGE_STYLES, outside_graph, tree_graph

ISSUE_FIELDS = {
    "child",
    "parent",
    "n_comparisons",
    "n_moved",
    "parent_followed",
    "corrected_correlation",
    "correlation_ci_low",
    "correlation_ci_high",
    "slope",
    "slope_ci_low",
    "slope_ci_high",
    "label",
    "within_covariance",
}


@pytest.fixture(scope="module")
def evidence(demo_dataset: Dataset) -> TreeEvidence:
    """The demo data's tree evidence (fewer bootstrap draws: the rendering is under test)."""
    return tree_evidence(judge(demo_dataset), resampling=RESAMPLING._replace(n_boot=300))


def test_edges_are_drawn_by_their_evidence(evidence: TreeEvidence) -> None:
    dot = tree_graph(evidence, selected="lesson_starts")
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for edge in (e for e in evidence.edges if e.in_tree):
        line = next(ln for ln in dot.splitlines() if f"m_{edge.parent} -> m_{edge.child} " in ln)
        assert EDGE_STYLES[edge.label] in line
        assert f"{edge.n_comparisons} comparisons" in line and "dir=back" in line
    assert "m_page_views" not in dot  # outside the tree: a graph of its own
    outside = outside_graph(evidence)
    assert outside is not None and "m_lessons_completed -> m_page_views" in outside
    assert EDGE_STYLES["vanity"] in outside
    chosen = next(ln for ln in dot.splitlines() if ln.strip().startswith("m_lesson_starts ["))
    assert "penwidth=3" in chosen


def test_an_edge_without_comparisons_says_so(tmp_path: Path) -> None:
    from helpers import make_units, write_frame

    write_metrics(tmp_path)
    write_frame(make_units(3, {"control": 400, "t": 400}), tmp_path / "e.csv")
    evidence = tree_evidence(
        judge(load_dataset(tmp_path)), resampling=RESAMPLING._replace(n_boot=50)
    )
    empty = TreeEvidence(evidence.catalog, (), evidence.comparisons.head(0))
    dot = tree_graph(empty)
    assert "no comparisons yet" in dot and EDGE_STYLES[None] in dot
    assert "No valid comparisons" in to_table(empty) and "No valid comparisons" in to_markdown(
        empty
    )


def test_json_keeps_the_issue_field_names(evidence: TreeEvidence) -> None:
    data = json.loads(json.dumps(tree_dict(evidence), allow_nan=False))
    assert data["north_star"] == "lessons_completed"
    edges = {(e["child"], e["parent"]): e for e in data["edges"]}
    for edge in edges.values():
        assert set(edge) >= ISSUE_FIELDS
        assert edge["within_covariance"] in ("computed", "assumed_zero")
    streak = edges[("streak_started", "day7_retention")]
    assert streak["in_tree"] and streak["input"] == "frequency" and streak["owner"] == "Engagement"
    assert edges[("first_day_lesson", "lessons_completed")]["label"] == "too_few"
    assert edges[("first_day_lesson", "lessons_completed")]["comparisons_needed"] > 0
    assert not edges[("page_views", "lessons_completed")]["in_tree"]
    assert {e["label"] for e in edges.values()} == {"predictive", "weak", "vanity", "too_few"}


def test_table_and_markdown(evidence: TreeEvidence) -> None:
    table, markdown = to_table(evidence), to_markdown(evidence)
    assert "Started a streak → Day-7 retention" in table
    assert "Outside the tree" in table and "Labels: predictive" in table
    assert markdown.startswith("# The North Star tree: Lessons completed")
    assert "  - Day-7 retention (frequency, Engagement): predictive" in markdown
    assert "    - Started a streak (frequency, Engagement): weak" in markdown
    assert "| Edge | Input | Owner | Label |" in markdown
    assert edges_table(evidence).height == len(evidence.edges)


def test_cli_tree(run_cli: CliRunner) -> None:
    code, out, err = run_cli("tree", DEMO_DATA, "--format", "markdown")
    assert code == 0, err
    assert "## Evidence on every edge" in out
    code, out, _ = run_cli("tree", DEMO_DATA, "--format", "json")
    assert code == 0 and json.loads(out)["edges"]
    code, out, err = run_cli("tree", "no/such/dir")
    assert code == 2 and out == "" and err.startswith("error:") and err.count("\n") == 1
