"""Verdict widgets: the coloured callout of one verdict, its badge and the meanings of them all."""

from __future__ import annotations

import streamlit as st

from nsexp.analysis.verdict import VERDICT_LABELS, VERDICT_MEANINGS, VERDICTS
from nsexp.report.charts import VERDICT_COLORS

VERDICT_ALERTS = {
    "invalid": st.error,
    "north_star_loss": st.error,
    "guardrail_breach": st.error,
    "north_star_win": st.success,
    "leading_win": st.info,
    "vanity_only": st.warning,
    "flat": st.info,
    "inconclusive": st.info,
}
VERDICT_ICONS = {
    "invalid": ":material/report:",
    "north_star_loss": ":material/trending_down:",
    "guardrail_breach": ":material/shield:",
    "north_star_win": ":material/trending_up:",
    "leading_win": ":material/insights:",
    "vanity_only": ":material/visibility:",
    "flat": ":material/trending_flat:",
    "inconclusive": ":material/hourglass_empty:",
}


def verdict_callout(verdict: str, body: str | None = None) -> None:
    """A verdict as a coloured callout: its name as the title, and as the body `body` (Markdown:
    the reason that decided it, escaped by the caller) or else what the verdict means."""
    meaning = VERDICT_MEANINGS[verdict]
    VERDICT_ALERTS[verdict](
        body or meaning[:1].upper() + meaning[1:] + ("" if meaning.endswith(".") else "."),
        title=VERDICT_LABELS[verdict],
        icon=VERDICT_ICONS[verdict],
    )


def verdict_badge(verdict: str) -> str:
    """A verdict as Streamlit's coloured Markdown badge."""
    return f":{VERDICT_COLORS[verdict]}-badge[{VERDICT_LABELS[verdict]}]"


def verdict_meanings() -> str:
    """The verdict vocabulary as Markdown, most serious first, each with its badge and meaning."""
    return (
        "\n".join(f"- {verdict_badge(v)} {VERDICT_MEANINGS[v]}" for v in VERDICTS)
        + "\n\nWhen several apply, the first in this list wins."
    )
