"""The sidebar every page shares: the analysis controls (kept in the URL) and the data note."""

from __future__ import annotations

import streamlit as st

from nsexp.analysis.settings import DEFAULT, STATS_ENGINES, Settings
from nsexp.stats.multiplicity import CORRECTIONS
from pages.ui.frame import DataContext
from pages.ui.nav import DATA
from pages.ui.url import url_bound

ALPHAS = ("0.01", "0.05", "0.1")
CORRECTION_LABELS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "None"}
ENGINE_LABELS = {"frequentist": "Frequentist", "bayesian": "Bayesian"}


def analysis_controls(settings: Settings, covariate: bool) -> None:
    """α, correction, safe peeking, CUPED (only when the catalog names a covariate) and the
    engine, each starting from `settings` (read from the URL) and writing back to it."""
    alpha = f"{settings.alpha:g}"
    alphas = sorted({*ALPHAS, alpha}, key=float)
    with st.sidebar:
        st.subheader("Analysis", anchor=False)
        st.segmented_control(
            "Significance level α",
            alphas,
            required=True,
            help="A difference counts as real when its adjusted p-value is below α. "
            "Intervals are (1 − α) confidence intervals.",
            **url_bound("alpha", alpha, f"{DEFAULT.alpha:g}"),
        )
        st.segmented_control(
            "Multiple-testing correction",
            CORRECTIONS,
            format_func=CORRECTION_LABELS.get,
            required=True,
            help="Holm keeps the chance of any false win at α; Benjamini–Hochberg keeps the "
            "share of false wins at α. Applied within each experiment.",
            **url_bound("correction", settings.correction, DEFAULT.correction),
        )
        st.toggle(
            "Safe to peek (sequential)",
            help="Always-valid intervals and p-values: look at the readout every day without "
            "raising the false-positive rate above α. Intervals are wider than fixed-horizon "
            "ones.",
            **url_bound("sequential", settings.sequential, False),
        )
        if covariate:
            st.toggle(
                "CUPED variance reduction",
                help="Adjust metrics by their pre-experiment value (the covariate in the "
                "catalog): the same effect, a narrower interval.",
                **url_bound("cuped", settings.cuped is not False, True),
            )
        st.segmented_control(
            "Engine",
            STATS_ENGINES,
            format_func=ENGINE_LABELS.get,
            required=True,
            help="Frequentist: p-values and confidence intervals. Bayesian: the chance each "
            "treatment beats the control and the expected loss of shipping it.",
            **url_bound("engine", settings.engine, DEFAULT.engine),
        )


def data_note(data: DataContext) -> None:
    """Which data the pages show, and where to change it."""
    with st.sidebar:
        st.subheader("Data", anchor=False)
        st.caption(f"Showing {data.name}.")
        st.page_link(DATA, label="Upload or switch data", icon=":material/database:")
