"""Portfolio (home): every comparison with its verdict, the running experiments first, filters
in the URL, links to readouts."""

import polars as pl
import streamlit as st

from nsexp.analysis.decision import DECISION_LABELS, DECISIONS
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.report import glossary
from nsexp.report.portfolio import (
    STATUS_CHOICES,
    filter_portfolio,
    portfolio_counts,
    readout_url,
    tiles_note,
    vanity_sentence,
    with_decided,
)
from nsexp.report.text import md_escape
from nsexp.store.decisions import latest
from pages.ui import frame, loaders, url, widgets
from pages.ui.listing import portfolio_markdown

ROWS_SHOWN = 20  # the rows a fresh tab lists; the rest behind "Show all" (all_rows=true)
ALL_ROWS = "all_rows"
STATUS_LABELS = {"running": "Running", "concluded": "Concluded", "all": "All"}
STATUS_HELP = (
    "**Running**: still collecting data (experiments.toml `status`, else exposures in the last "
    "two weeks of the data). **Concluded**: the history the insights learn from."
)
# the counts line's labels, each with its glossary word (the legend's definitions)
COUNTS = {
    "experiments": ("Experiments", "experiment"),
    "north_star_win": ("Won the North Star", "won"),
    "vanity_only": ("Vanity only", "vanity only"),
    "attention": ("Need attention", "needs attention"),
}


def counts_line(counts: dict[str, int]) -> str:
    """The portfolio's four counts as one Markdown line: '**Experiments** 11 · **Won the
    North Star** 3 · …'."""
    return " · ".join(f"**{label}** {counts[key]}" for key, (label, _) in COUNTS.items())


def legend(in_view: pl.DataFrame) -> None:
    """What the page's words mean, in one popover built only once opened: the statuses, the
    counts (the glossary's definitions, and which experiments count twice in `in_view`) and
    the verdicts."""
    with st.popover("What the counts and verdicts mean", icon=":material/help:", type="tertiary"):
        words = glossary.help_text(*(word for _, word in COUNTS.values()))
        overlaps = md_escape(tiles_note(in_view))
        st.markdown(f"{STATUS_HELP}\n\n{words}\n\n{overlaps}\n\n{widgets.verdict_meanings()}")


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
# no help tooltips on the first view (the status, the counts, the filter): what they mean is in
# the page's one legend popover at the foot, built only once opened
picked = st.segmented_control(
    "Experiments",
    STATUS_CHOICES,
    format_func=STATUS_LABELS.__getitem__,
    required=True,
    **url.url_bound("status", requested or "running", "running"),
)
status = picked or "running"  # required: None only before its first draw
in_view = filter_portfolio(table, [], None, "", status)
# the counts as one line of Markdown: four st.metric tiles (each with a tooltip, in a row
# container) were a fifth of the page's browser work beyond a blank Streamlit page
st.markdown(counts_line(portfolio_counts(in_view)))
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

asked_search = st.query_params.get("q", "")[:100]
active = len(asked) + len(asked_decisions) + (owner is not None) + bool(asked_search)
# in a popover, built only once opened: four filter widgets were a large part of a fresh tab's
# work in the browser (their state lives in the URL whether the popover is open or not)
with st.popover(f"Filter ({active} on)" if active else "Filter", icon=":material/filter_alt:"):
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
        **url.url_bound("q", asked_search),
    )

shown = filter_portfolio(in_view, verdicts, owner, search or "", decisions=picked_decisions)
if shown.height == 0:
    st.info("No experiment matches these filters.", icon=":material/filter_alt_off:")
else:
    every = url.flag(ALL_ROWS, "a table view", f"showing the first {ROWS_SHOWN} rows")
    links = [
        readout_url(url.view_query(ctx.workspace, settings, experiment=e, variant=v))
        for e, v in shown.select("experiment", "variant").iter_rows()
    ]
    listed = shown.with_columns(pl.Series("readout", links, dtype=pl.String))
    # one Markdown table, each experiment a link to its readout: a data grid cost a fresh tab
    # more browser work than the rest of the page (the most serious verdicts come first)
    st.markdown(portfolio_markdown(listed if every else listed.head(ROWS_SHOWN)))
    valid = shown.filter(pl.col("verdict") != "invalid").height
    st.caption(
        f"{shown.height} comparisons (a treatment against its control; {valid} valid) of "
        f"{shown['experiment'].n_unique()} experiments, the most serious verdicts first. "
        f"A name opens its readout; beside it the treatment and, where dated, the days from its "
        f"first to its last exposure. North Star lift: {md_escape(north_star)}, treatment ÷ "
        f"control − 1 with the interval that decides it, its {interval_name(settings)}. "
        'Decision: the one docs/review.md\'s table recommends; "· decided" where the team '
        "recorded it on the readout, or the decision it recorded instead (⚠ differs)."
    )
    if shown.height > ROWS_SHOWN:
        st.toggle(
            f"Show all {shown.height} comparisons",
            help=f"Only the first {ROWS_SHOWN} are listed until this is on.",
            **url.url_bound(ALL_ROWS, every, False),
        )

legend(in_view)
