"""Each verdict rule by a constructed case, with precedence, status and the reasons' figures."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import polars as pl
import pytest
from helpers import write_metrics
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from nsexp import format as fmt
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.reasons import REASON_KINDS, ReasonKind, deciding_reason
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICTS, decide
from nsexp.io import load_dataset

# ---------------------------------------------------------------- decide() on constructed rows


def metric_row(
    role: str,
    *,
    better: bool = False,
    worse: bool = False,
    flat: bool = False,
    variant: str = "t",
) -> dict[str, Any]:
    """One metric's judged result; significant when better or worse."""
    return {
        "experiment": "e",
        "variant": variant,
        "role": role,
        "significant": better or worse,
        "better": better,
        "worse": worse,
        "flat": flat,
    }


CASES: dict[str, tuple[list[dict[str, Any]], bool, str, str]] = {
    # name: (rows, invalid experiment, verdict, north star status)
    "srm_beats_ns_win": ([metric_row("north_star", better=True)], True, "invalid", "moved"),
    "ns_loss_beats_guardrail": (
        [metric_row("north_star", worse=True), metric_row("guardrail", worse=True)],
        False,
        "north_star_loss",
        "moved",
    ),
    "guardrail_beats_ns_win": (
        [metric_row("north_star", better=True), metric_row("guardrail", worse=True)],
        False,
        "guardrail_breach",
        "moved",
    ),
    "guardrail_beats_vanity": (
        [
            metric_row("north_star", flat=True),
            metric_row("vanity", better=True),
            metric_row("guardrail", worse=True),
        ],
        False,
        "guardrail_breach",
        "flat",
    ),
    "ns_win_beats_vanity": (
        [metric_row("north_star", better=True), metric_row("vanity", better=True)],
        False,
        "north_star_win",
        "moved",
    ),
    "vanity_only_flat": (
        [metric_row("north_star", flat=True), metric_row("vanity", better=True)],
        False,
        "vanity_only",
        "flat",
    ),
    "vanity_only_inconclusive": (
        [metric_row("north_star"), metric_row("vanity", better=True)],
        False,
        "vanity_only",
        "inconclusive",
    ),
    "leading_counts_as_vanity_only": (
        [metric_row("north_star"), metric_row("leading", better=True)],
        False,
        "vanity_only",
        "inconclusive",
    ),
    "guardrail_better_is_not_vanity": (
        [metric_row("north_star", flat=True), metric_row("guardrail", better=True)],
        False,
        "flat",
        "flat",
    ),
    "vanity_worse_is_not_vanity_only": (
        [metric_row("north_star", flat=True), metric_row("vanity", worse=True)],
        False,
        "flat",
        "flat",
    ),
    "flat": ([metric_row("north_star", flat=True), metric_row("vanity")], False, "flat", "flat"),
    "inconclusive": (
        [metric_row("north_star"), metric_row("leading")],
        False,
        "inconclusive",
        "inconclusive",
    ),
    "invalid_beats_everything": (
        [metric_row("north_star", worse=True), metric_row("guardrail", worse=True)],
        True,
        "invalid",
        "moved",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_decide_rules(name: str) -> None:
    rows, invalid, verdict, status = CASES[name]
    got = decide(pl.DataFrame(rows), {"e"} if invalid else set()).row(0, named=True)
    assert (got["verdict"], got["north_star_status"]) == (verdict, status)


def test_every_verdict_is_covered() -> None:
    # leading_win needs the validated inputs: its cases are in test_leading_win.py
    assert {c[2] for c in CASES.values()} | {"leading_win"} == set(VERDICTS)


def test_decide_is_per_treatment() -> None:
    rows = [
        metric_row("north_star", better=True, variant="a"),
        metric_row("north_star", flat=True, variant="b"),
        metric_row("vanity", better=True, variant="b"),
    ]
    got = decide(pl.DataFrame(rows), set()).sort("variant")
    assert got["verdict"].to_list() == ["north_star_win", "vanity_only"]


# ---------------------------------------------- full path: summary rows with known outcomes

N = 10_000
CATALOG: dict[str, dict[str, Any]] = {
    "lessons": {"role": "north_star", "type": "mean", "practical_threshold": 0.02},
    "retained": {"role": "leading", "type": "proportion"},
    "clicks": {"role": "vanity", "type": "mean", "practical_threshold": 0.05},
    "bounce": {"role": "vanity", "type": "proportion", "direction": "decrease"},
    "errors": {"role": "guardrail", "type": "proportion", "direction": "decrease"},
}
# Control values (mean, unit variance or None for proportions) every experiment starts from.
BASE: dict[str, tuple[float, float | None]] = {
    "lessons": (5.0, 4.0),
    "retained": (0.4, None),
    "clicks": (3.0, 1.0),
    "bounce": (0.4, None),
    "errors": (0.05, None),
}
# experiment -> (treatment changes, units per arm, control units if different, verdict, status)
SCENARIOS: dict[str, tuple[dict[str, float], int, int | None, str, str]] = {
    "ns_win": ({"lessons": 5.5, "clicks": 3.3}, N, None, "north_star_win", "moved"),
    "ns_loss": ({"lessons": 4.5, "errors": 0.08}, N, None, "north_star_loss", "moved"),
    "breach": ({"lessons": 5.5, "errors": 0.08}, N, None, "guardrail_breach", "moved"),
    "srm": ({"lessons": 5.5}, N, 11_000, "invalid", "moved"),
    "vanity_flat": ({"clicks": 3.3}, N, None, "vanity_only", "flat"),
    "vanity_small": ({"clicks": 4.0}, 100, None, "vanity_only", "inconclusive"),
    "bounce_down": ({"bounce": 0.3}, N, None, "vanity_only", "flat"),
    "bounce_up": ({"bounce": 0.5}, N, None, "flat", "flat"),
    "errors_down": ({"errors": 0.03}, N, None, "flat", "flat"),
    "flat": ({}, N, None, "flat", "flat"),
    "inconclusive": ({}, 100, None, "inconclusive", "inconclusive"),
}


def summary_row(experiment: str, variant: str, metric: str, n: int, mean: float) -> dict:
    """n, sum and sum_sq of an arm with the given mean (and BASE's unit variance)."""
    var = BASE[metric][1]
    total = mean * n
    if var is None:  # 0/1 values: sum_sq = sum
        return {
            "experiment": experiment,
            "variant": variant,
            "metric": metric,
            "n": n,
            "sum": round(total),
            "sum_sq": round(total),
        }
    return {
        "experiment": experiment,
        "variant": variant,
        "metric": metric,
        "n": n,
        "sum": total,
        "sum_sq": (n - 1) * var + n * mean**2,
    }


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Readout:
    """One summary file with every scenario as its own experiment, read out at alpha 0.05."""
    root = tmp_path_factory.mktemp("verdicts")
    rows = []
    for eid, (changes, n, n_control, _, _) in SCENARIOS.items():
        for metric, (mean, _) in BASE.items():
            rows.append(summary_row(eid, "control", metric, n_control or n, mean))
            rows.append(summary_row(eid, "treatment", metric, n, changes.get(metric, mean)))
    pl.DataFrame(rows).write_csv(root / "portfolio.csv")
    write_metrics(root, CATALOG)
    return build_readout(load_dataset(root), Settings(alpha=0.05, correction="holm"))


@pytest.mark.parametrize("eid", list(SCENARIOS))
def test_full_path_verdicts(scenarios: Readout, eid: str) -> None:
    t = scenarios.experiments[eid].treatments[0]
    assert (t.verdict, t.north_star_status) == SCENARIOS[eid][3:]
    assert t.reasons


def reasons(readout: Readout, eid: str) -> str:
    """All reasons of an experiment's one treatment as one text."""
    return " ".join(r.text for r in readout.experiments[eid].treatments[0].reasons)


def test_reasons_name_metrics_and_figures(scenarios: Readout) -> None:
    win = reasons(scenarios, "ns_win")
    assert "The North Star improved: lessons +10.0% [" in win and "adjusted p < 0.001" in win
    assert "Also better: clicks +10.0%" in win
    loss = reasons(scenarios, "ns_loss")
    assert "The North Star got worse: lessons −10.0%" in loss
    assert "A guardrail also got worse: errors +60.0%" in loss
    breach = reasons(scenarios, "breach")
    assert breach.startswith("Guardrail got worse: errors +60.0% [")
    srm = reasons(scenarios, "srm")
    assert "control 11,000 / treatment 10,000" in srm and "50% / 50%" in srm
    vanity = reasons(scenarios, "vanity_flat")
    assert vanity.startswith("clicks +10.0% [")
    assert "but the North Star lessons moved 0.0% [−1.1%, +1.1%], adjusted p = 1.00" in vanity
    assert "its 90% confidence interval [−0.9%, +0.9%] lies inside its ±2% threshold" in vanity
    assert "inside its ±2% threshold: flat" in vanity
    small = reasons(scenarios, "vanity_small")
    assert small.startswith("clicks +33.3% [") and "inconclusive; about " in small
    bounce = reasons(scenarios, "bounce_down")
    assert bounce.startswith("bounce −25.0% [")
    assert "Worse: bounce +25.0%" in reasons(scenarios, "bounce_up")


def test_every_quoted_p_of_a_metric_is_an_adjusted_p(scenarios: Readout) -> None:
    """A reason quoting a metric's p quotes p_adjusted, and says so: 'adjusted p = 0.066'."""
    quoted = 0
    for e in scenarios.experiments.values():
        for r in e.treatments[0].reasons:
            if r.kind == "data":  # the SRM test's own p, not a metric's
                continue
            for found in re.finditer(r"(\w+ )?p [=<] ", r.text):
                assert found.group(1) == "adjusted ", r.text
                quoted += 1
    assert quoted >= len(SCENARIOS) - 1


CARD_SENTENCES = {
    "ns_win": "The North Star lessons improved significantly (adjusted p < 0.001), and no "
    "guardrail got significantly worse.",
    "ns_loss": "The North Star lessons got significantly worse (adjusted p < 0.001).",
    "flat": "No metric improved, and the North Star lessons is flat: its 90% confidence "
    "interval {eq} lies inside its ±2% threshold.",
    "inconclusive": "No metric moved significantly, and the North Star lessons is inconclusive "
    "(adjusted p = {p}): its 90% confidence interval {eq} reaches past ±2%, too uncertain to "
    "rule out an effect worth acting on.",
}


@pytest.mark.parametrize("eid", [e for e, s in SCENARIOS.items() if s[3] != "invalid"])
def test_the_card_sentence_leaves_the_north_star_figure_to_the_card(
    scenarios: Readout, eid: str
) -> None:
    """The sentence a card states under its verdict quotes no North Star decision interval (the
    card's one North Star figure shows it); the equivalence interval only where it explains
    flat or inconclusive; a guardrail breach reads as its reason does."""
    e = scenarios.experiments[eid]
    t = e.treatments[0]
    ns = t.north_star
    said = deciding_reason(t.verdict, t.metrics, e.settings)
    full = next(r for r in t.reasons if r.kind == "verdict")
    assert said.kind == "verdict"
    assert fmt.pct_ci(*ns.decision_interval) not in said.text
    assert fmt.pct_ci(*ns.decision_interval) in full.text or t.verdict == "guardrail_breach"
    equivalence = fmt.pct_ci(ns.equivalence_ci_low, ns.equivalence_ci_high)
    assert (equivalence in said.text) == (t.north_star_status != "moved")
    if t.verdict == "guardrail_breach":
        assert said == full
    if eid in CARD_SENTENCES:
        p = f"{ns.p_adjusted:.2f}"
        assert said.text == CARD_SENTENCES[eid].format(eq=equivalence, p=p)


def kinds(readout: Readout, eid: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each reason's kind and the metrics it names, in order."""
    return [(r.kind, r.metrics) for r in readout.experiments[eid].treatments[0].reasons]


def test_reasons_are_typed_by_what_they_say(scenarios: Readout) -> None:
    assert set(REASON_KINDS) == set(get_args(ReasonKind))
    assert kinds(scenarios, "ns_win") == [
        ("verdict", ("lessons",)),
        ("guardrail", ("errors",)),  # not shown safe
        ("moved", ("clicks",)),
    ]
    assert kinds(scenarios, "ns_loss") == [
        ("verdict", ("lessons",)),
        ("guardrail", ("errors",)),
    ]
    assert kinds(scenarios, "breach") == [("verdict", ("errors",))]
    assert kinds(scenarios, "srm") == [("data", ())]
    assert kinds(scenarios, "vanity_flat") == [("verdict", ("clicks", "lessons"))]
    assert kinds(scenarios, "bounce_up")[-1] == ("moved", ("bounce",))


def test_reason_interval_is_the_metric_interval(scenarios: Readout) -> None:
    """The figures in a reason are the metric's own rel effect and the CI that agrees with its
    adjusted p-value, formatted."""
    t = scenarios.experiments["breach"].treatments[0]
    row = t.metric("errors")
    low, high = f"{row.rel_ci_adj_low * 100:+.1f}%", f"{row.rel_ci_adj_high * 100:+.1f}%"
    assert f"[{low}, {high}]" in t.reasons[0].text


def test_ns_with_direction_decrease(tmp_path: Path) -> None:
    """A North Star that should fall (e.g. support tickets) wins when it falls."""
    catalog = {
        "lessons": {"role": "north_star", "type": "mean", "direction": "decrease"},
        "clicks": {"role": "vanity", "type": "mean"},
    }
    rows = []
    for eid, ns in (("down", 4.5), ("up", 5.5)):
        for variant, mean in (("control", 5.0), ("treatment", ns)):
            rows.append(summary_row(eid, variant, "lessons", N, mean))
            rows.append(summary_row(eid, variant, "clicks", N, 3.0))
    pl.DataFrame(rows).write_csv(tmp_path / "tickets.csv")
    write_metrics(tmp_path, catalog)
    readout = build_readout(load_dataset(tmp_path))
    assert readout.experiments["down"].treatments[0].verdict == "north_star_win"
    assert readout.experiments["up"].treatments[0].verdict == "north_star_loss"


def test_north_star_up_from_zero_is_described_in_absolute_terms(tmp_path: Path) -> None:
    """A control at 0 has no relative lift: the reason gives the absolute change instead."""
    catalog = {"signups": {"role": "north_star", "type": "proportion"}}
    rows = [
        {
            "experiment": "z",
            "variant": "control",
            "metric": "signups",
            "n": 1000,
            "sum": 0,
            "sum_sq": 0,
        },
        {
            "experiment": "z",
            "variant": "treatment",
            "metric": "signups",
            "n": 1000,
            "sum": 50,
            "sum_sq": 50,
        },
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "z.csv")
    write_metrics(tmp_path, catalog)
    t = build_readout(load_dataset(tmp_path)).experiments["z"].treatments[0]
    assert t.verdict == "north_star_win"
    # no event in the control: Newcombe's score interval (statsmodels), Fisher's exact test
    low, high = (100 * x for x in confint_proportions_2indep(50, 1000, 0, 1000, method="newcomb"))
    assert stats.fisher_exact([[0, 1000], [50, 950]]).pvalue < 0.001
    assert t.reasons[0].text == (
        f"The North Star improved: signups +5.00 pp [+{low:.2f} pp, +{high:.2f} pp], "
        "adjusted p < 0.001."
    )
    assert t.north_star.note.startswith("control value is 0: relative effect undefined; ")
    assert t.north_star.method == "fisher_exact" and "Fisher's exact" in t.north_star.note
