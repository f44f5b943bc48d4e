"""Streamlit helpers shared by the pages: settings in the URL, the data directory, cached
readouts, links that carry the view, verdict badges. Not a page: app.py does not list it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import polars as pl
import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

from nsexp import workspace
from nsexp.cli_proxies import readout_history
from nsexp.errors import InputError
from nsexp.io import Dataset, default_data_dir, load_dataset
from nsexp.readout import Readout, Settings, build_readout
from nsexp.report import tables
from nsexp.report.charts import VERDICT_COLORS
from nsexp.report.json import experiment_dict
from nsexp.report.markdown import to_markdown, vanity_count
from nsexp.stats.multiplicity import CORRECTIONS
from nsexp.verdict import VERDICT_LABELS, VERDICT_MEANINGS, VERDICTS

PORTFOLIO = "pages/portfolio.py"
READOUT = "pages/readout.py"
NORTH_STAR = "pages/north_star.py"
DATA = "pages/data.py"
INSIGHTS = "pages/insights.py"
URL_PATHS = ("portfolio", "readout", "north_star", "insights", "data")

T = TypeVar("T")
DEFAULT = Settings()
ALPHAS = ("0.01", "0.05", "0.1")
CORRECTION_LABELS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "None"}
CACHE_TTL = 3600
CARRIED = ("workspace", "alpha", "correction")
VERDICT_ALERTS = {
    "invalid": st.error,
    "north_star_loss": st.error,
    "guardrail_breach": st.error,
    "north_star_win": st.success,
    "vanity_only": st.warning,
    "flat": st.info,
    "inconclusive": st.info,
}
VERDICT_ICONS = {
    "invalid": ":material/report:",
    "north_star_loss": ":material/trending_down:",
    "guardrail_breach": ":material/shield:",
    "north_star_win": ":material/trending_up:",
    "vanity_only": ":material/visibility:",
    "flat": ":material/trending_flat:",
    "inconclusive": ":material/hourglass_empty:",
}


def leave_legacy_pages_mode() -> None:
    """Run the page through app.py's st.navigation even when it was opened first.

    Streamlit decides once per server process whether the app uses the legacy `pages/` folder,
    before app.py ever ran; a deep link as the very first request then runs the page file on
    its own. Clearing that flag and rerunning hands the request to app.py's navigation.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def url_bound(
    key: str, value: Any, default: Any = None, clears: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Keyword arguments that keep a widget and the query parameter `key` in step, with ids in
    the URL whatever the widget shows: the widget starts from `value` (read from the URL and
    validated by the caller) and writes its new value back on change; the default leaves the
    URL clean, and a change drops the parameters in `clears` (choices that depended on it).
    Spread them into the widget call."""
    st.session_state[key] = value
    return {"key": key, "on_change": _to_url, "args": (key, default, clears)}


def _to_url(key: str, default: Any, clears: tuple[str, ...]) -> None:
    value = st.session_state[key]
    if value is None or value == default or value in ("", []):
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value
    for other in clears:
        st.query_params.pop(other, None)


def analysis_settings() -> None:
    """Sidebar controls for α and the correction, kept in the URL; a bad value in a link gets
    a warning and the default instead of an error."""
    alphas, default_alpha = list(ALPHAS), f"{DEFAULT.alpha:g}"
    alpha = st.query_params.get("alpha", default_alpha)
    if alpha not in alphas:
        if _valid_alpha(alpha):
            alphas = sorted({*alphas, alpha}, key=float)
        else:
            st.warning(
                f"The link asks for α = {alpha!r}, which is not a significance level between "
                f"0 and 0.5: showing α = {default_alpha}.",
                icon=":material/warning:",
            )
            alpha = default_alpha
            del st.query_params["alpha"]
    correction = st.query_params.get("correction", DEFAULT.correction)
    if correction not in CORRECTIONS:
        st.warning(
            f"The link asks for correction {correction!r}, which is not one of "
            f"{', '.join(CORRECTIONS)}: showing {CORRECTION_LABELS[DEFAULT.correction]}.",
            icon=":material/warning:",
        )
        correction = DEFAULT.correction
        del st.query_params["correction"]
    with st.sidebar:
        st.subheader("Analysis", anchor=False)
        st.segmented_control(
            "Significance level α",
            alphas,
            required=True,
            help="A difference counts as real when its adjusted p-value is below α. "
            "Intervals are (1 − α) confidence intervals.",
            **url_bound("alpha", alpha, default_alpha),
        )
        st.segmented_control(
            "Multiple-testing correction",
            CORRECTIONS,
            format_func=CORRECTION_LABELS.get,
            required=True,
            help="Holm keeps the chance of any false win at α; Benjamini–Hochberg keeps the "
            "share of false wins at α. Applied within each experiment.",
            **url_bound("correction", correction, DEFAULT.correction),
        )


def _valid_alpha(text: str) -> bool:
    try:
        Settings(alpha=float(text))
    except (ValueError, InputError):
        return False
    return True


def current_settings() -> Settings:
    """The Settings chosen in the sidebar (app.py draws it before the page runs)."""
    alpha = st.session_state.get("alpha") or f"{DEFAULT.alpha:g}"
    correction = st.session_state.get("correction") or DEFAULT.correction
    return Settings(alpha=float(alpha), correction=correction)


def carry_params(page: StreamlitPage) -> None:
    """Keep the workspace and the settings in the URL when the navigation menu drops them.

    Page links carry them; the menu does not. On a switch to another page a missing parameter
    comes back from the previous run; on the same page its absence is a choice (the Data page
    removes `workspace` to go back to the bundled data, a setting at its default leaves).
    """
    switched = st.session_state.get("_nsexp_page") not in (None, page.url_path)
    remembered = st.session_state.get("_nsexp_params", {})
    for key in CARRIED:
        if switched and key not in st.query_params and remembered.get(key):
            st.query_params[key] = remembered[key]
    st.session_state["_nsexp_page"] = page.url_path
    st.session_state["_nsexp_params"] = {k: st.query_params.get(k) for k in CARRIED}


@dataclass(frozen=True)
class DataContext:
    """Which data the app reads: the data root, the workspace id (None: the root) and its
    directory, plus a cheap stamp of its files to key the caches on."""

    root: Path
    workspace: str | None
    path: Path
    stamp: tuple

    @property
    def name(self) -> str:
        """How the data reads in a sentence."""
        return f"workspace {self.workspace}" if self.workspace else "the bundled data"


def data_context() -> DataContext:
    """The data named by the `workspace` query parameter; a bad id gets a warning and the
    bundled data."""
    root = default_data_dir()
    requested = st.query_params.get("workspace") or None
    try:
        path = workspace.resolve(root, requested)
    except InputError as exc:
        st.warning(f"{exc.message}. Showing the bundled data.", icon=":material/warning:")
        requested, path = None, root
    return DataContext(root, requested, path, workspace.data_stamp(path))


def sidebar_data_note(ctx: DataContext) -> None:
    """Which data the pages show, and where to change it."""
    with st.sidebar:
        st.subheader("Data", anchor=False)
        st.caption(f"Showing {ctx.name}.")
        st.page_link(DATA, label="Upload or switch data", icon=":material/database:")


@st.cache_data(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _dataset(path: str, stamp: tuple) -> Dataset:
    """The validated dataset of a directory; `stamp` (file names, sizes, mtimes) keys the cache
    so edited or uploaded files are read again."""
    return load_dataset(path)


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner="Reading out every experiment…")
def _readout(path: str, stamp: tuple, alpha: float, correction: str) -> Readout:
    """Every experiment read out as the CLI does, with the history quoted in the reasons."""
    dataset = _dataset(path, stamp)
    settings = Settings(alpha=alpha, correction=correction)
    return build_readout(dataset, settings, history=readout_history(dataset, settings))


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _portfolio(path: str, stamp: tuple, alpha: float, correction: str) -> dict[str, Any]:
    """The portfolio table, its counts and the North Star's label: small to fetch each run."""
    readout = _readout(path, stamp, alpha, correction)
    return {
        "table": tables.portfolio_table(readout),
        "counts": tables.portfolio_counts(readout),
        "sentence": vanity_count(readout),
        "north_star": readout.catalog.north_star.label,
    }


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _experiment(
    path: str, stamp: tuple, alpha: float, correction: str, experiment: str
) -> dict[str, Any]:
    """One experiment's readout as its JSON dict, and as Markdown for the review doc."""
    readout = _readout(path, stamp, alpha, correction)
    single = Readout(
        settings=readout.settings,
        catalog=readout.catalog,
        experiments={experiment: readout.experiments[experiment]},
        results=readout.results.filter(pl.col("experiment") == experiment),
        fingerprint=readout.fingerprint,
    )
    return {
        "payload": experiment_dict(readout.experiments[experiment]),
        "markdown": to_markdown(single),
    }


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _movement(path: str, stamp: tuple, alpha: float, correction: str) -> dict[str, Any]:
    """How often each metric moved, and the North Star with it."""
    readout = _readout(path, stamp, alpha, correction)
    return {
        "movement": tables.metric_movement(readout),
        "experiments": len(readout.experiments),
    }


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _experiment_names(path: str, stamp: tuple) -> dict[str, str]:
    """Experiment id -> its human name, in id order."""
    return {e.id: e.info.title for e in _dataset(path, stamp).experiments.values()}


