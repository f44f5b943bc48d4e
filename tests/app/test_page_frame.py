"""What frames every page (issue 20 item 10): each tab is titled with what it shows ('Streak
Society (pilot) — readout · nsexp'), a name in a title as plain text (the planted payload quoted
as it is), and the analysis sidebar only where there is an analysis to set."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from helpers import AppOpener
from payloads import EXPERIMENT, PAYLOAD, VARIANT, plant

from pages.ui import nav


@pytest.fixture
def titles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The page titles the app sets, in order (Streamlit's own call still runs)."""
    seen: list[str] = []
    real = st.set_page_config

    def record(*args: object, page_title: str | None = None, **kwargs: object) -> None:
        if page_title is not None:
            seen.append(page_title)
        real(*args, page_title=page_title, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(st, "set_page_config", record)
    return seen


@pytest.mark.parametrize(
    ("page", "query", "title"),
    [
        (nav.PORTFOLIO, {}, "Portfolio · nsexp"),
        (nav.READOUT, {}, "Readout · nsexp"),
        (nav.READOUT, {"experiment": "streak_society"}, "Streak Society (pilot) — readout · nsexp"),
        (nav.NORTH_STAR, {}, "Lessons completed — North Star · nsexp"),
        (nav.INSIGHTS, {}, "Insights · nsexp"),
        (nav.DATA, {}, "Data · nsexp"),
    ],
)
def test_each_page_titles_its_tab(
    open_app: AppOpener, titles: list[str], page: str, query: dict[str, str], title: str
) -> None:
    at = open_app(page, query)
    assert not at.exception
    assert titles[-1] == title


def test_a_planted_name_is_plain_text_in_the_title(
    open_app: AppOpener, titles: list[str], tmp_path: Path
) -> None:
    data, _ = plant(tmp_path / "data")
    at = open_app(nav.READOUT, {"experiment": EXPERIMENT, "variant": VARIANT}, data=data)
    assert not at.exception
    flat = " ".join(PAYLOAD.split())
    assert titles[-1] == f"Hearts: lose a heart per mistake {flat} — readout · nsexp"


def test_the_analysis_sidebar_is_not_on_the_data_page(open_app: AppOpener) -> None:
    data = open_app(nav.DATA, {"alpha": "0.01"})
    assert not data.exception
    assert not [w.label for w in data.sidebar.button_group]
    assert not data.sidebar.toggle
    portfolio = open_app(nav.PORTFOLIO, {"alpha": "0.01"})
    alpha = next(w for w in portfolio.sidebar.button_group if w.label.startswith("Significance"))
    assert alpha.value == "0.01"
    # the settings in one line; the controls in a popover, built once opened
    summary = "α = 0.01 · Holm · fixed horizon · CUPED on · Frequentist engine"
    assert summary in [c.value for c in portfolio.sidebar.caption]
