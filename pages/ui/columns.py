"""Table column widths read off the text they hold, so a cell reads whole (no "+5." cut mid-number,
no "Jonas Berg (Monetizatio") and the key columns of a table fit a 1024 px window.

Widths are estimated from the app's font (Source Sans at 14 px, the data grid's) character by
character: measured in Chromium, rounded up, so an estimate is never narrower than the text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl
import streamlit as st

from nsexp.analysis.intervals import interval_name
from nsexp.analysis.results import FIGURES
from nsexp.analysis.settings import Settings
from nsexp.report import figures

METRIC_CAP = 180  # the readout table's metric column: lift, interval, p and result beside it
_PADDING = 20  # the cell's padding both sides (8 px each), and a little slack
# Each printable ASCII character's advance, measured in Chromium and rounded up to half a pixel
# (digits, + and − are 7 px wide, so figures align); anything else counts as 8.5.
_GROUPS = {
    3.0: " ",
    3.5: "',.:;ij|",
    4.0: "!Il",
    4.5: "()-[]f{}",
    5.0: "/\\rt",
    6.0: '"*?sz',
    6.5: "cvxy",
    7.0: "0123456789#$+<=>FJLY^_ek~\u2212",
    7.5: "ESTVXZag",
    8.0: "ACPR`bdhnopqu",
    8.5: "&BK",
    9.0: "DGU",
    9.5: "HNOQ",
    10.5: "Mw",
    11.0: "W",
    11.5: "%",
    12.0: "@m\u2014",
}
_WIDTHS = {c: w for w, chars in _GROUPS.items() for c in chars}
_DEFAULT = 8.5


def text_px(text: str) -> float:
    """The estimated width of `text` in the data grid's font, in pixels."""
    return sum(_WIDTHS.get(c, _DEFAULT) for c in text)


def fit(texts: Iterable[object], header: str, *, cap: int = 400) -> int:
    """A column width in pixels that shows the longest cell and the header whole (at most
    `cap`, past which a cell is cut)."""
    widest = max((text_px(str(t)) for t in texts if t is not None), default=0.0)
    head = text_px(header)  # a header's help shows on hover: no icon to make room for
    return min(cap, int(max(widest, head) + _PADDING + 1))


def metric_table_config(table: pl.DataFrame, settings: Settings) -> dict[str, Any]:
    """The readout table's column_config: the metric pinned, each column as wide as its cells,
    the deciding interval and p under short headers (their full names in the help)."""
    decision = figures.columns(settings)[
        "rel_cred_low" if settings.engine == "bayesian" else "rel_ci_adj_low"
    ]
    short = {
        decision.header: ("Credible interval" if settings.engine == "bayesian" else "Adjusted CI"),
    }
    helps = {
        decision.header: f"The {interval_name(settings, 'decision')}: the interval that decides.",
        FIGURES["p_adjusted"].label: "The p-value adjusted for the number of metrics tested.",
    }
    config: dict[str, Any] = {}
    for name in table.columns:
        header = short.get(name, name)
        cap = METRIC_CAP if name == "Metric" else 400
        width = fit(table[name], header, cap=cap)
        config[name] = st.column_config.TextColumn(
            header, width=width, help=helps.get(name), pinned=name == "Metric"
        )
    return config
