"""The recommended decision: the table row by row, time left from experiments.toml (running,
concluded, planned units, end, max_days, counted by hand), the threshold case and the
sentences that name a non-default setting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import result

from nsexp.analysis.decision import (
    DECISIONS,
    RULES,
    TimeLeft,
    recommend,
    time_left,
)
from nsexp.analysis.learned import NorthStarPrediction
from nsexp.analysis.verdict import VERDICTS
from nsexp.config.experiments import DecisionDefaults, ExperimentInfo, parse_decision_defaults
from nsexp.errors import InputError

DEFAULTS = DecisionDefaults()
INFO = ExperimentInfo(id="e")
TIME = TimeLeft(True, "day 10 of 28", 18)
NO_TIME = TimeLeft(False, "it has run 28 of its 28 days", 0)


def ns(**fields: Any) -> Any:
    """The North Star's result: +3% [+1%, +5%] by default, threshold 1%."""
    base = {
        "metric": "ns",
        "label": "Lessons",
        "role": "north_star",
        "rel_effect": 0.03,
        "rel_ci_low": 0.01,
        "rel_ci_high": 0.05,
        "days_needed": 9.0,
    }
    return result(**(base | fields))


def guardrail(status: str | None, margin: float | None = 0.02) -> Any:
    return result(
        metric="g",
        label="Crashes",
        role="guardrail",
        guardrail_status=status,
        non_inferiority_margin=margin,
        rel_effect=0.01,
        rel_ci_low=-0.01,
        rel_ci_high=0.03,
    )


PREDICTED = NorthStarPrediction(0.026, 0.009, 0.044, 0.95, ("ns", "d7"), 55)
NOT_PREDICTED = NorthStarPrediction(0.01, -0.01, 0.03, 0.95, ("ns", "d7"), 55)

