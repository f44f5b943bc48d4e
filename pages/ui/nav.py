"""The app's pages and links between them: page files, URL paths and full addresses."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

PORTFOLIO = "pages/portfolio.py"
READOUT = "pages/readout.py"
NORTH_STAR = "pages/north_star.py"
INSIGHTS = "pages/insights.py"
DATA = "pages/data.py"
REVIEW = "pages/review.py"
URL_PATHS = ("portfolio", "readout", "north_star", "insights", "review", "data")


def app_url(url_path: str, query: Mapping[str, str | list[str]]) -> str:
    """The full address of a page with a query (a list value repeats its parameter), from the
    browser's URL of this session."""
    base = (st.context.url or "").rstrip("/")
    head, _, last = base.rpartition("/")
    if last in URL_PATHS and "://" in head:
        base = head
    return f"{base}/{url_path}" + (f"?{urlencode(query, doseq=True)}" if query else "")


def tab_title(*what: str) -> None:
    """Title the browser tab with what the page shows, most specific first: 'Streak Society —
    readout · nsexp'. A tab title is plain text (no Markdown reaches it), so names go as they
    are, on one line."""
    shown = " — ".join(" ".join(w.split()) for w in what if w.strip())
    st.set_page_config(page_title=f"{shown} · nsexp" if shown else "nsexp")


def go_to(query: Mapping[str, str | list[str]]) -> None:
    """Button callback: rerun this page with exactly these query parameters (also in the URL).

    A page link to the page on view reruns it without updating the address bar, so the
    readout switches between its live and pinned views with this instead."""
    st.query_params.from_dict(query)
