"""What the portfolio's history says on a verdict card: Twyman alerts (shown before the verdict)
and the predicted North Star effect beside the North Star's own figure."""

from __future__ import annotations

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.readout import TreatmentReadout
from nsexp.report.notes import prediction_note
from nsexp.report.text import md_escape


def alerts(t: TreatmentReadout) -> None:
    """Each metric far outside the history's range, as a warning above the verdict."""
    for r in t.reasons:
        if r.kind == "alert":
            st.warning(md_escape(r.text), icon=":material/troubleshoot:")


def predicted_metric(t: TreatmentReadout) -> None:
    """The predicted North Star lift as a figure beside the North Star's own (when there is one)."""
    p = t.learned.prediction if t.learned is not None else None
    if p is None or not p.available or t.verdict == "invalid":
        return
    st.metric(
        "Predicted North Star",
        fmt.pct(p.rel_effect),
        help="The North Star's true lift as the portfolio's history predicts it from this "
        "experiment's own North Star figure and its validated leading indicators.",
    )


def prediction_caption(t: TreatmentReadout) -> None:
    """The prediction in one plain sentence under the North Star's figures."""
    note = prediction_note(t) if t.verdict != "invalid" else None
    if note:
        st.caption(f"Predicted: {md_escape(note)}")


def card_reasons(t: TreatmentReadout) -> list[str]:
    """The reasons for the card, without the alerts already shown above the verdict."""
    return [r.text for r in t.reasons if r.kind != "alert"]