# name: verdict, metrics, time left, ship_on, prediction, the decision the table gives
ROWS: dict[str, tuple[str, list, TimeLeft, str, Any, str]] = {
    "invalid": ("invalid", [ns()], TIME, "north_star", None, "fix_data"),
    "loss": ("north_star_loss", [ns(rel_effect=-0.03)], TIME, "north_star", None, "roll_back"),
    "breach": ("guardrail_breach", [ns(), guardrail("breached")], NO_TIME, "north_star", None,
               "roll_back"),
    "win_safe": ("north_star_win", [ns(), guardrail("safe")], TIME, "north_star", None, "ship"),
    "win_no_margin": ("north_star_win", [ns(), guardrail("unproven", None)], TIME, "north_star",
                      None, "ship"),
    "win_unproven_time": ("north_star_win", [ns(), guardrail("unproven")], TIME, "north_star",
                          None, "keep_running"),
    "win_unproven_no_time": ("north_star_win", [ns(), guardrail("unproven")], NO_TIME,
                             "north_star", None, "ship"),
    "leading_time": ("leading_win", [ns()], TIME, "north_star", PREDICTED, "keep_running"),
    "leading_predicted": ("leading_win", [ns()], NO_TIME, "predicted", PREDICTED, "ship"),
    "leading_predicted_not_clear": ("leading_win", [ns()], NO_TIME, "predicted", NOT_PREDICTED,
                                    "stop"),
    "leading_north_star": ("leading_win", [ns()], NO_TIME, "north_star", PREDICTED, "stop"),
    "vanity": ("vanity_only", [ns()], TIME, "north_star", None, "iterate"),
    "flat": ("flat", [ns()], TIME, "north_star", None, "stop"),
    "inconclusive_time": ("inconclusive", [ns()], TIME, "north_star", None, "keep_running"),
    "inconclusive_no_time": ("inconclusive", [ns()], NO_TIME, "north_star", None, "stop"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(ROWS))
def test_each_row_of_the_table(name: str) -> None:
    verdict, metrics, time, ship_on, prediction, expected = ROWS[name]
    info = ExperimentInfo(id="e", ship_on=ship_on)  # type: ignore[arg-type]
    got = recommend(verdict, metrics, time, info, DEFAULTS, prediction)
    assert got.decision == expected
    assert got.reason.startswith(
        {
            "ship": "Ship",
            "roll_back": "Roll back",
            "keep_running": "Keep running",
            "stop": "Stop",
            "iterate": "Iterate",
            "fix_data": "Fix the data",
        }[expected]
    )


def test_the_table_covers_every_verdict_and_decision() -> None:
    assert {v for r in RULES for v in r.verdicts} == set(VERDICTS)
    assert {r.decision for r in RULES} == set(DECISIONS)
    assert {ROWS[n][5] for n in ROWS} == set(DECISIONS)


def test_unproven_guardrail_out_of_time_ships_naming_it() -> None:
    got = recommend("north_star_win", [ns(), guardrail("unproven")], NO_TIME, INFO, DEFAULTS)
    assert got.decision == "ship"
    assert "guardrail Crashes is still not shown safe" in got.reason
    assert "28 of its 28 days" in got.reason


def test_a_win_below_the_threshold_ships_and_says_so() -> None:
    small = ns(rel_effect=0.004, rel_ci_low=0.001, rel_ci_high=0.007, practical_threshold=0.01)
    got = recommend("north_star_win", [small], TIME, INFO, DEFAULTS)
    assert got.decision == "ship"
    assert "below the ±1% the team called worth acting on" in got.reason
    big = recommend("north_star_win", [ns()], TIME, INFO, DEFAULTS)
    assert "below" not in big.reason


def test_leading_win_with_time_says_how_many_more_days() -> None:
    got = recommend("leading_win", [ns(days_needed=9.0)], TIME, INFO, DEFAULTS, PREDICTED)
    assert "about 9 more days to read the North Star" in got.reason
    longer = recommend("leading_win", [ns(days_needed=30.0)], TIME, INFO, DEFAULTS, PREDICTED)
    assert "more than the 18 days left" in longer.reason


def test_a_decision_on_a_non_default_setting_says_so() -> None:
    predicted = ExperimentInfo(id="e", ship_on="predicted")
    got = recommend("leading_win", [ns()], NO_TIME, predicted, DEFAULTS, PREDICTED)
    assert got.decision == "ship" and "+2.6% [+0.9%, +4.4%]" in got.reason
    assert 'ship_on = "predicted" in experiments.toml, not the default' in got.reason
    short = TimeLeft(False, "it has run 14 of its 14 days", 0, "max_days = 14")
    stop = recommend("inconclusive", [ns()], short, INFO, DEFAULTS)
    assert stop.decision == "stop" and "max_days = 14 in experiments.toml" in stop.reason
    # a rule that does not look at the time does not quote the setting
    assert "max_days" not in recommend("flat", [ns()], short, INFO, DEFAULTS).reason
    assert (
        "not the default" not in recommend("inconclusive", [ns()], NO_TIME, INFO, DEFAULTS).reason
    )


# ---------------------------------------------------------------- time left, counted by hand

D = dt.date


def test_days_are_counted_inclusively_from_the_start() -> None:
    info = ExperimentInfo(id="e", start="2026-03-01")
    # 1 March to 27 March inclusive is 27 days: one day left of 28
    left = time_left(info, "running", 100, D(2026, 3, 1), D(2026, 3, 27), DEFAULTS)
    assert (left.left, left.why, left.days_left) == (True, "day 27 of 28", 1)
    out = time_left(info, "running", 100, D(2026, 3, 1), D(2026, 3, 28), DEFAULTS)
    assert (out.left, out.why, out.days_left) == (False, "it has run 28 of its 28 days", 0)


def test_the_first_data_date_stands_in_for_a_missing_start() -> None:
    got = time_left(INFO, "running", 100, D(2026, 3, 10), D(2026, 3, 19), DEFAULTS)
    assert (got.left, got.why) == (True, "day 10 of 28")


def test_a_concluded_experiment_has_no_time_left() -> None:
    info = ExperimentInfo(id="e", end="2026-03-05")
    got = time_left(info, "concluded", 10, D(2026, 3, 1), D(2026, 3, 2), DEFAULTS)
    assert not got.left and got.why == "it has concluded on 2026-03-05"
    decided = recommend("inconclusive", [ns()], got, INFO, DEFAULTS)
    assert decided.decision == "stop" and "concluded" in decided.reason


def test_planned_units_and_end_date_end_the_time() -> None:
    planned = ExperimentInfo(id="e", planned_units=2000)
    assert not time_left(planned, "running", 2000, None, None, DEFAULTS).left
    assert time_left(planned, "running", 1999, None, None, DEFAULTS).left
    ends = ExperimentInfo(id="e", end="2026-03-10")
    assert not time_left(ends, "running", 10, D(2026, 3, 1), D(2026, 3, 10), DEFAULTS).left
    assert time_left(ends, "running", 10, D(2026, 3, 1), D(2026, 3, 9), DEFAULTS).left


def test_max_days_from_the_defaults_or_the_experiment() -> None:
    first, last = D(2026, 3, 1), D(2026, 3, 14)  # 14 days
    assert time_left(INFO, "running", 1, first, last, DEFAULTS).left
    short = DecisionDefaults(max_days=14)
    got = time_left(INFO, "running", 1, first, last, short)
    assert not got.left and got.setting == "max_days = 14"
    own = ExperimentInfo(id="e", max_days=30)
    assert time_left(own, "running", 1, first, last, short).days_left == 16


def test_undated_data_keeps_running() -> None:
    got = time_left(INFO, "running", 1, None, None, DEFAULTS)
    assert got.left and got.days_left is None


def test_decision_defaults_are_read_and_checked() -> None:
    got = parse_decision_defaults({"decision": {"max_days": 21, "ship_on": "predicted"}})
    assert got == DecisionDefaults(21, "predicted")
    assert parse_decision_defaults({}) == DecisionDefaults(28, "north_star")
    for bad in ({"max_days": 0}, {"max_days": "2"}, {"ship_on": "vibes"}, {"other": 1}):
        with pytest.raises(InputError):
            parse_decision_defaults({"decision": bad})
