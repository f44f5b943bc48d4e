"""One label per edge everywhere: the tree page's graphs, Insights' ranking and scatters, the
tables, `nsexp tree` and the readouts' history lines name each edge child → parent by the
metrics' labels and show the Edge record's label words; a guardrail's in guardrail terms."""

from __future__ import annotations

import re

import pytest

from nsexp.analysis.readout import Readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout, readout_learning
from nsexp.learning.tree import TreeEvidence
from nsexp.report.proxy_charts import edge_scatter, ranking_chart
from nsexp.report.tree import edge_reason, edges_table, tree_dict
from nsexp.report.tree_chart import outside_graph, tree_graph


@pytest.fixture(scope="module")
def evidence(demo_dataset: Dataset) -> TreeEvidence:
    return readout_learning(demo_dataset, Settings()).evidence


@pytest.fixture(scope="module")
def readout(demo_dataset: Dataset) -> Readout:
    return learned_readout(demo_dataset, Settings())


def test_each_edge_is_named_child_to_parent_by_labels(evidence: TreeEvidence) -> None:
    metrics = evidence.catalog.metrics
    for e in evidence.edges:
        assert e.name == f"{metrics[e.child].label} → {metrics[e.parent].label}"
        assert "_" not in e.name and "_" not in e.words  # labels, not ids; 'too few'
        if metrics[e.child].role == "guardrail":
            assert e.words in {"tracks the North Star", "loosely tied", "independent", "too few"}
    minutes = [e.heading for e in evidence.edges if e.child == "minutes_per_session"]
    assert minutes == [
        "Minutes per session → Lessons started: weak",
        "Minutes per session → Lessons completed: vanity",
    ]  # two edges, two labels, each named
    off = evidence.edge("notifications_off")
    assert off is not None and off.label == "vanity" and off.words == "independent"


def test_tables_json_and_sentences_use_the_records_label(evidence: TreeEvidence) -> None:
    table = edges_table(evidence)
    shown = {row["Edge"].strip(): row["Label"] for row in table.iter_rows(named=True)}
    assert shown == {e.title: e.words for e in evidence.edges}
    for e, doc in zip(evidence.edges, tree_dict(evidence)["edges"], strict=True):
        assert (doc["name"], doc["label_words"]) == (e.name, e.words)
        assert doc["reason"].startswith(e.heading) and edge_reason(e) == doc["reason"]


def test_graphs_draw_the_records_label_on_each_edge(evidence: TreeEvidence) -> None:
    dot = tree_graph(evidence) + (outside_graph(evidence) or "")
    drawn = dict(re.findall(r"(m_\w+ -> m_\w+) \[dir=back, label=\"([^\\\"]+)", dot))
    for e in evidence.edges:
        key = f"m_{e.parent} -> m_{e.child}"
        if key in drawn:
            assert drawn[key] == e.words
    assert "vanity" not in drawn["m_lessons_completed -> m_notifications_off"]


def test_charts_show_the_records_heading_as_data(evidence: TreeEvidence) -> None:
    spec = ranking_chart(evidence.edges).to_dict()
    rows = [r for d in spec["datasets"].values() for r in d if "edge" in r]
    assert [(r["edge"], r["label"]) for r in rows] == [(e.title, e.words) for e in evidence.edges]
    scale = next(layer for layer in spec["layer"] if "color" in layer.get("encoding", {}))
    assert "too_few" not in str(scale["encoding"]["color"]["scale"]["domain"])
    metrics = evidence.catalog.metrics
    for e in evidence.edges:
        child, parent = metrics[e.child].label, metrics[e.parent].label
        chart = edge_scatter(evidence.comparisons, e, child, parent).to_dict()
        assert "title" not in chart
        lines = [r["line"] for d in chart["datasets"].values() for r in d if "line" in r]
        assert f"{lines[0]} {lines[1]}" == e.heading


def test_history_lines_name_the_edge_they_quote(readout: Readout, evidence: TreeEvidence) -> None:
    headings = {e.child: e.heading for e in evidence.north_star_edges().edges}
    quoted = 0
    for experiment in readout.experiments.values():
        for t in experiment.treatments:
            for reason in t.reasons:
                if reason.kind != "history":
                    continue
                (metric,) = reason.metrics
                assert f"on record, {headings[metric]}" in reason.text
                quoted += 1
    assert quoted > 0