def _or_stop(call: Callable[..., T], *args: Any) -> T:
    """Run a cached loader; bad data shows its message and a way to fix it, then stops."""
    try:
        return call(*args)
    except InputError as exc:
        st.error(exc.message, icon=":material/error:")
        st.page_link(DATA, label="Check the data on the Data page", icon=":material/database:")
        st.stop()


def portfolio(ctx: DataContext, settings: Settings) -> dict[str, Any]:
    """The portfolio view of the data under the settings (cached)."""
    return _or_stop(_portfolio, str(ctx.path), ctx.stamp, settings.alpha, settings.correction)


def experiment(ctx: DataContext, settings: Settings, experiment_id: str) -> dict[str, Any]:
    """One experiment's readout view (cached)."""
    args = (str(ctx.path), ctx.stamp, settings.alpha, settings.correction, experiment_id)
    return _or_stop(_experiment, *args)


def movement(ctx: DataContext, settings: Settings) -> dict[str, Any]:
    """Per-metric movement over the portfolio (cached)."""
    return _or_stop(_movement, str(ctx.path), ctx.stamp, settings.alpha, settings.correction)


def experiment_names(ctx: DataContext) -> dict[str, str]:
    """Every experiment id with its name (cached)."""
    return _or_stop(_experiment_names, str(ctx.path), ctx.stamp)


