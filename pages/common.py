"""Streamlit helpers shared by the pages: settings in the URL, the data directory, cached
readouts, links that carry the view, verdict badges. Not a page: app.py does not list it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

from nsexp.analysis import segments
from nsexp.analysis.compute import ENGINES
from nsexp.analysis.readout import Readout, Settings, build_readout
from nsexp.analysis.segments import SegmentReadout
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICT_MEANINGS, VERDICTS
from nsexp.errors import InputError
from nsexp.io import Dataset, default_data_dir, load_dataset
from nsexp.learning.history import readout_history
from nsexp.report import tables
from nsexp.report.charts import VERDICT_COLORS
from nsexp.report.json import experiment_dict
from nsexp.report.markdown import experiment_markdown, vanity_count
from nsexp.stats.multiplicity import CORRECTIONS
from nsexp.store import workspaces as workspace

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
BOOTSTRAP_RESAMPLES = 2000
CARRIED = ("workspace", "alpha", "correction", "sequential", "cuped", "engine")
ENGINE_LABELS = {"frequentist": "Frequentist", "bayesian": "Bayesian"}
SettingsKey = tuple[float, str, bool, bool | None, str]
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
    elif isinstance(value, bool):
        st.query_params[key] = "true" if value else "false"
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
    correction = _choice("correction", CORRECTIONS, CORRECTION_LABELS, DEFAULT.correction)
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
    method_settings()


def _choice(key: str, options: tuple[str, ...], labels: dict[str, str], default: str) -> str:
    """A query parameter that must be one of `options`; anything else gets a warning and the
    default."""
    value = st.query_params.get(key, default)
    if value in options:
        return value
    st.warning(
        f"The link asks for {key} {value!r}, which is not one of {', '.join(options)}: "
        f"showing {labels[default]}.",
        icon=":material/warning:",
    )
    del st.query_params[key]
    return default


def _flag(key: str, label: str, default: bool) -> bool:
    """A true/false query parameter; anything else gets a warning and the default."""
    text = st.query_params.get(key)
    if text is None or text in ("true", "false"):
        return default if text is None else text == "true"
    st.warning(
        f"The link asks for {key} = {text!r}, which is not true or false: {label} is "
        f"{'on' if default else 'off'}.",
        icon=":material/warning:",
    )
    del st.query_params[key]
    return default


def method_settings() -> None:
    """Sidebar controls for the methods of issue 4, each kept in the URL like α: safe
    peeking (sequential), CUPED (only when the catalog names a covariate) and the engine."""
    sequential = _flag("sequential", "safe peeking", False)
    covariate = has_covariate()
    cuped = _flag("cuped", "CUPED", True)
    engine = _choice("engine", ENGINES, ENGINE_LABELS, DEFAULT.engine)
    with st.sidebar:
        st.toggle(
            "Safe to peek (sequential)",
            help="Always-valid intervals and p-values: look at the readout every day without "
            "raising the false-positive rate above α. Intervals are wider than fixed-horizon "
            "ones.",
            **url_bound("sequential", sequential, False),
        )
        if covariate:
            st.toggle(
                "CUPED variance reduction",
                help="Adjust metrics by their pre-experiment value (the covariate in the "
                "catalog): the same effect, a narrower interval.",
                **url_bound("cuped", cuped, True),
            )
        else:
            st.session_state.pop("cuped", None)
        st.segmented_control(
            "Engine",
            ENGINES,
            format_func=ENGINE_LABELS.get,
            required=True,
            help="Frequentist: p-values and confidence intervals. Bayesian: the chance each "
            "treatment beats the control and the expected loss of shipping it.",
            **url_bound("engine", engine, DEFAULT.engine),
        )


def has_covariate() -> bool:
    """Whether the catalog of the data on view names a CUPED covariate (quietly: the page
    itself warns about a bad workspace or bad data)."""
    root = default_data_dir()
    try:
        path = workspace.resolve(root, st.query_params.get("workspace") or None)
        catalog = cached_dataset(str(path), workspace.data_stamp(path)).catalog
    except (InputError, OSError):
        return False
    return any(m.covariate for m in catalog.metrics.values())


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
    return Settings(
        alpha=float(alpha),
        correction=correction,
        sequential=bool(st.session_state.get("sequential", False)),
        cuped=None if st.session_state.get("cuped", True) else False,
        engine=st.session_state.get("engine") or DEFAULT.engine,
    )


def settings_key(settings: Settings) -> SettingsKey:
    """The settings the app offers, as a small hashable key for the caches."""
    s = settings
    return (s.alpha, s.correction, s.sequential, s.cuped, s.engine)


def key_settings(key: SettingsKey) -> Settings:
    """settings_key back to Settings."""
    alpha, correction, sequential, cuped, engine = key
    return Settings(
        alpha=alpha, correction=correction, sequential=sequential, cuped=cuped, engine=engine
    )


def pin_settings(saved: dict[str, Any]) -> Settings:
    """The Settings a pin recorded (older pins hold α and the correction only)."""
    return Settings(
        alpha=saved["alpha"],
        correction=saved["correction"],
        sequential=bool(saved.get("sequential", False)),
        sequential_n=saved.get("sequential_n"),  # the boundary's planned sample (issue 11)
        cuped=saved.get("cuped"),
        engine=saved.get("engine", DEFAULT.engine),
    )


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


def as_sentence(message: str) -> str:
    """A core message ('workspace 'x' is not ...; open ...') as a sentence on a page: capital
    first letter, full stop at the end. Only for messages that do not start with a file name."""
    message = message.strip()
    if not message:
        return message
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", "!", "?")) else ".")


def data_context() -> DataContext:
    """The data named by the `workspace` query parameter; a bad id gets a warning and the
    bundled data."""
    root = default_data_dir()
    requested = st.query_params.get("workspace") or None
    try:
        path = workspace.resolve(root, requested)
    except InputError as exc:
        st.warning(
            f"{as_sentence(exc.message)} Showing the bundled data.", icon=":material/warning:"
        )
        requested, path = None, root
    return DataContext(root, requested, path, workspace.data_stamp(path))


def sidebar_data_note(ctx: DataContext) -> None:
    """Which data the pages show, and where to change it."""
    with st.sidebar:
        st.subheader("Data", anchor=False)
        st.caption(f"Showing {ctx.name}.")
        st.page_link(DATA, label="Upload or switch data", icon=":material/database:")


@st.cache_data(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def cached_dataset(path: str, stamp: tuple) -> Dataset:
    """The validated dataset of a directory; `stamp` (file names, sizes, mtimes) keys the cache
    so edited or uploaded files are read again."""
    return load_dataset(path)


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner="Reading out every experiment…")
def cached_readout(path: str, stamp: tuple, key: SettingsKey) -> Readout:
    """Every experiment read out as the CLI does, with the history quoted in the reasons."""
    dataset = cached_dataset(path, stamp)
    settings = key_settings(key)
    return build_readout(dataset, settings, history=readout_history(dataset, settings))


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _portfolio(path: str, stamp: tuple, key: SettingsKey) -> dict[str, Any]:
    """The portfolio table, its counts and the North Star's label: small to fetch each run."""
    readout = cached_readout(path, stamp, key)
    return {
        "table": tables.portfolio_table(readout),
        "counts": tables.portfolio_counts(readout),
        "sentence": vanity_count(readout),
        "north_star": readout.catalog.north_star.label,
    }


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _experiment(path: str, stamp: tuple, key: SettingsKey, experiment: str) -> dict[str, Any]:
    """One experiment's readout as its JSON dict, and as Markdown for the review doc."""
    readout = cached_readout(path, stamp, key)
    payload = experiment_dict(readout.experiments[experiment])
    s = readout.settings
    return {
        "payload": payload,
        "markdown": experiment_markdown(
            payload, s.methods(), alpha=s.alpha, engine=s.engine, fingerprint=readout.fingerprint
        ),
    }


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _movement(path: str, stamp: tuple, key: SettingsKey) -> dict[str, Any]:
    """How often each metric moved, and the North Star with it."""
    readout = cached_readout(path, stamp, key)
    return {
        "movement": tables.metric_movement(readout),
        "experiments": len(readout.experiments),
    }


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _experiment_names(path: str, stamp: tuple) -> dict[str, str]:
    """Experiment id -> its human name, in id order."""
    return {e.id: e.info.title for e in cached_dataset(path, stamp).experiments.values()}


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _segment_columns(path: str, stamp: tuple, experiment: str) -> tuple[str | None, list[str]]:
    """The unit-level file of an experiment and the columns that can split it."""
    dataset = cached_dataset(path, stamp)
    found = segments.experiment_file(dataset, experiment)
    if found is None:
        return None, []
    return str(found), segments.segment_columns(found, dataset.catalog)


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner="Reading out every segment…")
def _segment_view(
    path: str, stamp: tuple, key: SettingsKey, experiment: str, column: str
) -> SegmentReadout:
    """The readout of one experiment per value of a segment column (its file alone)."""
    file, _ = _segment_columns(path, stamp, experiment)
    if file is None:
        raise InputError(f"experiment {experiment} has no unit-level file to split")
    dataset = load_dataset(file, Path(path) / "metrics.toml", segment=column)
    return segments.segment_readout(dataset, key_settings(key), experiment)


