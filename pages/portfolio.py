"""Portfolio (home): every experiment with its verdicts, filters in the URL, links to readouts."""

import polars as pl
import streamlit as st

from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.report.charts import HEX, VERDICT_COLORS
from nsexp.report.portfolio import badge_verdicts, filter_portfolio, readout_url
from pages.ui import frame, loaders, nav, url, widgets

ROWS_SHOWN = 20

ctx, settings = frame.current().data, frame.current().settings
view = loaders.portfolio(ctx, settings)
table, counts = view["table"], view["counts"]

st.title("Experiment portfolio", anchor=False)
st.caption(
    f"Every experiment in {ctx.name}, judged by one question: did the North Star, "
    f"**{view['north_star']}**, move? A win on clicks or page views alone is a *vanity-only* "
    "win: it looks good and changes nothing that matters."
)

with st.container(horizontal=True):
    st.metric("Experiments", counts["experiments"], border=True)
    st.metric("North Star wins", counts["north_star_win"], border=True)
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
st.subheader(view["sentence"], anchor=False)

owners = sorted(o for o in table["owner"].unique() if o)
asked = st.query_params.get_all("verdict")
if any(v not in VERDICTS for v in asked):
    unknown = ", ".join(repr(v) for v in asked if v not in VERDICTS)
    st.warning(
        f"The link filters on unknown verdicts ({unknown}); they are ignored.",
        icon=":material/warning:",
    )
    st.query_params["verdict"] = [v for v in asked if v in VERDICTS]
owner = st.query_params.get("owner")
if owner is not None and owner not in owners:
    st.warning(
        f"No experiment is owned by {owner!r}: showing every owner.", icon=":material/warning:"
    )
    owner = None
    del st.query_params["owner"]

with st.container(horizontal=True, vertical_alignment="bottom"):
    verdicts = st.multiselect(
        "Verdict",
        VERDICTS,
        format_func=VERDICT_LABELS.get,
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
        **url.url_bound("q", st.query_params.get("q", "")),
    )

shown = filter_portfolio(table, verdicts, owner, search or "")
links = [
    readout_url(url.view_query(ctx.workspace, settings, experiment=e)) for e in shown["experiment"]
]
shown = shown.with_columns(
    pl.Series("readout", links, dtype=pl.String),
    # undated data has no duration: a dash, not "None"
    pl.col("days").cast(pl.String).fill_null("—"),
)
badges = badge_verdicts(table)
if shown.height == 0:
    st.info("No experiment matches these filters.", icon=":material/filter_alt_off:")
else:
    event = st.dataframe(
        shown,
        hide_index=True,
        key="portfolio_table",
        on_select="rerun",
        selection_mode="single-row",
        # widths in pixels so the columns that matter fit a 1440 px window; the variants are
        # in the badges and the lift of multi-treatment rows, the readout link is last (a
        # selected row opens the readout too)
        column_order=["name", "badges", "north_star", "owner", "days", "units", "readout"],
        height=min(shown.height, ROWS_SHOWN) * 35 + 38,
        column_config={
            "name": st.column_config.TextColumn("Experiment", width=180),
            "badges": st.column_config.MultiselectColumn(
                "Verdict",
                options=list(badges),
                color=[HEX[VERDICT_COLORS[v]] for v in badges.values()],
                width=250,
                help="One verdict per treatment variant, judged against the control.",
            ),
            "north_star": st.column_config.TextColumn(
                "North Star lift",
                help=f"{view['north_star']}: treatment ÷ control − 1, with its confidence "
                "interval.",
                width=290,
            ),
            "owner": st.column_config.TextColumn("Owner", width=100),
            "variants": st.column_config.TextColumn("Variants"),
            "days": st.column_config.TextColumn(
                "Days", help="Days between the first and last exposure; — when undated.", width=45
            ),
            "units": st.column_config.NumberColumn("Units", format="localized", width=65),
            "readout": st.column_config.LinkColumn(
                "Readout", display_text="Open readout", help="Opens in a new tab."
            ),
        },
        alt=f"{shown.height} experiments with their verdicts and North Star lift",
    )
    st.caption(
        f"{shown.height} of {table.height} experiments. Select a row to open its readout; "
        "the most serious verdicts come first."
    )
    if event.selection.rows:
        picked = shown["experiment"][event.selection.rows[0]]
        st.switch_page(
            nav.READOUT, query_params=url.view_query(ctx.workspace, settings, experiment=picked)
        )

widgets.verdict_legend()
