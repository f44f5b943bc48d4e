"""The recommended decision of a comparison: one table (RULES, written out in docs/review.md)
and one function (`recommend`) that reads it, first matching row wins.

A row matches on the verdict, the guardrails and whether the experiment has time left
(`time_left`: running, short of its `planned_units`, fewer than `max_days` days since `start`
and before its `end`, counted inclusively on the data's own calendar; a concluded experiment
has none). Every sentence says what decided it; a win below the practical threshold still
ships and says so, and a decision resting on a setting other than the built-in default
(`max_days`, `ship_on`) names it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple, get_args

from nsexp import format as fmt
from nsexp.analysis.learned import NorthStarPrediction, predicts_win
from nsexp.analysis.results import MetricResult
from nsexp.config.experiments import (
    DEFAULT_MAX_DAYS,
    DEFAULT_SHIP_ON,
    DecisionDefaults,
    ExperimentInfo,
)

Decision = Literal["ship", "roll_back", "keep_running", "stop", "iterate", "fix_data"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
DECISION_LABELS: dict[str, str] = {
    "ship": "Ship",
    "roll_back": "Roll back",
    "keep_running": "Keep running",
    "stop": "Stop",
    "iterate": "Iterate",
    "fix_data": "Fix the data",
}
Guardrails = Literal["any", "clear", "unproven", "not_breached"]
GUARDRAIL_WORDS: dict[str, str] = {
    "any": "any",
    "clear": "all safe, or no margin set and none significantly worse",
    "unproven": "one unproven (margin set, non-inferiority not shown)",
    "not_breached": "not breached",
}
TimeRule = Literal["any", "yes", "no"]


class Rule(NamedTuple):
    """One row of the decision table; `predicted` rows match only where ship_on = "predicted"
    and the predicted North Star's interval clears zero in the good direction."""

    verdicts: tuple[str, ...]
    guardrails: Guardrails
    time: TimeRule
    decision: Decision
    predicted: bool = False


RULES: tuple[Rule, ...] = (
    Rule(("invalid",), "any", "any", "fix_data"),
    Rule(("north_star_loss", "guardrail_breach"), "any", "any", "roll_back"),
    Rule(("north_star_win",), "clear", "any", "ship"),
    Rule(("north_star_win",), "unproven", "yes", "keep_running"),
    Rule(("north_star_win",), "unproven", "no", "ship"),
    Rule(("leading_win",), "not_breached", "yes", "keep_running"),
    Rule(("leading_win",), "not_breached", "no", "ship", predicted=True),
    Rule(("leading_win",), "not_breached", "no", "stop"),
    Rule(("vanity_only",), "any", "any", "iterate"),
    Rule(("flat",), "any", "any", "stop"),
    Rule(("inconclusive",), "any", "yes", "keep_running"),
    Rule(("inconclusive",), "any", "no", "stop"),
)


class TimeLeft(NamedTuple):
    """Whether the experiment still has time, why (or why not), and the days it has left (None
    where the data has no dates); `setting` names a non-default max_days it rests on."""

    left: bool
    why: str
    days_left: int | None = None
    setting: str = ""


class Recommendation(NamedTuple):
    """The recommended decision of one comparison and the sentence that says why."""

    decision: Decision
    reason: str


def _date(text: str) -> dt.date | None:
    """The date part of an ISO date or date-time ('' → None)."""
    return dt.date.fromisoformat(text[:10]) if text else None


