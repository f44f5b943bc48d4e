"""What every page reads: the data on view and the analysis settings, opened once per run by
app.py before the page runs (query string -> DataContext + Settings, sidebar drawn).

Streamlit treats a top-level `pages/` folder as a legacy multipage app until app.py's
st.navigation has run once in the server process, so a cold deep link runs the page file alone.
`current()` is the one place that notices and hands the run to app.py (a private Streamlit
flag; tests/app/test_browser.py fails the day Streamlit changes it), and this module the only
one allowed to touch Streamlit's runtime (ruff's banned-api rule, pyproject.toml).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import default_data_dir
from nsexp.store import pins, workspaces
from pages.ui import url

_KEY = "_nsexp_frame"


@dataclass(frozen=True)
class DataContext:
    """Which data the app reads: the data root, the workspace id (None: the root) and its
    directory, plus a cheap stamp of its files and how often it was refreshed, to key the
    caches on."""

    root: Path
    workspace: str | None
    path: Path
    stamp: tuple[tuple[str, int, int], ...]
    refreshed: int = 0

    @classmethod
    def of(cls, root: Path, workspace: str | None, path: Path) -> DataContext:
        """The context of the data in `path` as it is now."""
        return cls(root, workspace, path, workspaces.data_stamp(path), _refreshes.get(path, 0))

    @property
    def name(self) -> str:
        """How the data reads in a sentence."""
        return f"workspace {self.workspace}" if self.workspace else "the bundled data"


# Refreshes per data directory on this server: part of each context, so that a Refresh gives
# that data new cache keys (its source, a warehouse say, is read again) while every other
# workspace keeps its cached readouts; the old entries age out of their bounded caches.
_refreshes: dict[Path, int] = {}
_refresh_lock = threading.Lock()


def refreshed(data: DataContext) -> None:
    """Count a Refresh of this data: the next run's context keys its caches anew."""
    with _refresh_lock:
        _refreshes[data.path] = _refreshes.get(data.path, 0) + 1


@dataclass(frozen=True)
class Frame:
    """The data on view and the settings chosen in the sidebar (or a link)."""

    data: DataContext
    settings: Settings
    bootstrap: int = 0  # resamples the readout's robustness check asked for (0: not asked)


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
        path = workspaces.resolve(root, requested)
    except InputError as exc:
        url.warn(f"{as_sentence(exc.message)} Showing the bundled data.")
        requested, path = None, root
    return DataContext.of(root, requested, path)


def settings_from_url() -> Settings:
    """The analysis settings in the link; each parameter that is not understood gets a warning,
    leaves the URL and keeps its default."""
    settings, problems = Settings.from_query(st.query_params.to_dict())
    for key, message in problems.items():
        url.warn(f"{message} Showing the default instead.")
        del st.query_params[key]
    return settings


def pinned_settings(data: DataContext) -> Settings | None:
    """The settings of the pin the link opens, or None (no pin, or one that cannot be read:
    the page says why)."""
    pin_id = st.query_params.get("pin")
    if pin_id is None:
        return None
    try:
        return pins.load_pin(data.path, pin_id).analysis_settings
    except InputError:
        return None


def remember(frame: Frame) -> None:
    """Keep this run's frame for the page (app.py calls it before page.run())."""
    st.session_state[_KEY] = frame


def leave_legacy_pages_mode() -> None:
    """Tell Streamlit (process-wide) that app.py's st.navigation lists the pages, as its first
    run does: Streamlit 1.67 sets the flag from the pages/ folder's existence, with no public
    switch."""
    PagesManager.uses_pages_directory = False


def navigated_pages_manager() -> type[PagesManager]:
    """Streamlit's PagesManager as on a server where app.py's st.navigation has run once, for
    AppTest (tests, bench): AppTest resets the legacy pages/ flag before every run, so each run
    of a page would take current()'s rerun, which drops a clicked button."""

    class NavigatedPagesManager(PagesManager):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            leave_legacy_pages_mode()

    return NavigatedPagesManager


def current() -> Frame:
    """The frame app.py opened for this run; on a cold deep link (the page run without app.py)
    leave Streamlit's legacy pages mode and rerun through app.py. The flag is process-wide:
    when many sessions start at once, one may find it already cleared by another before app.py
    ran for it, so a missing frame reruns too."""
    if PagesManager.uses_pages_directory or _KEY not in st.session_state:
        leave_legacy_pages_mode()
        st.rerun()
    return st.session_state[_KEY]
