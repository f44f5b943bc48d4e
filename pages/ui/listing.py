"""The Portfolio's list of comparisons as one Markdown table: each experiment's name a link to its
readout, its verdict a coloured badge.

One Markdown element costs a fresh tab a fraction of a data grid's browser work (the grid's code,
its canvas), reads as text (selectable, found by the browser's search) and its links open like
any other. Every piece of user text goes through md_escape.
"""

from __future__ import annotations

import polars as pl

from nsexp.report.text import markdown_table, md_escape
from pages.ui.widgets import verdict_badge

_HOLD = str.maketrans("[]", "\ue000\ue001")  # private-use: md_escape leaves them
HEADERS = ("Experiment", "Verdict", "North Star lift", "Decision", "Owner")


def link_text(text: str) -> str:
    """User text as the text of a Markdown link: md_escape, with every bracket a character
    reference (literal text in CommonMark, never syntax), so no name can close the link early
    and leave its target, or a host in it, as live text."""
    held = md_escape(text.translate(_HOLD))
    return held.replace("\ue000", "&#91;").replace("\ue001", "&#93;")


def portfolio_markdown(table: pl.DataFrame) -> str:
    """The rows of `table` (the portfolio's columns and a relative `readout` link per row) as a
    Markdown table of five columns, so it fits the main column of a 1024 px window: the
    experiment (its name a link to the readout, the treatment, the days when dated), the
    verdict, the North Star lift, the decision recommended (and the one recorded) and the
    owner."""
    rows = []
    for r in table.iter_rows(named=True):
        name = f"[{link_text(r['name'])}]({r['readout']}) · {md_escape(r['variant'])}"
        days = "" if r["days"] is None else f" · {r['days']} days"
        # the recorded decision after the recommended one: "· decided" alone where they agree
        same = r["decided"] == r["recommended"]
        decided = " · decided" + ("" if same else f" {r['decided']}") if r["decided"] else ""
        rows.append(
            [
                name + days,
                verdict_badge(r["verdict"]),
                md_escape(r["north_star"]),
                md_escape(r["recommended"] + decided),
                md_escape(r["owner"] or ""),
            ]
        )
    return markdown_table(HEADERS, rows)
