"""What the portfolio's history says on a verdict card: Twyman alerts (shown before the verdict)
and the predicted North Star, shown as the model estimate it is, under the card's decision."""

from __future__ import annotations

import streamlit as st

from nsexp.analysis.readout import TreatmentReadout
from nsexp.report.notes import model_estimate
from nsexp.report.text import md_escape


def alerts(t: TreatmentReadout) -> None:
    """Each metric far outside the history's range, as a warning above the verdict."""
    for r in t.reasons:
        if r.kind == "alert":
            st.warning(md_escape(r.text), icon=":material/troubleshoot:")


def model_estimate_caption(t: TreatmentReadout) -> None:
    """The predicted North Star in small print, labelled a model estimate, with its basis."""
    said = model_estimate(t)
    if said:
        st.caption(f"**Model estimate** (not a test of this experiment): {md_escape(said)}")