def time_left(
    info: ExperimentInfo,
    status: str,
    units: int,
    first: dt.date | None,
    last: dt.date | None,
    defaults: DecisionDefaults,
) -> TimeLeft:
    """Time left for one comparison of `units` units (both arms): a running experiment short of
    its planned_units, before its `end`, and fewer than max_days days (inclusive) from its
    start (experiments.toml, else its first data date) to its last data date."""
    max_days = info.max_days or defaults.max_days
    setting = f"max_days = {max_days}" if max_days != DEFAULT_MAX_DAYS else ""
    if status == "concluded":
        ended = f" on {info.end}" if info.end else ""
        return TimeLeft(False, f"it has concluded{ended}")
    end = _date(info.end)
    if end is not None and last is not None and last >= end:
        return TimeLeft(False, f"its end date {info.end} is reached")
    if info.planned_units is not None and units >= info.planned_units:
        return TimeLeft(
            False, f"it has its planned {fmt.count(info.planned_units)} units ({fmt.count(units)})"
        )
    start = _date(info.start) or first
    if start is None or last is None:
        return TimeLeft(True, "the data has no dates to count its days by")
    run = (last - start).days + 1
    if run >= max_days:
        return TimeLeft(False, f"it has run {run} of its {max_days} days", 0, setting)
    return TimeLeft(True, f"day {run} of {max_days}", max_days - run, setting)


def _guardrails_match(rule: Guardrails, metrics: Sequence[MetricResult]) -> bool:
    """Whether the comparison's guardrails fit a row's guardrail column."""
    if rule == "any":
        return True
    if rule == "not_breached":
        return not any(m.guardrail_status == "breached" for m in metrics)
    return bool(unproven_guardrails(metrics)) == (rule == "unproven")


def unproven_guardrails(metrics: Sequence[MetricResult]) -> list[MetricResult]:
    """Guardrails with a margin whose non-inferiority is not shown (no margin: not unproven)."""
    return [
        m
        for m in metrics
        if m.role == "guardrail"
        and m.guardrail_status == "unproven"
        and m.non_inferiority_margin is not None
    ]


def recommend(
    verdict: str,
    metrics: Sequence[MetricResult],
    time: TimeLeft,
    info: ExperimentInfo,
    defaults: DecisionDefaults,
    prediction: NorthStarPrediction | None = None,
) -> Recommendation:
    """The first row of RULES that fits the comparison, with its sentence."""
    ship_on = info.ship_on or defaults.ship_on
    ns = next(m for m in metrics if m.role == "north_star")
    for rule in RULES:
        if (
            verdict in rule.verdicts
            and _guardrails_match(rule.guardrails, metrics)
            and (rule.time == "any" or time.left == (rule.time == "yes"))
            and (not rule.predicted or _predicted_win(ship_on, prediction, ns))
        ):
            text = _sentence(rule, verdict, metrics, time, ship_on, prediction)
            return Recommendation(rule.decision, text)
    raise ValueError(f"no decision rule for verdict {verdict!r}")  # RULES cover every verdict


def _predicted_win(ship_on: str, prediction: NorthStarPrediction | None, ns: MetricResult) -> bool:
    """ship_on = "predicted" and the predicted North Star's interval clears zero the good way."""
    return ship_on == "predicted" and predicts_win(prediction, ns.sign)


def _ns(ns: MetricResult) -> str:
    """'+4.2% [+3.1%, +5.2%]': the North Star's decision figure."""
    return f"{fmt.pct(ns.decision_effect)} {fmt.pct_ci(*ns.decision_interval)}"


def _sentence(
    rule: Rule,
    verdict: str,
    metrics: Sequence[MetricResult],
    time: TimeLeft,
    ship_on: str,
    prediction: NorthStarPrediction | None,
) -> str:
    """Why this row's decision, in one or two sentences, with the settings it rests on."""
    ns = next(m for m in metrics if m.role == "north_star")
    uses_time = rule.time != "any"
    text = _what(rule, verdict, metrics, time, ship_on, prediction)
    settings = [time.setting] if uses_time and time.setting else []
    if verdict == "leading_win" and not time.left and ship_on != DEFAULT_SHIP_ON:
        settings.append(f'ship_on = "{ship_on}"')
    if rule.decision == "ship" and verdict == "north_star_win":
        text += _below_threshold(ns)
    if settings:
        text += f" This rests on {' and '.join(settings)} in experiments.toml, not the default."
    return text


