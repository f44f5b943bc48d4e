"""nsexp.report.notes: the notes under reasons and on verdict cards."""

from __future__ import annotations

import pytest
from helpers import result

from nsexp import format as fmt
from nsexp.analysis.readout import Readout, TreatmentReadout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout, readout_learning
from nsexp.report.notes import (
    card_notes,
    deciding_text,
    detectable_note,
    further_reasons,
    guardrail_text,
    model_estimate,
)


def test_guardrail_text_and_card_notes() -> None:
    guard = result(
        metric="errors",
        label="Errors",
        role="guardrail",
        guardrail_status="safe",
        non_inferiority_margin=0.1,
        guardrail_power=0.923,
    )
    assert guardrail_text(guard) == "safe (margin 10%, power 92%)"
    no_margin = result(label="Errors", role="guardrail", guardrail_status="safe")
    assert guardrail_text(no_margin) == "safe (no margin set)"
    assert guardrail_text(result(role="leading")) == ""
    ns = result(
        metric="lessons",
        label="Lessons",
        role="north_star",
        variance_reduction=0.4,
        mde=0.031,
        days_needed=12.2,
        practical_threshold=0.02,
    )
    t = TreatmentReadout("t", "inconclusive", "inconclusive", (), (ns, guard))
    assert card_notes(t) == [
        "CUPED removed 40% of the North Star's variance.",
        "Guardrails: Errors safe (margin 10%, power 92%).",
    ]
    assert detectable_note(t) == (
        "Detectable today: 3.1%; about 12 more days at current traffic to detect ±2%."
    )
    assert detectable_note(t, running=False) == "Detectable today: 3.1%."
    moved = TreatmentReadout("t", "north_star_win", "moved", (), (ns, guard))
    assert detectable_note(moved) is None


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Readout:
    """The demo read out with what the portfolio's history learned, as the app shows it."""
    learning = readout_learning(demo_dataset, Settings())
    return learned_readout(demo_dataset, Settings(), learning=learning)


def test_a_card_states_each_reason_once(demo: Readout) -> None:
    """The card words the verdict once (deciding_text), keeps the rest one click away
    (further_reasons) and shows the prediction once, as a model estimate with its basis."""
    for e in demo.experiments.values():
        for t in e.treatments:
            more = further_reasons(t)
            kinds = {r.text: r.kind for r in t.reasons}
            assert not {"alert", "prediction"} & {kinds[r] for r in more}
            assert deciding_text(t, e.settings) not in more
            assert len(more) == len(t.reasons) - sum(
                r.kind in ("alert", "prediction") for r in t.reasons
            ) - (t.verdict == "invalid" or any(r.kind == "verdict" for r in t.reasons))
    streak = demo.experiments["streak_society"].treatments[0]
    said = model_estimate(streak)
    p = streak.learned.prediction
    assert said is not None and f"from {p.n_history} past comparisons" in said
    assert "Day-7 retention" in said and fmt.pct_ci(p.rel_ci_low, p.rel_ci_high) in said
    banner = demo.experiments["referral_banner"].treatments[0]
    assert banner.verdict == "invalid" and model_estimate(banner) is None
    assert deciding_text(banner, demo.settings).startswith("Sample ratio mismatch: ")
    # a leading win is decided by the validated input that moved, never "no metric moved"
    assert streak.verdict == "leading_win"
    said = deciding_text(streak, demo.settings)
    assert said.startswith("Day-7 retention +") and "a validated input" in said
    assert "No metric moved" not in said
    breach = demo.experiments["push_reminders"].treatment("three_a_day")
    assert deciding_text(breach, demo.settings).startswith(
        "Guardrail got worse: Turned off notifications +"
    )
