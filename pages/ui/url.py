"""Every user-visible state of a page lives in the query string, so a pasted link reopens it.

Widgets start from the URL (each value checked once by `choice`/`choices`/`day`, which report
a value outside the allowed ones through `reject` or `warn`) and write their new value back on
change (`url_bound`); the navigation menu drops parameters, so `carry_params` brings the
workspace and the settings along on a page switch; `view_query` is the query of a view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from nsexp.analysis.asof import parse_day
from nsexp.analysis.settings import QUERY_KEYS, Settings
from nsexp.errors import InputError, echo
from nsexp.report.text import md_escape

CARRIED = ("workspace", *(k for k in QUERY_KEYS if k != "bootstrap"))
# What the Readout page reopens when the menu brings you back to it without a link.
REOPENED = {"readout": ("experiment", "variant")}
LISTED = 10  # allowed values named in a warning before "and N more"


class Bound(TypedDict, total=False):
    """The keyword arguments that bind a widget to its query parameter (a frozen widget gets
    only its key)."""

    key: str
    on_change: Callable[..., None]
    args: tuple[Any, ...]


def choice(key: str, allowed: Collection[str], what: str, instead: str) -> str | None:
    """The link's value of `key` when it is one of `allowed`, else None (also when absent); a
    value outside them is reported by `reject`. `what` names the kind of value ("a status"),
    `instead` says what the page shows then."""
    value = st.query_params.get(key)
    if value is None or value in allowed:
        return value
    reject(key, [value], allowed, what, instead)
    return None


def day(key: str, span: tuple[dt.date, dt.date] | None, instead: str) -> dt.date | None:
    """The link's ISO date of `key` when it is one within `span` (the data's first and last
    date), else None (also when absent); any other value is reported once and leaves the URL,
    `instead` saying what the page shows then."""
    value = st.query_params.get(key)
    if value is None:
        return None
    try:
        found = parse_day(value, key)
    except InputError:
        found = None
    if span is None:
        problem = "but this data has no dates"
    elif found is None:
        problem = "which is not a date (an ISO date such as 2026-08-10)"
    elif not span[0] <= found <= span[1]:
        problem = f"which is outside the data's dates ({span[0]} to {span[1]})"
    else:
        return found
    warn(f"The link asks for {key} = {echo(value)}, {problem}: {instead}.")
    st.query_params.pop(key, None)
    return None


def choices(key: str, allowed: Collection[str], what: str, instead: str) -> list[str]:
    """The link's values of a repeated parameter that are among `allowed`; the others are
    reported once by `reject` and the URL keeps only the allowed ones."""
    asked = st.query_params.get_all(key)
    kept = [v for v in asked if v in allowed]
    if len(kept) < len(asked):
        reject(key, [v for v in asked if v not in allowed], allowed, what, instead)
        if kept:
            st.query_params[key] = kept
    return kept


def date_choice(key: str, low: dt.date, high: dt.date, instead: str) -> dt.date | None:
    """The link's ISO date for `key` when it lies from `low` to `high` (inclusive), else None
    (also when absent); any other value is reported by one warning and leaves the URL."""
    value = st.query_params.get(key)
    if value is None:
        return None
    try:
        day: dt.date | None = dt.date.fromisoformat(value)
    except ValueError:
        day = None
    if day is not None and low <= day <= high:
        return day
    warn(
        f"The link asks for {key} = {echo(value)}, which is not a date from "
        f"{low.isoformat()} to {high.isoformat()}: {instead}."
    )
    st.query_params.pop(key, None)
    return None


def reject(key: str, values: list[str], allowed: Collection[str], what: str, instead: str) -> None:
    """One warning naming the parameter, the values not understood (each cut short) and the
    allowed ones; the parameter then leaves the URL. The message is composed as plain text and
    shown through `warn`, the one way a link's text reaches the page."""
    shown = ", ".join(echo(v) for v in values)
    names = list(allowed)
    listed = ", ".join(names[:LISTED]) + (
        f" and {len(names) - LISTED} more" if len(names) > LISTED else ""
    )
    warn(
        f"The link asks for {key} = {shown}, which is not {what} "
        f"({'one of ' + listed if names else 'there is none'}): {instead}."
    )
    st.query_params.pop(key, None)


