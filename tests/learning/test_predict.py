"""What the portfolio predicts for each comparison of the demo (nsexp.learning.predict): the
records, their sentences, the readout's JSON and reasons, pins, and too little history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CliRunner, make_units, result, write_frame, write_metrics

from nsexp.analysis.learned import Edge, NorthStarPrediction, prediction_sentence, predicts_win
from nsexp.analysis.readout import Readout
from nsexp.analysis.reasons import MetricHistory, history_reason
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import Learning, learned_readout, readout_learning
from nsexp.learning.predict import validated_inputs
from nsexp.report.json import experiment_dict, experiment_from_dict


@pytest.fixture(scope="module")
def learned(demo_dataset: Dataset) -> tuple[Learning, Readout]:
    """The demo read out twice: once to learn, once with what was learned."""
    learning = readout_learning(demo_dataset, Settings())
    readout = learned_readout(demo_dataset, Settings(), learning=learning)
    return learning, readout


def test_validated_inputs_are_predictive_metrics_in_the_tree(learned: tuple) -> None:
    learning, _ = learned
    inputs = validated_inputs(learning.evidence)
    assert {"day7_retention", "lesson_starts"} <= set(inputs)
    assert "page_views" not in inputs and "first_day_lesson" not in inputs


def test_streak_society_inputs_predict_a_north_star_win(learned: tuple) -> None:
    _, readout = learned
    t = readout.experiments["streak_society"].treatments[0]
    assert t.verdict == "leading_win" and t.north_star_status == "inconclusive"
    p = t.learned.prediction
    assert p is not None and p.available and p.level == 0.95
    assert p.rel_ci_low > 0 and p.n_history >= 50
    assert p.sources[0] == "lessons_completed" and "day7_retention" in p.sources
    own = t.north_star
    assert p.rel_ci_high - p.rel_ci_low < own.rel_ci_high - own.rel_ci_low
    # a leading_win's headline quotes the prediction (said once, not again as its own reason)
    lead = next(r.text for r in t.reasons if r.kind == "verdict")
    assert "The predicted North Star (a model estimate from" in lead
    assert "this experiment's inputs" in lead and "Day-7 retention" in lead


def test_every_win_states_its_false_positive_risk(learned: tuple) -> None:
    _, readout = learned
    wins = [
        t
        for e in readout.experiments.values()
        for t in e.treatments
        if t.verdict == "north_star_win"
    ]
    assert wins
    for t in wins:
        r = t.learned.false_positive_risk
        assert r is not None and r.risk is not None and 0 <= r.risk <= 1
        assert r.n_history >= 20 and r.power is not None and r.success_rate is not None
        (risk,) = [x.text for x in t.reasons if x.kind == "risk"]
        assert risk.startswith("False-positive risk") and "Kohavi, Deng & Vermeer" in risk


def test_twyman_alert_comes_first(learned: tuple) -> None:
    _, readout = learned
    t = readout.experiments["animated_onboarding"].treatments[0]
    assert [a.metric for a in t.learned.alerts] == ["onboarding_clicks"]
    assert t.reasons[0].kind == "alert" and t.reasons[0].metrics == ("onboarding_clicks",)
    assert t.reasons[0].text.startswith(
        "Too good to be true? Check the instrumentation: Onboarding clicks"
    )


def test_history_lines_count_other_experiments_only() -> None:
    history = MetricHistory(
        Edge("pv", "ns", "vanity"),
        frozenset({("a", "t1"), ("a", "t2"), ("b", "t")}),
        frozenset({("a", "t2")}),
    )
    text = history_reason(
        result(experiment="a", variant="t1", metric="pv", label="Page views"), history
    )
    assert "followed 0 of 1 time" in text  # the sibling arm a/t2 is not history


def test_json_carries_north_star_predicted_and_pins_read_it_back(learned: tuple) -> None:
    _, readout = learned
    data = json.loads(
        json.dumps(experiment_dict(readout.experiments["streak_society"]), allow_nan=False)
    )
    (comparison,) = data["comparisons"]
    predicted = comparison["north_star_predicted"]
    assert set(predicted) >= {"rel_effect", "rel_ci_low", "rel_ci_high", "from", "n_history"}
    assert predicted["from"][0] == "lessons_completed"
    back = experiment_from_dict(data, Settings()).treatments[0]
    assert back.learned == readout.experiments["streak_society"].treatments[0].learned


def test_pins_read_typed_reasons_back_and_infer_them_for_older_pins(learned: tuple) -> None:
    _, readout = learned
    live = readout.experiments["animated_onboarding"]
    data = json.loads(json.dumps(experiment_dict(live), allow_nan=False))
    (comparison,) = data["comparisons"]
    assert comparison["reasons"] == [r.text for r in live.treatments[0].reasons]
    assert comparison["reason_kinds"] == [r.kind for r in live.treatments[0].reasons]
    back = experiment_from_dict(data, live.settings).treatments[0]
    assert back.reasons == live.treatments[0].reasons
    for c in data["comparisons"]:  # a pin made before reasons carried their kind
        del c["reason_kinds"], c["reason_metrics"]
    older = [r.kind for r in experiment_from_dict(data, Settings()).treatments[0].reasons]
    want = [
        r.kind if r.kind in ("alert", "history") else "note" for r in live.treatments[0].reasons
    ]
    assert older == want and {"alert", "history", "note"} <= set(older)


def test_too_little_history_says_how_many_more(data_dir: Path, run_cli: CliRunner) -> None:
    code, out, err = run_cli("readout", data_dir, "--format", "json")
    assert code == 0, err
    for comparison in json.loads(out)["experiments"][0]["comparisons"]:
        predicted = comparison["north_star_predicted"]
        assert predicted["rel_effect"] is None
        assert predicted["comparisons_needed"] == 20 - predicted["n_history"] > 0
        assert "the model needs 20" in predicted["reason"]
        risk = comparison["false_positive_risk"]
        assert risk["risk"] is None and risk["reason"] == "too little history"


def test_sentences() -> None:
    p = NorthStarPrediction(0.012, 0.004, 0.02, 0.95, ("ns", "ret"), 48)
    text = prediction_sentence(p, 0.009, {"ret": ("Day-7 retention", 0.031)})
    assert text == (
        "Day-7 retention +3.1%, with the North Star's own +0.9%: from 48 past comparisons that "
        "predicts the North Star +1.2% [+0.4%, +2.0%] (95%)."
    )
    assert predicts_win(p, 1) and not predicts_win(p, -1)
    alone = p._replace(sources=("ns",))
    assert not predicts_win(alone, 1)  # no leading indicator informed it
    assert "no validated leading indicator" in prediction_sentence(alone, 0.009, {})
    gap = NorthStarPrediction(None, None, None, 0.95, (), 12, "12 comparisons ...", 8)
    assert prediction_sentence(gap, 0.0, {}).startswith("No North Star prediction yet")


def test_a_too_small_portfolio_for_the_cli_tree(tmp_path: Path, run_cli: CliRunner) -> None:
    write_metrics(tmp_path)
    write_frame(make_units(5, {"control": 500, "t": 500}), tmp_path / "e.csv")
    code, out, _ = run_cli("tree", tmp_path, "--format", "json")
    assert code == 0
    assert {e["label"] for e in json.loads(out)["edges"]} == {"too_few"}


def test_history_lines_and_the_tree_count_the_same(learned: tuple) -> None:
    """A metric's history record is its North Star edge, and its moved / followed comparisons
    are the ones the edge counts: the readout's history lines and the tree page agree."""
    learning, _ = learned
    ns = learning.evidence.catalog.north_star.id
    for metric, history in learning.history.items():
        edge = learning.evidence.edge(metric, ns)
        assert history.edge is edge
        assert (len(history.moved), len(history.followed)) == (
            edge.n_moved,
            edge.n_parent_followed,
        )
