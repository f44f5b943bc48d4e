"""Portfolio (home): every comparison with its verdict, the running experiments first, filters
in the URL, links to readouts."""

import polars as pl
import streamlit as st

from nsexp.analysis.intervals import interval_name
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.report import glossary
from nsexp.report.charts import HEX, VERDICT_COLORS
from nsexp.report.portfolio import (
    STATUS_CHOICES,
    filter_portfolio,
    portfolio_counts,
    readout_url,
    tiles_note,
    vanity_sentence,
)
from nsexp.report.text import md_escape
from pages.ui import columns, frame, loaders, nav, url, widgets

ROWS_SHOWN = 20
TILE_WIDTH = 180
STATUS_LABELS = {"running": "Running", "concluded": "Concluded", "all": "All"}

ctx, settings = frame.current().data, frame.current().settings
table, north_star = loaders.portfolio(ctx, settings)

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
# tiles of one width: four in a row from 1280 px, two by two at 1024 (never three and one)
with st.container(horizontal=True):
    st.metric(
        "Experiments",
        counts["experiments"],
        border=True,
        width=TILE_WIDTH,
        help=glossary.help_text("experiment"),
    )
    st.metric(
        "Won the North Star",
        counts["north_star_win"],
        border=True,
        width=TILE_WIDTH,
        help=glossary.help_text("won"),
    )
    st.metric(
        "Vanity only",
        counts["vanity_only"],
        border=True,
        width=TILE_WIDTH,
        help=glossary.help_text("vanity only"),
    )
    st.metric(
        "Need attention",
        counts["attention"],
        border=True,
        width=TILE_WIDTH,
        help=glossary.help_text("needs attention"),
    )
st.caption(md_escape(tiles_note(in_view)))
st.subheader(vanity_sentence(in_view, status), anchor=False)

owners = sorted(o for o in in_view["owner"].unique() if o)
asked = url.choices("verdict", VERDICTS, "a verdict", "they are ignored")
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

shown = filter_portfolio(in_view, verdicts, owner, search or "")
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
    # The key columns (experiment, verdict, North Star lift) come first and fit the main column
    # of a 1024 px window, the experiment pinned; owner, treatment and days scroll beside them.
    # Each column is as wide as its longest cell: no interval cut mid-number, no owner truncated.
    ns_help = (
        f"{north_star}: treatment ÷ control − 1 with the interval that decides it, "
        f"its {interval_name(settings)}."
    )
    badge = 16 + columns.fit(colors, "Verdict")  # the pill's own padding
    lift = columns.fit(shown["north_star"], "North Star lift")
    event = st.dataframe(
        shown,
        hide_index=True,
        key="portfolio_table",
        on_select="rerun",
        # a click on any cell opens its row's readout: no checkbox column that reads as
        # "pick several"
        selection_mode="single-cell",
        width="stretch",
        # one row per treatment, key columns first (a clicked cell opens its row's readout;
        # the links stay in the data)
        column_order=["name", "badge", "north_star", "owner", "variant", "days"],
        height=min(shown.height, ROWS_SHOWN) * 35 + 38,
        column_config={
            "name": st.column_config.TextColumn(
                "Experiment",
                width=columns.fit(
                    shown["name"], "Experiment", cap=columns.KEY_BUDGET_1024 - badge - lift
                ),
                pinned=True,
            ),
            "variant": st.column_config.TextColumn(
                "Treatment",
                width=columns.fit(shown["variant"], "Treatment"),
                help="The arm judged against the control.",
            ),
            "badge": st.column_config.MultiselectColumn(
                "Verdict",
                options=list(colors),
                color=list(colors.values()),
                width=badge,
                help="The verdict of this treatment against the control.",
            ),
            "north_star": st.column_config.TextColumn("North Star lift", help=ns_help, width=lift),
            "owner": st.column_config.TextColumn(
                "Owner", width=columns.fit(shown["owner"], "Owner")
            ),
            "days": st.column_config.TextColumn(
                "Days", help="Days between the first and last exposure; — when undated.", width=50
            ),
            "readout": st.column_config.LinkColumn(
                "Readout", display_text="Open", width=60, help="Opens in a new tab."
            ),
        },
        alt=f"{shown.height} comparisons with their verdicts and North Star lift",
    )
    st.caption(
        f"{shown.height} comparisons (a treatment against its control; "
        f"{shown.filter(pl.col('verdict') != 'invalid').height} valid) of "
        f"{shown['experiment'].n_unique()} experiments. Click a row to open its readout; the "
        "most serious verdicts come first."
    )
    if event.selection.cells:
        row = shown.row(event.selection.cells[0][0], named=True)
        query = url.view_query(
            ctx.workspace, settings, experiment=row["experiment"], variant=row["variant"]
        )
        st.switch_page(nav.READOUT, query_params=query)

widgets.verdict_legend()