@st.cache_data(max_entries=16, ttl=CACHE_TTL, show_spinner="Resampling the units…")
def _bootstrap(path: str, stamp: tuple, key: SettingsKey, experiment: str) -> Any:
    """One experiment's results with bootstrap intervals of its unit-level mean metrics."""
    settings = dataclasses.replace(key_settings(key), bootstrap=BOOTSTRAP_RESAMPLES)
    dataset = cached_dataset(path, stamp)
    return build_readout(dataset, settings, experiment=experiment).results


def bootstrap(ctx: DataContext, settings: Settings, experiment_id: str) -> Any:
    """Bootstrap intervals of one experiment (cached; seconds on first use)."""
    args = (str(ctx.path), ctx.stamp, settings_key(settings), experiment_id)
    return or_stop(_bootstrap, *args)


def has_units(ctx: DataContext, experiment_id: str) -> bool:
    """Whether the experiment's rows come from one unit-level file (cached)."""
    return or_stop(_segment_columns, str(ctx.path), ctx.stamp, experiment_id)[0] is not None


def or_stop(call: Callable[..., T], *args: Any) -> T:
    """Run a cached loader; bad data shows its message and a way to fix it, then stops."""
    try:
        return call(*args)
    except InputError as exc:
        st.error(exc.message, icon=":material/error:")
        st.page_link(DATA, label="Check the data on the Data page", icon=":material/database:")
        st.stop()


