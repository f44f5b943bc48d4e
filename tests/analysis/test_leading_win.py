"""leading_win: a validated input (every edge of its path up the tree predictive) improved while
the North Star is inconclusive; one weak edge on the path, or a flat North Star, and it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from helpers import DEMO_DATA

from nsexp.analysis.learned import Edge
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import decide, validated_inputs
from nsexp.config.catalog import parse_catalog
from nsexp.io import load_dataset
from nsexp.learning.history import learned_readout, readout_learning

# lessons (North Star) <- d7 <- streak; lessons <- minutes (a leading input of its own);
# views: vanity
CATALOG = parse_catalog(
    {
        "metrics": {
            "lessons": {"role": "north_star", "type": "mean", "column": "lessons"},
            "d7": {"role": "leading", "type": "proportion", "column": "d7"},
            "streak": {"role": "leading", "type": "proportion", "column": "s", "parent": "d7"},
            "minutes": {"role": "leading", "type": "mean", "column": "minutes"},
            "views": {"role": "vanity", "type": "mean", "column": "views"},
        }
    }
)


def edge(child: str, parent: str, label: str, in_tree: bool = True) -> Edge:
    return Edge(child=child, parent=parent, label=label, in_tree=in_tree, n_comparisons=40)


def test_a_predictive_path_validates_every_input_on_it() -> None:
    edges = [
        edge("d7", "lessons", "predictive"),
        edge("streak", "d7", "predictive"),
        edge("streak", "lessons", "weak", in_tree=False),  # the direct edge does not count
        edge("minutes", "lessons", "weak"),
        edge("views", "lessons", "predictive", in_tree=False),  # not a leading metric
    ]
    got = validated_inputs(CATALOG, edges)
    assert set(got) == {"d7", "streak"}
    assert [(e.child, e.parent) for e in got["streak"]] == [("streak", "d7"), ("d7", "lessons")]


def test_one_weak_edge_on_the_path_is_not_validated() -> None:
    edges = [
        edge("d7", "lessons", "predictive"),
        edge("streak", "d7", "weak"),
        edge("streak", "lessons", "predictive", in_tree=False),
    ]
    assert set(validated_inputs(CATALOG, edges)) == {"d7"}
    # an edge without a record (never measured together) validates nothing either
    assert validated_inputs(CATALOG, [edge("streak", "d7", "predictive")]) == {}


def row(metric: str, role: str, **flags: bool) -> dict[str, Any]:
    better, worse = flags.get("better", False), flags.get("worse", False)
    return {
        "experiment": "e",
        "variant": "t",
        "metric": metric,
        "role": role,
        "significant": better or worse,
        "better": better,
        "worse": worse,
        "flat": flags.get("flat", False),
    }


CASES = {
    # name: (rows, validated, verdict)
    "validated_input_inconclusive_ns": (
        [row("lessons", "north_star"), row("d7", "leading", better=True)],
        {"d7"},
        "leading_win",
    ),
    "validated_input_flat_ns_is_vanity_only": (
        [row("lessons", "north_star", flat=True), row("d7", "leading", better=True)],
        {"d7"},
        "vanity_only",
    ),
    "weak_input_is_vanity_only": (
        [row("lessons", "north_star"), row("minutes", "leading", better=True)],
        {"d7"},
        "vanity_only",
    ),
    "ns_win_beats_leading_win": (
        [row("lessons", "north_star", better=True), row("d7", "leading", better=True)],
        {"d7"},
        "north_star_win",
    ),
    "guardrail_beats_leading_win": (
        [
            row("lessons", "north_star"),
            row("d7", "leading", better=True),
            row("crashes", "guardrail", worse=True),
        ],
        {"d7"},
        "guardrail_breach",
    ),
    "validated_input_worse_is_not_a_win": (
        [row("lessons", "north_star"), row("d7", "leading", worse=True)],
        {"d7"},
        "inconclusive",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_leading_win_rule(name: str) -> None:
    rows, validated, verdict = CASES[name]
    got = decide(pl.DataFrame(rows), set(), validated).row(0, named=True)
    assert got["verdict"] == verdict


@pytest.fixture(scope="module")
def streak_society() -> Any:
    dataset = load_dataset(Path(DEMO_DATA))
    learning = readout_learning(dataset, Settings())
    readout = learned_readout(dataset, Settings(), "streak_society", learning=learning)
    return readout.experiments["streak_society"].treatments[0], learning


def test_streak_society_is_a_leading_win_naming_input_edge_and_prediction(
    streak_society: Any,
) -> None:
    t, learning = streak_society
    assert t.verdict == "leading_win" and t.north_star_status == "inconclusive"
    edge = learning.evidence.edge("day7_retention")
    assert edge is not None and edge.label == "predictive"
    (headline,) = [r for r in t.reasons if r.kind == "verdict"]
    assert "Day-7 retention" in headline.text and "a validated input" in headline.text
    assert "Day-7 retention → Lessons completed: by the record a predictive" in headline.text
    assert f"over {edge.n_comparisons} comparisons" in headline.text
    p = t.learned.prediction
    assert "The predicted North Star" in headline.text and f"({p.level * 100:g}%)" in headline.text
    assert "inconclusive" in headline.text
    # the prediction is said once: in the headline, not again as a separate reason
    assert not [r for r in t.reasons if r.kind == "prediction"]
    assert t.decision is not None and t.decision.decision == "keep_running"
