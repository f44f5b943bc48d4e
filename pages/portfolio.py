"""Portfolio (home): every comparison with its verdict, the running experiments first, filters
in the URL, links to readouts."""

import polars as pl
import streamlit as st

from nsexp.analysis.decision import DECISION_LABELS, DECISIONS
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.report.charts import HEX, VERDICT_COLORS
from nsexp.report.portfolio import (
    STATUS_CHOICES,
    filter_portfolio,
    portfolio_counts,
    readout_url,
    vanity_sentence,
    with_decided,
)
from nsexp.report.text import md_escape
from nsexp.store.decisions import latest
from pages.ui import frame, loaders, nav, url, widgets

ROWS_SHOWN = 20
STATUS_LABELS = {"running": "Running", "concluded": "Concluded", "all": "All"}

ctx, settings = frame.current().data, frame.current().settings
table, north_star = loaders.portfolio(ctx, settings)
table = with_decided(table, {k: r.value for k, r in latest(ctx.path).items()})

st.title("Experiment portfolio", anchor=False)
st.caption(
    f"Every experiment in {ctx.name}, judged by one question: did the North Star, "
    f"**{md_escape(north_star)}**, move? A win on clicks or page views alone is a *vanity-only* "
    "win: it looks good and changes nothing that matters."
)

requested = url.choice("status", STATUS_CHOICES, "a status", "showing the running experiments")
picked = st.segmented_control(
    "Experiments",
    STATUS_CHOICES,
    format_func=STATUS_LABELS.__getitem__,
    required=True,
    help="Running: still collecting data (experiments.toml `status`, else exposures in the last "
    "two weeks of the data). Concluded: the history the insights learn from.",
    **url.url_bound("status", requested or "running", "running"),
)
status = picked or "running"  # required: None only before its first draw
in_view = filter_portfolio(table, [], None, "", status)
counts = portfolio_counts(in_view)
with st.container(horizontal=True):
    st.metric("Experiments", counts["experiments"], border=True)
    st.metric("North Star wins", counts["north_star_win"], border=True)
    st.metric(
        "Leading wins",
        counts["leading_win"],
        border=True,
        help="A validated input improved significantly; the North Star cannot tell yet.",
    )
    st.metric(
        "Vanity-only wins",
        counts["vanity_only"],
        border=True,
        help="A vanity or leading metric improved significantly, the North Star did not.",
    )
    st.metric(
        "Need attention",
        counts["attention"],
        border=True,
        help="Invalid data, a North Star loss or a guardrail breach.",
    )
st.subheader(vanity_sentence(in_view, status), anchor=False)

owners = sorted(o for o in in_view["owner"].unique() if o)
asked = url.choices("verdict", VERDICTS, "a verdict", "they are ignored")
asked_decisions = url.choices("decision", DECISIONS, "a decision", "they are ignored")
owner = url.choice(
    "owner",
    owners,
    f"an owner of a {STATUS_LABELS[status].lower()} experiment",
    "showing every owner",
)

with st.container(horizontal=True, vertical_alignment="bottom"):
    verdicts = st.multiselect(
        "Verdict",
        VERDICTS,
        format_func=VERDICT_LABELS.__getitem__,
        placeholder="Any verdict",
        **url.url_bound("verdict", [v for v in VERDICTS if v in asked]),
    )
    picked_decisions = st.multiselect(
        "Recommended",
        DECISIONS,
        format_func=DECISION_LABELS.__getitem__,
        placeholder="Any decision",
        **url.url_bound("decision", [d for d in DECISIONS if d in asked_decisions]),
    )
    owner = st.selectbox(
        "Owner", owners, index=None, placeholder="Any owner", **url.url_bound("owner", owner)
    )
    search = st.text_input(
        "Search",
        placeholder="Name or id",
        icon=":material/search:",
        max_chars=100,
        **url.url_bound("q", st.query_params.get("q", "")[:100]),
    )

shown = filter_portfolio(in_view, verdicts, owner, search or "", decisions=picked_decisions)
links = [
    readout_url(url.view_query(ctx.workspace, settings, experiment=e, variant=v))
    for e, v in shown.select("experiment", "variant").iter_rows()
]
shown = shown.with_columns(
    pl.Series("readout", links, dtype=pl.String),
    pl.concat_list([pl.col("badge")]).alias("badge"),  # a coloured badge (a one-item list)
    # undated data has no duration: a dash, not "None"
    pl.col("days").cast(pl.String).fill_null("—"),
)
if shown.height == 0:
    st.info("No experiment matches these filters.", icon=":material/filter_alt_off:")
else:
    colors = {VERDICT_LABELS[v]: HEX[VERDICT_COLORS[v]] for v in VERDICTS}
    event = st.dataframe(
        shown,
        hide_index=True,
        key="portfolio_table",
        on_select="rerun",
        selection_mode="single-row",
        width="stretch",
        # one row per treatment; widths so every column reads whole in the ~820 px main column
        # of a 1280 px window (a selected row opens its readout; the links stay in the data)
        column_order=[
            "name",
            "variant",
            "badge",
            "north_star",
            "recommended",
            "decided",
            "owner",
            "days",
        ],
        height=min(shown.height, ROWS_SHOWN) * 35 + 38,
        column_config={
            "name": st.column_config.TextColumn("Experiment", width=190),
            "variant": st.column_config.TextColumn(
                "Treatment", width=100, help="The arm judged against the control."
            ),
            "badge": st.column_config.MultiselectColumn(
                "Verdict",
                options=list(colors),
                color=list(colors.values()),
                width=130,
                help="The verdict of this treatment against the control.",
            ),
            "north_star": st.column_config.TextColumn(
                "North Star lift",
                help=f"{north_star}: treatment ÷ control − 1 with the interval that decides it, "
                f"its {interval_name(settings)}.",
                width=160,
            ),
            "recommended": st.column_config.TextColumn(
                "Recommended",
                width=110,
                help="The recommended decision (docs/review.md has the table).",
            ),
            "decided": st.column_config.TextColumn(
                "Decided",
                width=120,
                help="What the team recorded on the readout; ⚠ differs marks a decision "
                "other than the one recommended here.",
            ),
            "owner": st.column_config.TextColumn("Owner", width=150),
            "days": st.column_config.TextColumn(
                "Days", help="Days between the first and last exposure; — when undated.", width=45
            ),
            "readout": st.column_config.LinkColumn(
                "Readout", display_text="Open", width=60, help="Opens in a new tab."
            ),
        },
        alt=f"{shown.height} comparisons with their verdicts and North Star lift",
    )
    st.caption(
        f"{shown.height} comparisons (a treatment against its control) of "
        f"{shown['experiment'].n_unique()} experiments. Select a row to open its readout; the "
        "most serious verdicts come first."
    )
    if event.selection.rows:
        row = shown.row(event.selection.rows[0], named=True)
        query = url.view_query(
            ctx.workspace, settings, experiment=row["experiment"], variant=row["variant"]
        )
        st.switch_page(nav.READOUT, query_params=query)

widgets.verdict_legend()
