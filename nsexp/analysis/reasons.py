"""The reasons of a verdict, in sentences a person can read, quoting the result model's figures.

Each reason is a typed record (`Reason`: its kind from REASON_KINDS, the sentence, the metrics it
names), so every surface picks reasons by kind instead of matching their text. Each metric is
quoted with its decision interval (MetricResult.decision_interval: the adjusted one, or the
credible one under the Bayesian engine), so a quoted figure never contradicts its verdict.
History records (what past experiments say about a metric) are built by nsexp.learning.history
and quoted here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

from nsexp import format as fmt
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.learned import (
    Edge,
    Learned,
    alert_sentence,
    predicts_win,
    risk_sentence,
)
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.stats.skew import SKEW_TEST
from nsexp.stats.validity import HELD

ReasonKind = Literal[
    "data",
    "verdict",
    "north_star",
    "guardrail",
    "moved",
    "alert",
    "risk",
    "prediction",
    "history",
    "note",
]
# The kinds of reason, each with what it says: surfaces pick reasons by kind, never by text.
REASON_KINDS: dict[ReasonKind, str] = {
    "alert": "a metric far outside what the history makes plausible (Twyman's law)",
    "data": "a failed data check (SRM included): why an invalid comparison cannot be read",
    "verdict": "the sentence that states the verdict, with the figures that decide it",
    "north_star": "more on the North Star: a win smaller than its practical threshold, or how "
    "its test met a skewed arm",
    "guardrail": "a guardrail not shown safe, or one that also got worse",
    "risk": "the false-positive risk of a North Star win",
    "prediction": "leading indicators that predict a North Star win the North Star cannot show",
    "moved": "the other metrics that moved, better or worse",
    "history": "what past experiments say about a metric that improved",
    "note": "a reason read back from a pin made before reasons carried their kind",
}
HISTORY_LEAD = "History:"  # how a history reason starts (pins without kinds are read by it)


@dataclass(frozen=True)
class Reason:
    """One reason of a verdict: its kind (REASON_KINDS), the sentence, the metric ids it names."""

    kind: ReasonKind
    text: str
    metrics: tuple[str, ...] = ()


class MetricHistory(NamedTuple):
    """A metric's record in past experiments: its edge to the North Star (label, corrected
    correlation, comparisons) and which comparisons (experiment, variant) moved it and where
    the North Star followed."""

    edge: Edge
    moved: frozenset[tuple[str, str]]
    followed: frozenset[tuple[str, str]]


HISTORY_DEFINITION = (
    "How history lines read: a metric 'moved' in a comparison when it was significant after "
    "the correction; the North Star 'followed' when it was significant too, the same way. The "
    "label is the metric's record over every valid past comparison: predictive when the "
    "correlation of its true effects with the North Star's (corrected for noise) is at least "
    "0.5 with its interval above 0; vanity when it moved at least 3 times, the North Star "
    "followed under half of them and that correlation is below 0.3; too few under 20 "
    "comparisons; weak otherwise. The counts leave out the experiment on view; the label rests "
    "on every valid comparison on record."
)


def describe(m: MetricResult) -> str:
    """'Page views +8.1% [+5.2%, +11.0%], adjusted p < 0.001' for one metric's result: its decision
    effect and interval (posterior mean and credible interval under the Bayesian engine), and
    why the figures are unadjusted where CUPED would have widened the interval."""
    if m.cuped_variance_increase is None:
        return _describe(m)
    return (
        f"{_describe(m)} (unadjusted: CUPED would widen the interval, variance "
        f"+{m.cuped_variance_increase:.0%})"
    )


def _describe(m: MetricResult) -> str:
    """describe() without the CUPED caveat."""
    low, high = m.decision_interval
    if m.engine == "bayesian":
        return (
            f"{m.name} {fmt.pct(m.decision_effect)} {fmt.pct_ci(low, high)}, {significance_text(m)}"
        )
    if m.rel_effect is None and m.abs_effect is not None:
        # control at 0: no relative lift, so give the absolute change and its interval
        a_low, a_high = m.decision_abs_interval
        return (
            f"{m.name} {fmt.effect(m.abs_effect, m.type)} "
            f"[{fmt.effect(a_low, m.type)}, {fmt.effect(a_high, m.type)}], {significance_text(m)}"
        )
    return f"{m.name} {fmt.pct(m.rel_effect)} {fmt.pct_ci(low, high)}, {significance_text(m)}"


def significance_text(m: MetricResult) -> str:
    """What decides a metric's significance, labelled: 'adjusted p = 0.066' (the p-value after
    the multiplicity correction, never called plain p), or 'chance to win 97.1%' under the
    Bayesian engine."""
    if m.engine == "bayesian":
        return f"chance to win {fmt.chance(m.chance_to_win)}"
    return f"adjusted {fmt.p_value(m.p_adjusted)}"


def north_star_clause(ns: MetricResult, settings: Settings, *, quoted: bool = True) -> str:
    """How the North Star moved and what that means: moved, flat or inconclusive. Only the
    flatness sentence quotes the (1 − 2α) interval of the flat test, and names it. `quoted`:
    with the North Star's own figure and decision interval; without them where they are shown
    beside the sentence (the app's verdict card), so the card quotes one North Star interval."""
    name = f"the North Star {ns.name}"
    limit = fmt.threshold(ns.practical_threshold)
    if ns.p_value is None and ns.note and ns.rel_effect is not None:
        moved = f"moved {fmt.pct(ns.rel_effect)} with" if quoted else "has"
        return f"{name} {moved} no test: {ns.note}"
    figure = describe(ns).removeprefix(ns.name + " ")
    if ns.significant:
        return f"{name} moved {figure}" if quoted else f"{name} moved ({significance_text(ns)})"
    band = (
        f"its {interval_name(settings, 'flat')} "
        f"{fmt.pct_ci(ns.equivalence_ci_low, ns.equivalence_ci_high)}"
    )
    if ns.flat:
        if not quoted:
            return f"{name} is flat: {band} lies inside its {limit} threshold"
        return f"{name} moved {figure}; {band} lies inside its {limit} threshold: flat"
    bar = f"; a win needs {fmt.chance(1 - settings.alpha / 2)}" if ns.engine == "bayesian" else ""
    uncertain = f"{band} reaches past {limit}, too uncertain to rule out an effect worth acting on"
    if not quoted:
        return f"{name} is inconclusive ({significance_text(ns)}{bar}): {uncertain}"
    need, have = ns.units_needed, min(ns.n_control, ns.n_treatment)
    tail = (
        f"; about {fmt.count(need)} units per arm (now {fmt.count(have)}) "
        f"would tell a {limit} effect from zero"
        if need is not None
        else ""
    )
    bar = f" ({bar.removeprefix('; ')})" if bar else ""
    return f"{name} moved {figure}{bar}; {uncertain}: inconclusive{tail}"


def guardrail_caveats(metrics: Sequence[MetricResult]) -> list[Reason]:
    """Risk-aware shipping (Schultzberg et al. 2024): name guardrails not shown safe."""
    return [
        Reason("guardrail", _caveat(m), (m.metric,))
        for m in metrics
        if m.role == "guardrail" and m.guardrail_status not in (None, "safe", "breached")
    ]


def _caveat(m: MetricResult) -> str:
    """Why one guardrail is not shown safe: no margin, or too little data to rule out harm."""
    margin = m.non_inferiority_margin
    if margin is None:
        return f"Guardrail {m.name} is not shown safe: it has no non_inferiority_margin."
    power = m.guardrail_power
    odds = f" (the test had {power * 100:.0f}% power)" if power else ""
    return (
        f"Guardrail {m.name} is not shown safe: the data cannot yet rule out it being "
        f"more than {margin * 100:g}% worse{odds}; ship with care."
    )


def history_reason(m: MetricResult, history: MetricHistory) -> str:
    """The history of a metric in one sentence: how often it moved in other experiments, how
    often the North Star followed, and its label with the correlation behind it (the terms of
    HISTORY_DEFINITION, which the page states once).

    Every comparison of the experiment being explained is left out of the counts (its sibling
    arms too), so a readout never quotes itself as history.
    """
    moved = len(history.moved) - _per_experiment(history.moved)[m.experiment]
    followed = len(history.followed) - _per_experiment(history.followed)[m.experiment]
    times = "time" if moved == 1 else "times"
    count = (
        f"{m.name} has not moved significantly in any other experiment"
        if moved == 0
        else f"when {m.name} moved in other experiments, the North Star followed {followed} of "
        f"{moved} {times}"
    )
    return f"{HISTORY_LEAD} {count}; {_label_text(history)}."


@lru_cache(maxsize=256)
def _per_experiment(comparisons: frozenset[tuple[str, str]]) -> Counter[str]:
    """How many of the comparisons each experiment has, counted once per history record (a
    portfolio's readout explains every metric of every comparison against the same records)."""
    return Counter(e for e, _ in comparisons)


def _label_text(history: MetricHistory) -> str:
    """'on record, Day-7 retention → Lessons completed: predictive (corrected correlation +0.81
    [+0.62, +0.91] over 44 comparisons)': the edge and its label as every surface names them."""
    return edge_evidence(history.edge)


def edge_evidence(edge: Edge) -> str:
    """An edge named with its label and the evidence behind it (see _label_text)."""
    if edge.label == "too_few" or edge.corrected_correlation is None:
        return f"on record, {edge.heading} ({edge.n_comparisons} comparisons on record)"
    r = f"{edge.corrected_correlation:+.2f}".replace("-", fmt.MINUS)
    band = ""
    if edge.correlation_ci_low is not None and edge.correlation_ci_high is not None:
        low = f"{edge.correlation_ci_low:+.2f}".replace("-", fmt.MINUS)
        high = f"{edge.correlation_ci_high:+.2f}".replace("-", fmt.MINUS)
        band = f" [{low}, {high}]"
    return (
        f"on record, {edge.heading} (corrected correlation {r}{band} over "
        f"{edge.n_comparisons} comparisons)"
    )


def explain(
    verdict: str,
    metrics: Sequence[MetricResult],
    settings: Settings,
    problems: Sequence[str],
    history: Mapping[str, MetricHistory] | None = None,
    learned: Learned | None = None,
    paths: Mapping[str, tuple[Edge, ...]] | None = None,
) -> list[Reason]:
    """Plain-English reasons for one treatment's verdict, naming metrics and their figures.

    `metrics` are that treatment's results, `problems` the experiment's failed data checks
    (SRM included): an invalid comparison gets only those. `history` holds optional per-metric
    records quoted for the metrics that improved, `learned` the comparison's record from the
    portfolio: Twyman alerts come first, a win gets its false-positive risk, and an
    inconclusive North Star whose validated inputs predict a win says so. `paths` are the
    validated inputs with their edges up the tree, which a leading_win names.
    """
    if verdict == "invalid":
        return [
            Reason("data", f"{p[0].upper()}{p[1:]}: no effect in this experiment can be trusted.")
            for p in problems
        ]
    ns, better, worse = _moves(metrics)
    alerts = learned.alerts if learned is not None else ()
    return [
        *(Reason("alert", alert_sentence(a), (a.metric,)) for a in alerts),
        *(
            _leading_win(ns, better, settings, paths or {}, learned)
            if verdict == "leading_win"
            else _headline(verdict, ns, metrics, better, worse, settings)
        ),
        *skew_reasons(verdict, ns),
        *(_learned_reasons(verdict, ns, metrics, learned) if learned is not None else ()),
        *_moved(verdict, better, worse),
        *(
            Reason("history", history_reason(m, history[m.metric]), (m.metric,))
            for m in better
            if history and m.metric in history
        ),
    ]


def _moved(verdict: str, better: list[MetricResult], worse: list[MetricResult]) -> list[Reason]:
    """After a verdict on the North Star or a guardrail: a guardrail that also got worse and the
    metrics also better; after any verdict: the other metrics that got worse."""
    out = []
    if verdict in ("north_star_win", "north_star_loss"):
        out += [
            _about("guardrail", "A guardrail also got worse: ", [m])
            for m in worse
            if m.role == "guardrail"
        ]
    if better and verdict in ("north_star_win", "north_star_loss", "guardrail_breach"):
        out.append(_about("moved", "Also better: ", better))
    others_worse = [m for m in worse if m.role != "guardrail"]
    if others_worse:
        out.append(_about("moved", "Worse: ", others_worse))
    return out


def _about(kind: ReasonKind, lead: str, metrics: Sequence[MetricResult]) -> Reason:
    """'Also better: Page views +8.1% [...], p < 0.001; ...' naming each metric's figures."""
    text = lead + "; ".join(describe(m) for m in metrics) + "."
    return Reason(kind, text, tuple(m.metric for m in metrics))


def skew_reasons(verdict: str, ns: MetricResult) -> list[Reason]:
    """What the North Star's skewness check did where it mattered (nsexp.stats.skew)."""
    if verdict == "invalid":
        return []
    if ns.method == SKEW_TEST:
        text = (
            f"{ns.name}'s smaller arm is too skewed for the normal approximation (Kohavi's "
            "n > 355·s² rule), so its test is Welch's t corrected for the skewness."
        )
        return [Reason("north_star", text, (ns.metric,))]
    held = [part for part in (ns.note or "").split("; ") if part.startswith(HELD)]
    return [Reason("north_star", f"{ns.name} {held[0]}.", (ns.metric,))] if held else []


def _learned_reasons(
    verdict: str, ns: MetricResult, metrics: Sequence[MetricResult], learned: Learned
) -> list[Reason]:
    """The false-positive risk of a win; 'leading indicators predict a North Star win' where the
    North Star is inconclusive and its validated inputs predict a win."""
    out = []
    if verdict == "north_star_win" and learned.false_positive_risk is not None:
        out.append(Reason("risk", risk_sentence(learned.false_positive_risk), (ns.metric,)))
    inconclusive = not ns.significant and not ns.flat and verdict != "leading_win"
    p = learned.prediction
    if inconclusive and p is not None and predicts_win(p, ns.sign):
        level = f"{p.level * 100:g}%"
        text = (
            "Leading indicators predict a North Star win: the North Star's true lift, "
            f"predicted from this experiment's {_names(p.sources[1:], metrics)} (and "
            f"{p.n_history} past comparisons), is {fmt.pct(p.rel_effect)} "
            f"{fmt.pct_ci(p.rel_ci_low, p.rel_ci_high)} ({level}), clear of zero while its own "
            "estimate is still inconclusive."
        )
        out.append(Reason("prediction", text, (ns.metric, *p.sources[1:])))
    return out


PREDICTED_LEAD = " The predicted North Star"  # where a leading_win's sentence names the prediction


def leading_win_on_card(text: str, ns: MetricResult, settings: Settings) -> str:
    """A leading_win's sentence as its card words it, short enough for the first screen: the
    edge's label without its correlation (the readout's exports and JSON keep the whole
    sentence), the North Star clause without the figure the card shows beside it, and no
    predicted North Star, which the card's model estimate states under it (each said once)."""
    said = re.sub(r" \(corrected correlation [^)]*\)", "", text.split(PREDICTED_LEAD)[0])
    return said.replace(
        north_star_clause(ns, settings), north_star_clause(ns, settings, quoted=False)
    )


def _leading_win(
    ns: MetricResult,
    better: list[MetricResult],
    settings: Settings,
    paths: Mapping[str, tuple[Edge, ...]],
    learned: Learned | None,
) -> list[Reason]:
    """A leading_win's sentence: the validated inputs that improved with each edge of their
    path and its evidence, the North Star's own inconclusive figure, and the predicted North
    Star (the history's model estimate, when there is one)."""
    inputs = [m for m in better if m.metric in paths]
    said = "; ".join(
        f"{describe(m)}, a validated input: " + "; ".join(edge_evidence(e) for e in paths[m.metric])
        for m in inputs
    )
    p = learned.prediction if learned is not None else None
    predicted = (
        f"{PREDICTED_LEAD} (a model estimate from {p.n_history} past comparisons and "
        f"this experiment's inputs) is {fmt.pct(p.rel_effect)} "
        f"{fmt.pct_ci(p.rel_ci_low, p.rel_ci_high)} ({p.level * 100:g}%)."
        if p is not None and p.available
        else ""
    )
    ids = tuple(m.metric for m in (*inputs, ns))
    text = f"{said}. But {north_star_clause(ns, settings)}.{predicted}"
    return [Reason("verdict", text, ids)]


def _names(ids: Sequence[str], metrics: Sequence[MetricResult]) -> str:
    """'Day-7 retention and Lessons started' from metric ids."""
    names = {m.metric: m.name for m in metrics}
    shown = [names.get(i, i) for i in ids]
    return " and ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)


def _headline(
    verdict: str,
    ns: MetricResult,
    metrics: Sequence[MetricResult],
    better: list[MetricResult],
    worse: list[MetricResult],
    settings: Settings,
    *,
    quoted: bool = True,
) -> list[Reason]:
    """The sentences that state a valid comparison's verdict itself (a win also names the
    guardrails not shown safe, and a lift smaller than the practical threshold). `quoted`: the
    North Star's figure and interval in the sentence (north_star_clause)."""
    if verdict == "north_star_loss":
        if not quoted:
            text = f"The North Star {ns.name} got significantly worse ({significance_text(ns)})."
            return [Reason("verdict", text, (ns.metric,))]
        return [_about("verdict", "The North Star got worse: ", [ns])]
    if verdict == "guardrail_breach":
        return [
            _about("verdict", "Guardrail got worse: ", [m]) for m in worse if m.role == "guardrail"
        ]
    if verdict == "north_star_win":
        if not quoted:
            text = (
                f"The North Star {ns.name} improved significantly ({significance_text(ns)}), and "
                "no guardrail got significantly worse."
            )
            return [Reason("verdict", text, (ns.metric,))]
        return [
            _about("verdict", "The North Star improved: ", [ns]),
            *guardrail_caveats(metrics),
            *_small_win(ns, settings),
        ]
    clause = north_star_clause(ns, settings, quoted=quoted)
    if verdict == "vanity_only":
        moved = "; ".join(describe(m) for m in better)
        ids = tuple(m.metric for m in (*better, ns))
        return [Reason("verdict", f"{moved}, but {clause}.", ids)]
    lead = "No metric improved" if verdict == "flat" else "No metric moved significantly"
    return [Reason("verdict", f"{lead}, and {clause}.", (ns.metric,))]


def deciding_reason(verdict: str, metrics: Sequence[MetricResult], settings: Settings) -> Reason:
    """The one sentence that decided a valid comparison's verdict, worded for a card that shows
    the North Star's figure and decision interval beside it, so it does not quote them again
    (the equivalence interval stays inside the sentence that explains flat or inconclusive)."""
    ns, better, worse = _moves(metrics)
    return _headline(verdict, ns, metrics, better, worse, settings, quoted=False)[0]


def _moves(
    metrics: Sequence[MetricResult],
) -> tuple[MetricResult, list[MetricResult], list[MetricResult]]:
    """The North Star, and the other metrics that got significantly better and worse."""
    ns = next(m for m in metrics if m.role == "north_star")
    better = [m for m in metrics if m.better and m.role != "north_star"]
    worse = [m for m in metrics if m.worse and m.role != "north_star"]
    return ns, better, worse


def _small_win(ns: MetricResult, settings: Settings) -> list[Reason]:
    """A North Star win whose lift is smaller than the practical threshold the team set: what
    the test shows (significant) and its interval against the threshold, which either still
    reaches it (the true lift may be worth acting on) or lies short of it."""
    effect, threshold = ns.decision_effect, ns.practical_threshold
    if effect is None or abs(effect) >= threshold:
        return []
    low, high = ns.decision_interval
    far = high if ns.sign > 0 else (None if low is None else -low)  # in the good direction
    limit = fmt.threshold(threshold)
    interval = f"its {interval_name(settings, 'decision', ns.family_size)} {fmt.pct_ci(low, high)}"
    tail = (
        f"{interval} reaches past {limit}, so the true lift may or may not be worth acting on"
        if far is None or far >= threshold
        else f"{interval} lies short of {limit}: the test shows a lift too small to act on"
    )
    text = (
        f"The lift is significant, but at {fmt.pct(effect)} it is smaller than the {limit} the "
        f"team set as worth acting on; {tail}."
    )
    return [Reason("north_star", text, (ns.metric,))]