def _below_threshold(ns: MetricResult) -> str:
    """' The lift is below the ±2% the team called worth acting on.' for a small win."""
    effect = ns.decision_effect
    if effect is None or abs(effect) >= ns.practical_threshold:
        return ""
    return (
        f" At {fmt.pct(effect)} the lift is below the {fmt.threshold(ns.practical_threshold)} "
        "the team called worth acting on."
    )


def _what(
    rule: Rule,
    verdict: str,
    metrics: Sequence[MetricResult],
    time: TimeLeft,
    ship_on: str,
    prediction: NorthStarPrediction | None,
) -> str:
    """The decision's own sentence, per row of the table."""
    ns = next(m for m in metrics if m.role == "north_star")
    unproven = ", ".join(m.name for m in unproven_guardrails(metrics))
    if verdict == "invalid":
        return "Fix the data: a failed data check means nothing in this comparison can be read."
    if verdict == "north_star_loss":
        return f"Roll back: the North Star {ns.name} got worse, {_ns(ns)}."
    if verdict == "guardrail_breach":
        worse = "; ".join(f"{m.name} {_ns(m)}" for m in metrics if m.guardrail_status == "breached")
        return f"Roll back: guardrail {worse} got worse."
    if verdict == "north_star_win":
        head = f"the North Star {ns.name} improved {_ns(ns)}"
        if rule.guardrails == "clear":
            return f"Ship: {head}, and no guardrail is worse or unproven."
        if rule.decision == "keep_running":
            return (
                f"Keep running: {head}, but guardrail {unproven} is not yet shown safe; {time.why}."
            )
        return (
            f"Ship: {head}; guardrail {unproven} is still not shown safe, and there is no time "
            f"left to show it ({time.why})."
        )
    if verdict == "leading_win":
        return _leading(rule, ns, time, ship_on, prediction)
    if verdict == "vanity_only":
        return (
            f"Iterate: other metrics moved but the North Star {ns.name} did not "
            f"({_ns(ns)}): rework the idea so it reaches the North Star."
        )
    if verdict == "flat":
        return (
            f"Stop: the North Star {ns.name} is shown flat, {_ns(ns)}, inside its "
            f"{fmt.threshold(ns.practical_threshold)} threshold."
        )
    if time.left:
        return f"Keep running: nothing has moved yet, and there is time left ({time.why})."
    return f"Stop: nothing moved and there is no time left ({time.why})."


def _leading(
    rule: Rule,
    ns: MetricResult,
    time: TimeLeft,
    ship_on: str,
    prediction: NorthStarPrediction | None,
) -> str:
    """A leading_win's decision: more days to read the North Star, or (out of time) ship on
    the predicted North Star where ship_on says so, else stop."""
    if time.left:
        days = ns.days_needed
        more = (
            f"about {math.ceil(days)} more days to read the North Star at current traffic"
            if days is not None and math.isfinite(days)
            else "more data to read the North Star"
        )
        short = (
            f", more than the {time.days_left} days left"
            if days is not None and time.days_left is not None and days > time.days_left
            else ""
        )
        return f"Keep running: a validated input improved; {more} ({time.why}{short})."
    if rule.decision == "ship" and prediction is not None:
        predicted = (
            f"{fmt.pct(prediction.rel_effect)} "
            f"{fmt.pct_ci(prediction.rel_ci_low, prediction.rel_ci_high)}"
        )
        return (
            f"Ship on the prediction: there is no time left ({time.why}) and the predicted "
            f"North Star {predicted} clears zero."
        )
    why = (
        "the team ships on the North Star's own test"
        if ship_on == "north_star"
        else "the predicted North Star does not clear zero"
    )
    return (
        f"Stop: a validated input improved but the North Star could not be read in time "
        f"({time.why}), and {why}."
    )