def fingerprint(ctx: DataContext) -> str:
    """The content hash of the data on view (cached with the dataset)."""
    return _or_stop(_dataset, str(ctx.path), ctx.stamp).fingerprint


def full_readout(ctx: DataContext, settings: Settings) -> Readout:
    """The whole readout object (cached), e.g. to pin one experiment."""
    return _or_stop(_readout, str(ctx.path), ctx.stamp, settings.alpha, settings.correction)


def view_query(ctx: DataContext, settings: Settings, **extra: str | None) -> dict[str, str]:
    """Query parameters that reopen a view: the workspace, non-default settings and extras."""
    query: dict[str, str | None] = {"workspace": ctx.workspace}
    if settings.alpha != DEFAULT.alpha:
        query["alpha"] = f"{settings.alpha:g}"
    if settings.correction != DEFAULT.correction:
        query["correction"] = settings.correction
    query |= extra
    return {k: v for k, v in query.items() if v}


def app_url(url_path: str, query: dict[str, str]) -> str:
    """The full address of a page with a query, from the browser's URL of this session."""
    base = (st.context.url or "").rstrip("/")
    head, _, last = base.rpartition("/")
    if last in URL_PATHS and "://" in head:
        base = head
    return f"{base}/{url_path}" + (f"?{urlencode(query)}" if query else "")


def go_to(query: dict[str, str]) -> None:
    """Button callback: rerun this page with exactly these query parameters (also in the URL).

    A page link to the page on view reruns it without updating the address bar, so the
    readout switches between its live and pinned views with this instead."""
    st.query_params.from_dict(query)


def verdict_callout(verdict: str) -> None:
    """A verdict as a coloured callout: its name as the title, what it means as the body."""
    alert = VERDICT_ALERTS[verdict]
    alert(
        _sentence(VERDICT_MEANINGS[verdict]),
        title=VERDICT_LABELS[verdict],
        icon=VERDICT_ICONS[verdict],
    )


def _sentence(text: str) -> str:
    """First letter up, a full stop at the end ('the North Star …' -> 'The North Star ….')."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def verdict_legend() -> None:
    """The verdict vocabulary, most serious first, each with its badge and meaning."""
    with st.expander("What the verdicts mean", icon=":material/help:"):
        st.markdown(
            "\n".join(
                f"- :{VERDICT_COLORS[v]}-badge[{VERDICT_LABELS[v]}] {VERDICT_MEANINGS[v]}"
                for v in VERDICTS
            )
            + "\n\nWhen several apply, the first in this list wins."
        )