def portfolio(ctx: DataContext, settings: Settings) -> dict[str, Any]:
    """The portfolio view of the data under the settings (cached)."""
    return or_stop(_portfolio, str(ctx.path), ctx.stamp, settings_key(settings))


def experiment(ctx: DataContext, settings: Settings, experiment_id: str) -> dict[str, Any]:
    """One experiment's readout view (cached)."""
    return or_stop(_experiment, str(ctx.path), ctx.stamp, settings_key(settings), experiment_id)


def movement(ctx: DataContext, settings: Settings) -> dict[str, Any]:
    """Per-metric movement over the portfolio (cached)."""
    return or_stop(_movement, str(ctx.path), ctx.stamp, settings_key(settings))


def experiment_names(ctx: DataContext) -> dict[str, str]:
    """Every experiment id with its name (cached)."""
    return or_stop(_experiment_names, str(ctx.path), ctx.stamp)


def segment_columns(ctx: DataContext, experiment_id: str) -> list[str]:
    """The columns that can split an experiment's unit-level data into segments (cached)."""
    return or_stop(_segment_columns, str(ctx.path), ctx.stamp, experiment_id)[1]


def segment_view(
    ctx: DataContext, settings: Settings, experiment_id: str, column: str
) -> SegmentReadout:
    """One experiment read out per segment value (cached)."""
    args = (str(ctx.path), ctx.stamp, settings_key(settings), experiment_id, column)
    return or_stop(_segment_view, *args)


def fingerprint(ctx: DataContext) -> str:
    """The content hash of the data on view (cached with the dataset)."""
    return or_stop(cached_dataset, str(ctx.path), ctx.stamp).fingerprint


def full_readout(ctx: DataContext, settings: Settings) -> Readout:
    """The whole readout object (cached), e.g. to pin one experiment."""
    return or_stop(cached_readout, str(ctx.path), ctx.stamp, settings_key(settings))


def view_query(ctx: DataContext, settings: Settings, **extra: str | None) -> dict[str, str]:
    """Query parameters that reopen a view: the workspace, non-default settings and extras."""
    query: dict[str, str | None] = {"workspace": ctx.workspace}
    if settings.alpha != DEFAULT.alpha:
        query["alpha"] = f"{settings.alpha:g}"
    if settings.correction != DEFAULT.correction:
        query["correction"] = settings.correction
    if settings.sequential:
        query["sequential"] = "true"
    if settings.cuped is False:
        query["cuped"] = "false"
    if settings.engine != DEFAULT.engine:
        query["engine"] = settings.engine
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
