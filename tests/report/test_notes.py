"""nsexp.report.notes: the notes under reasons and on verdict cards."""

from __future__ import annotations

from helpers import result

from nsexp.analysis.readout import TreatmentReadout
from nsexp.report.notes import card_notes, guardrail_text


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
        "Detectable today: 3.1%; about 12 more days at current traffic to detect ±2%.",
        "Guardrails: Errors safe (margin 10%, power 92%).",
    ]
    moved = TreatmentReadout("t", "north_star_win", "moved", (), (ns, guard))
    assert not any(n.startswith("Detectable") for n in card_notes(moved))
