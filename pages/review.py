"""Sprint review: the North Star first (targets, delivered and predicted progress, health), then
the decisions due, what changed since the last review, what is still running, the decisions
recorded and what the tree learned, with the digest to paste (docs/review.md)."""

import os

import streamlit as st

from nsexp.analysis.asof import UNIT_ROWS_CAVEAT
from nsexp.report import digest
from nsexp.report.review import DEFAULT_LOOKBACK_DAYS, default_since, newest_date
from nsexp.report.review_tables import (
    changed_table,
    decided_table,
    due_table,
    learned_table,
    running_table,
    targets_table,
)
from nsexp.report.text import md_escape
from nsexp.store.decisions import latest
from pages.ui import frame, loaders, nav, url

ctx, settings = frame.current().data, frame.current().settings
now = loaders.readout(ctx, settings)
newest = newest_date(now)
if newest is None:
    st.title("Sprint review", anchor=False)
    st.info(
        "The review compares the readout as of a date with today's, and this data has no date "
        "column: add one (the day each unit was first exposed) to see the review."
    )
    st.stop()
first = min(e.first_date for e in now.experiments.values() if e.first_date)
fallback = default_since(newest)
since = url.date_choice("since", first, newest, f"the review starts {fallback.isoformat()}")
recorded = tuple(latest(ctx.path).values())
review = loaders.review(ctx, settings, since, recorded)

st.title(f"Sprint review: {md_escape(review.north_star)}", anchor=False)
with st.container(horizontal=True, vertical_alignment="bottom"):
    st.date_input(
        "Since the last review",
        min_value=min(first, review.since),  # short data: the default may precede it
        max_value=newest,
        format="YYYY-MM-DD",
        help=f"The date of the last review (default: {DEFAULT_LOOKBACK_DAYS} days before the "
        "newest data). What changed compares the readout as of this date with today's.",
        width=220,
        **url.url_bound("since", review.since, default=fallback),
    )
    st.caption(
        f"From {review.since.isoformat()} to the newest data, {newest.isoformat()}, in "
        f"{md_escape(ctx.name)}. Dates are inclusive, on the data's own calendar."
    )

query = url.view_query(ctx.workspace, settings)
base = os.environ.get(digest.BASE_URL_ENV) or nav.app_url("", {}).rstrip("/")
link = digest.readout_link(base, query) if base.startswith(("http://", "https://")) else None
links = {"Readout": st.column_config.LinkColumn("Readout", display_text="Open")}

st.subheader("North Star", anchor=False)
st.markdown(md_escape(review.health))
if review.targets:
    st.dataframe(
        targets_table(review.targets),
        hide_index=True,
        width="stretch",
        alt="Targets per owner team: delivered by shipped comparisons against the target",
    )
    st.caption(
        "Delivered: the lifts of the comparisons decided ship between the target's dates (by "
        "recorded decision where there is one, else by recommendation), corrected for the "
        "winner's curse and compounded, never added, with a 95% interval; it assumes each "
        "change reached everyone and the effects are independent and lasting. Predicted to "
        "add: the running experiments' predicted North Star, compounded the same way."
    )
else:
    st.caption(
        "No metric has a target: give one `target`, `target_from` and `target_by` in "
        "metrics.toml (docs/review.md)."
    )

sections = (
    (
        f"Decisions due ({len(review.decisions_due)})",
        due_table(review, link),
        "Running experiments, and experiments that ended since the last review, whose "
        "recommendation is to act and that have no recorded decision: worst first.",
    ),
    (
        f"Changed since {review.since.isoformat()} ({len(review.changed)})",
        changed_table(review, link),
        "Verdict or recommendation as of the last review against today's, both under today's "
        f"rules. {UNIT_ROWS_CAVEAT}",
    ),
    (
        f"Running ({len(review.running)})",
        running_table(review, link),
        "Comparisons still reading, with the days left to read the North Star at current traffic.",
    ),
    (
        f"Decided ({len(review.decided)})",
        decided_table(review, link),
        "Decisions recorded since the last review, and any that differ from today's "
        "recommendation.",
    ),
)
for title, table, about in sections:
    st.subheader(title, anchor=False)
    if table.height:
        st.dataframe(table, hide_index=True, width="stretch", column_config=links)
    st.caption(about)

st.subheader(f"Learned since {review.since.isoformat()} ({len(review.learned)})", anchor=False)
if review.learned:
    st.dataframe(learned_table(review), hide_index=True, width="stretch")
st.caption(
    "Edges of the tree whose label differs between the experiments that had ended by the last "
    "review and all of them."
)

st.subheader("Digest", anchor=False)
st.caption(
    "The review to paste: Markdown for GitHub, Confluence or Notion, mrkdwn for Slack "
    "(`nsexp review --format slack --post` sends it to a webhook). Copy with the button at the "
    "block's corner."
)
markdown_tab, slack_tab = st.tabs(["Markdown", "Slack"])
with markdown_tab:
    st.code(digest.to_markdown(review, base if link else None, query), language="markdown")
with slack_tab:
    st.code(digest.to_slack(review, base if link else None, query), language=None)