def warn(text: str) -> None:
    """A warning about a link, its text (which may quote the link) shown as plain text."""
    st.warning(plain(text), icon=":material/warning:")


def plain(text: str) -> str:
    """A message that quotes a link's values, as Markdown that shows it as the text it is: the
    one way text from a link reaches a page."""
    return md_escape(text)


def url_bound(key: str, value: Any, default: Any = None, clears: tuple[str, ...] = ()) -> Bound:
    """Keyword arguments that keep a widget and the query parameter `key` in step, with ids in
    the URL whatever the widget shows: the widget starts from `value` and writes its new value
    back on change; the default leaves the URL clean, and a change drops the parameters in
    `clears` (choices that depended on it). Spread them into the widget call."""
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


def flag(key: str, what: str, instead: str) -> bool:
    """True while the link says `key=true`; any other value is reported by `reject` (`what`
    names the state, `instead` what the page shows then)."""
    return choice(key, ("true",), what, instead) == "true"


@contextmanager
def expander(label: str, key: str, icon: str) -> Iterator[bool]:
    """An expander open while the URL says `key=true`, writing its state back; inside it, True
    while open, so the page draws the content only then: a fresh tab builds nothing the reader
    has not opened (a closed expander's content is still sent to and built by the browser)."""
    opened = flag(key, "an opened state", "it is closed")
    with st.expander(label, icon=icon, **url_bound(key, opened, False)) as box:
        yield bool(box.open)


@contextmanager
def member_expander(
    label: str, key: str, member: str, members: Sequence[str], icon: str
) -> Iterator[bool]:
    """One of several expanders sharing the repeated parameter `key` (`more=a&more=b`): open
    while `member` is among the link's values (checked once by the caller with `choices`),
    writing its state back in the order of `members`; inside it, True while open (`expander`)."""
    widget = f"{key}__{member}"
    st.session_state[widget] = member in st.query_params.get_all(key)
    args = (widget, key, member, members)
    with st.expander(label, icon=icon, key=widget, on_change=_to_members, args=args) as box:
        yield bool(box.open)


def _to_members(widget: str, key: str, member: str, members: Sequence[str]) -> None:
    now = set(st.query_params.get_all(key)) - {member}
    if st.session_state[widget]:
        now.add(member)
    kept = [m for m in members if m in now]
    if kept:
        st.query_params[key] = kept
    else:
        st.query_params.pop(key, None)


def carry_params(page: StreamlitPage) -> None:
    """Keep the workspace and the settings in the URL when the navigation menu drops them,
    and reopen the experiment last viewed when the menu leads back to the Readout page.

    Page links carry them; the menu does not. On a switch to another page a missing parameter
    comes back from the previous run; on the same page its absence is a choice (the Data page
    removes `workspace` to go back to the bundled data, a setting at its default leaves).
    """
    switched = st.session_state.get("_nsexp_page") not in (None, page.url_path)
    remembered = st.session_state.get("_nsexp_params", {})
    for key in CARRIED:
        if switched and key not in st.query_params and remembered.get(key):
            st.query_params[key] = remembered[key]
    own = REOPENED.get(page.url_path, ())
    views = st.session_state.setdefault("_nsexp_views", {})
    if switched and not any(k in st.query_params for k in (*own, "pin")):
        for key, value in views.get(page.url_path, {}).items():
            st.query_params[key] = value
    if own:
        views[page.url_path] = {k: st.query_params[k] for k in own if k in st.query_params}
    st.session_state["_nsexp_page"] = page.url_path
    st.session_state["_nsexp_params"] = {k: st.query_params.get(k) for k in CARRIED}


def view_query(workspace: str | None, settings: Settings, **extra: str | None) -> dict[str, str]:
    """Query parameters that reopen a view: the workspace, non-default settings and extras."""
    query: dict[str, str | None] = {"workspace": workspace, **settings.to_query(), **extra}
    return {k: v for k, v in query.items() if v}
