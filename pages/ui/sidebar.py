"""The sidebar every page shares: the analysis controls (kept in the URL) and the data note."""

from __future__ import annotations

import streamlit as st

from nsexp.analysis.settings import DEFAULT, STATS_ENGINES, Settings
from nsexp.stats.multiplicity import CORRECTIONS
from pages.ui.frame import DataContext
from pages.ui.nav import DATA
from pages.ui.url import Bound, url_bound

ALPHAS = ("0.01", "0.05", "0.1")
CORRECTION_LABELS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "None"}
ENGINE_LABELS = {"frequentist": "Frequentist", "bayesian": "Bayesian"}


def summary(settings: Settings, covariate: bool) -> str:
    """The settings in one line: 'α = 0.05 · Holm · fixed horizon · CUPED on · Frequentist
    engine' (CUPED only where the catalog names a covariate)."""
    correction = settings.correction
    parts = [
        f"α = {settings.alpha:g}",
        "no correction" if correction == "none" else CORRECTION_LABELS[correction],
        "safe to peek" if settings.sequential else "fixed horizon",
        *([f"CUPED {'off' if settings.cuped is False else 'on'}"] if covariate else []),
        f"{ENGINE_LABELS[settings.engine]} engine",
    ]
    return " · ".join(parts)


def analysis_controls(settings: Settings, covariate: bool, frozen: bool = False) -> None:
    """The settings in one line and, in a popover, α, correction, safe peeking, CUPED (only
    when the catalog names a covariate) and the engine, each starting from `settings` (read
    from the URL) and writing back to it; on a pinned readout they show the pin's settings and
    cannot be changed. A popover's widgets are built only once opened: five controls in the
    sidebar of every fresh tab were about a fifth of a readout's browser work."""
    with st.sidebar:
        st.subheader("Analysis", anchor=False)
        if frozen:
            st.caption(
                "This readout is pinned: its settings are frozen. Open the live readout to "
                "change them."
            )
        st.caption(summary(settings, covariate))
        label = "Show the settings" if frozen else "Change the settings"
        with st.popover(label, icon=":material/tune:", width="stretch"):
            _controls(settings, covariate, frozen)


def _controls(settings: Settings, covariate: bool, frozen: bool) -> None:
    """The five controls of analysis_controls."""
    alpha = f"{settings.alpha:g}"
    alphas = sorted({*ALPHAS, alpha}, key=float)
    st.segmented_control(
        "Significance level α",
        alphas,
        disabled=frozen,
        required=True,
        help="A difference counts as real when its adjusted p-value is below α. "
        "Intervals are at level 1 − α: confidence intervals (always valid under "
        "sequential testing, adjusted by the correction), credible ones under the "
        "Bayesian engine.",
        **_bound("alpha", alpha, f"{DEFAULT.alpha:g}", frozen),
    )
    st.segmented_control(
        "Multiple-testing correction",
        CORRECTIONS,
        disabled=frozen,
        format_func=CORRECTION_LABELS.__getitem__,
        required=True,
        help="Holm keeps the chance of any false win at α; Benjamini–Hochberg keeps the "
        "share of false wins at α. Applied within each experiment.",
        **_bound("correction", settings.correction, DEFAULT.correction, frozen),
    )
    st.toggle(
        "Safe to peek (sequential)",
        disabled=frozen,
        help="Always-valid intervals and p-values: look at the readout every day without "
        "raising the false-positive rate above α. Intervals are wider than fixed-horizon "
        "ones.",
        **_bound("sequential", settings.sequential, False, frozen),
    )
    if covariate:
        st.toggle(
            "CUPED variance reduction",
            disabled=frozen,
            help="Adjust metrics by their pre-experiment value (the covariate in the "
            "catalog): the same effect, a narrower interval.",
            **_bound("cuped", settings.cuped is not False, True, frozen),
        )
    st.segmented_control(
        "Engine",
        STATS_ENGINES,
        disabled=frozen,
        format_func=ENGINE_LABELS.__getitem__,
        required=True,
        help="Frequentist: p-values and confidence intervals. Bayesian: the chance each "
        "treatment beats the control and the expected loss of shipping it.",
        **_bound("engine", settings.engine, DEFAULT.engine, frozen),
    )


def _bound(key: str, value: object, default: object, frozen: bool) -> Bound:
    """url_bound for a live view; a frozen one shows the value under its own key, so the pin's
    settings never reach the URL or the live readout's widget state."""
    if frozen:
        st.session_state[f"pinned_{key}"] = value
        return {"key": f"pinned_{key}"}
    return url_bound(key, value, default)


def data_note(data: DataContext) -> None:
    """Which data the pages show, and where to change it."""
    with st.sidebar:
        st.subheader("Data", anchor=False)
        st.caption(f"Showing {data.name}.")
        st.page_link(DATA, label="Upload or switch data", icon=":material/database:")
