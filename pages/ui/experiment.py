"""How one experiment's readout is drawn, live or pinned: the header, a verdict card per
treatment (verdict, the reason that decided it, the North Star figure and the decision first,
the rest one click away), every treatment's forest plot and table, and the North Star timeline of
the treatment on view.

Every figure quoted is the result model's decision figure (MetricResult.decision_effect and
decision_interval), so a card, a reason, the table and the chart never disagree; every piece of
user text (names, owners, hypotheses, variants, labels) is escaped before Markdown sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.intervals import IntervalKind, interval_name
from nsexp.analysis.readout import ExperimentReadout, TreatmentReadout
from nsexp.analysis.reasons import HISTORY_DEFINITION
from nsexp.analysis.results import MetricResult, TimelinePoint
from nsexp.analysis.settings import Settings
from nsexp.report import charts
from nsexp.report.figures import (
    compact_columns,
    every_treatment,
    metric_table,
    timeline_rows,
)
from nsexp.report.notes import card_notes, deciding_text, detectable_note, further_reasons
from nsexp.report.text import md_code, md_escape
from nsexp.store.decisions import Recorded
from pages.ui import columns, decision, outlook, url, widgets
from pages.ui.frame import DataContext

# The parts of a readout drawn only once opened, each with its query parameter (`plot=true`):
# a fresh tab builds the header and the verdict cards (the first screen), not the plot, the
# tables and the timeline below them. The plot is the costliest: any Vega-Lite chart loads
# Vega and compiles its spec in the browser, about a third of a fresh tab's work
# (docs/benchmarks.md). A card's "More on this comparison" repeats MORE with its treatment
# (`more=daily`); the table's "All columns" is ALL_COLUMNS=true.
PLOT, TABLE, TIMELINE = "plot", "table", "timeline"
ALL_COLUMNS, MORE = "all_columns", "more"
SHOW = "show"  # the key prefix of a card's "Show it below" button (show_<treatment>)

# A readout's charts as Vega-Lite specs, built once per distinct input and shared by every
# session: rebuilding the Altair chart and validating its to_dict() on every rerun was most of
# the server's CPU with twenty people on one link (bench/load.py). cache_data hands each caller
# a copy (Streamlit edits the spec as it sends it). Results hash by value: they are never
# changed once built. A spec pickles to about 4 KB, so 2,048 entries (under 10 MB) hold every view
# of the demo's 14 experiments under the load benchmark's 24 settings; 256 missed on most of them.
SPECS = 2048
_BY_VALUE: dict[str | type[Any], Callable[[Any], Any]] = {MetricResult: hash, TimelinePoint: hash}


@st.cache_data(max_entries=SPECS, show_spinner=False, hash_funcs=_BY_VALUE)
def _forest_spec(metrics: tuple[MetricResult, ...], settings: Settings) -> dict:
    return charts.forest_spec(metrics, settings)


@st.cache_data(max_entries=SPECS, show_spinner=False, hash_funcs=_BY_VALUE)
def _timeline_spec(
    points: tuple[TimelinePoint, ...],
    threshold: float,
    settings: Settings,
    trusted: bool,
) -> dict:
    chart = charts.timeline_chart(timeline_rows(points), threshold, settings, trusted=trusted)
    return charts.vega_lite_spec(chart)


def opened() -> dict[str, str | list[str]]:
    """The query parameters of the parts opened on this view, for a link that reopens it."""
    found: dict[str, str | list[str]] = {
        key: value
        for key in (PLOT, TABLE, TIMELINE, ALL_COLUMNS)
        if (value := st.query_params.get(key)) is not None
    }
    if more := st.query_params.get_all(MORE):
        found[MORE] = more
    return found


def header(e: ExperimentReadout) -> None:
    """Name, who owns it, the control arm, how long and how big."""
    info = e.experiment.info
    st.title(md_escape(e.name), anchor=False)
    facts = [md_code(e.id)]
    if info.owner:
        facts.append(md_escape(info.owner))
    facts.append(f"control arm {md_code(e.control)}")
    if e.days:
        # non-breaking hyphens: the range may wrap between dates, never inside one
        first, last = (str(d).replace("-", "\u2011") for d in (e.first_date, e.last_date))
        facts.append(f"{e.days} days ({first} to {last})")
    facts.append(f"{fmt.count(e.units)} units")
    st.caption(" · ".join(facts))


def verdict_cards(
    ctx: DataContext, e: ExperimentReadout, selected: str, *, writable: bool = True
) -> None:
    """One card per treatment (card), then the help the cards refer to and the hypothesis;
    `writable` (a live readout): the cards' decision panels take a recorded decision, and each
    card not on view has a button that puts it on view (`variant=` in the link)."""
    # bordered columns: a bordered container in each column was two more layout blocks per card,
    # each measured by its own resize observer in a fresh tab
    columns = st.columns(len(e.treatments), border=True)
    logs = decision.logs(ctx, e)
    url.choices(MORE, [t.variant for t in e.treatments], f"a treatment of {e.id}", "it is closed")
    for column, t in zip(columns, e.treatments, strict=True):
        with column:
            on_view = t.variant == selected and len(e.treatments) > 1
            card(ctx, e, t, logs[t.variant], on_view=on_view, writable=writable)
    # the help the cards and the plot refer to, in one popover per page: a label per card (and
    # a Markdown block per help) was layout work for every fresh tab
    with st.popover("How to read the cards and the plot", icon=":material/help:", type="tertiary"):
        st.markdown(card_help(e) + "\n\n**The plot**\n\n" + plot_help(e))
    if e.experiment.info.hypothesis:
        st.markdown(f"**Hypothesis.** {md_escape(e.experiment.info.hypothesis)}")


def card_help(e: ExperimentReadout) -> str:
    """What the cards' parts mean, as one Markdown text: the verdicts, the North Star figure's
    interval, how history lines read (where a card has one) and how the decision is decided."""
    figures = dict.fromkeys(
        _figure_help(t.north_star, e.settings) for t in e.treatments if t.verdict != "invalid"
    )
    parts = ["**The verdicts**", widgets.verdict_meanings()]
    parts += [f"**The North Star figure.** {h}" for h in figures]
    if any(r.kind == "history" for t in e.treatments for r in t.reasons):
        parts.append(HISTORY_DEFINITION)  # it opens with "How history lines read:"
    parts += ["**The recommended decision**", decision.rule()]
    return "\n\n".join(parts)


def card(
    ctx: DataContext,
    e: ExperimentReadout,
    t: TreatmentReadout,
    log: list[Recorded],
    *,
    on_view: bool,
    writable: bool,
) -> None:
    """A treatment's verdict first, in this order: the verdict with the one reason that decided
    it, the North Star's figure (its decision interval: the only North Star interval on the
    card), the decision, then the model estimate in small print; every other reason and note is
    one click away. An invalid comparison's card quotes no figure. With several treatments, the
    one on view says so and each other card (of a live readout) has a button that shows it."""
    heading = f"**{md_code(t.variant)}** vs {md_code(e.control)}"
    if writable and not on_view and len(e.treatments) > 1:
        # the card's heading is its button, not a segmented control above the cards: one
        # widget less for a fresh tab to build (the ButtonGroup's code and layout)
        st.button(
            f"{heading} · show below",
            key=f"{SHOW}_{t.variant}",
            type="tertiary",  # no help: a tooltip doubles the button in the page
            on_click=_show,
            args=(t.variant, e.treatments[0].variant),
        )
    else:
        st.markdown(heading + (" · shown below" if on_view else ""))
    outlook.alerts(t)  # Twyman: "too good to be true?" comes before the verdict
    widgets.verdict_callout(t.verdict, md_escape(deciding_text(t, e.settings)))
    if t.verdict != "invalid":
        _north_star_figure(t, e.settings)
    decision_slot(ctx, e, t, log, writable=writable)
    outlook.model_estimate_caption(t)
    more, notes = further_reasons(t), card_notes(t)
    if not (more or notes):
        return
    variants = [o.variant for o in e.treatments]
    label, icon = "More on this comparison", ":material/notes:"
    with url.member_expander(label, MORE, t.variant, variants, icon) as opened:
        if opened:  # drawn once opened, like the table and the timeline
            st.markdown("\n".join(f"- {md_escape(r)}" for r in more))
            st.caption("  \n".join(md_escape(n) for n in notes))


def _show(variant: str, first: str) -> None:
    """Put treatment `variant` on view; the first treatment, the default, leaves the URL clean."""
    if variant == first:
        st.query_params.pop("variant", None)
    else:
        st.query_params["variant"] = variant


def decision_slot(
    ctx: DataContext,
    e: ExperimentReadout,
    t: TreatmentReadout,
    log: list[Recorded],
    *,
    writable: bool,
) -> None:
    """The card's decision, right under the verdict's figure and reason: what an inconclusive
    North Star can detect (and, while the experiment runs, the days still needed), then the
    recommended and the recorded decision (pages.ui.decision.panel; `log`: this comparison's
    entries of the decision log, which verdict_cards reads once for every card)."""
    note = detectable_note(t, running=e.status == "running")
    if note:
        st.caption(md_escape(note))
    decision.panel(ctx, e, t, log, writable=writable)


def _north_star_figure(t: TreatmentReadout, settings: Settings) -> None:
    """The North Star's decision figure with its decision interval (adjusted, or credible
    under the Bayesian engine) and, under Bayes, the chance to beat control and expected loss."""
    ns = t.north_star
    # a North Star tested alone needs no adjustment: its short name says so, as the long one does
    alone = ns.engine != "bayesian" and (ns.family_size or 0) < 2
    kind: IntervalKind = "plain" if alone else "decision"
    st.metric(
        f"North Star: {md_escape(ns.name)}",
        fmt.pct(ns.decision_effect),
        delta=fmt.pct_ci(*ns.decision_interval),
        delta_color="green" if ns.moved == "better" else "red" if ns.moved == "worse" else "gray",
        delta_arrow="off",
        delta_description=interval_name(settings, kind, short=True),
    )  # what it is: in the page's "How the cards read" (card_help), not a help per card
    if ns.engine == "bayesian":
        st.caption(
            f"Chance to beat control {fmt.chance(ns.chance_to_win)} · expected loss if shipped "
            f"{fmt.pct(ns.expected_loss, 2, signed=False)}, the North Star lift lost on average "
            "if it is in fact worse."
        )


def _figure_help(ns: MetricResult, settings: Settings) -> str:
    """What a card's North Star figure is: the lift with the interval that decides."""
    name = interval_name(settings, "decision", ns.family_size)
    lift = (
        "posterior mean of treatment ÷ control − 1"
        if ns.engine == "bayesian"
        else "treatment ÷ control − 1"
    )
    return f"The lift ({lift}) with its {name}: the interval that decides the verdict."


def plot_help(e: ExperimentReadout) -> str:
    """How the forest plot reads, as Markdown."""
    settings = e.settings
    alpha = settings.alpha
    invalid = (
        "The figures of an invalid comparison are shown for diagnosis only: its lines are "
        "light grey, none is better or worse.\n\n"
        if any(o.verdict == "invalid" for o in e.treatments)
        else ""
    )
    interval = f"its {interval_name(settings)}" + (
        " around the posterior mean, so a line clear of zero means a chance to win of "
        f"at least {1 - alpha / 2:.1%} (or at most {alpha / 2:.1%})"
        if settings.engine == "bayesian"
        else ", so a line clear of zero is a significant difference"
        + (" (safe to look every day)" if settings.sequential else "")
    )
    return (
        f"{invalid}Each dot is the relative lift of a metric; the line is {interval}. Green: "
        "significantly better, red: significantly worse, grey: not distinguishable from "
        "zero. The shaded band on the North Star is the smallest lift the team said is "
        "worth acting on."
        + (
            " Each treatment has its own line in a metric's row, the one on view on "
            "top; the legend names them by the shape of their dots."
            if len(e.treatments) > 1
            else ""
        )
    )


def details(e: ExperimentReadout, t: TreatmentReadout) -> None:
    """Every metric of every treatment (the one on view first) as a forest plot and as a
    table, then the North Star over time of the one on view: each drawn once opened
    (`plot=true`, `table=true`, `timeline=true`), so a link can open any of them."""
    variant, control = md_code(t.variant), md_code(e.control)
    others = [md_code(o.variant) for o in e.treatments if o.variant != t.variant]
    beside = f", with {', '.join(others)}" if others else ""
    st.subheader(f"Every metric: {variant} vs {control}{beside}", anchor=False)
    with url.expander("Every metric, as a plot", PLOT, ":material/bar_chart:") as opened:
        if opened:
            forest(e, every_treatment(e.treatments, t.variant))
    every = url.flag(ALL_COLUMNS, "a table view", "showing the key columns")
    with url.expander("Every figure, as a table", TABLE, ":material/table:") as opened:
        if opened:
            _tables(e, t, every)
    timeline(e, t)


def forest(e: ExperimentReadout, metrics: tuple[MetricResult, ...]) -> None:
    """The forest plot of `metrics` (every_treatment's order) of readout `e`, as an opened
    plot draws it: bench/_forest_app.py draws it alone, so its cost in the browser is one number."""
    st.vega_lite_chart(
        spec=_forest_spec(metrics, e.settings),
        width="stretch",
        height=charts.forest_height(metrics),
        alt=f"Relative lift of every metric of every treatment against {e.control}",
    )


def _tables(e: ExperimentReadout, t: TreatmentReadout, every: bool) -> None:
    """The table of every figure of each treatment, the one on view first (with several, each
    under its name); its key columns, or `every` one ("All columns", `all_columns=true`)."""
    settings, control = e.settings, md_code(e.control)
    every = st.toggle(
        "All columns",
        help="Also the difference, the unadjusted interval and p, what the experiment can "
        "detect today, the units per arm and notes.",
        **url.url_bound(ALL_COLUMNS, every, False),
    )
    for shown in sorted(e.treatments, key=lambda o: o.variant != t.variant):
        if len(e.treatments) > 1:
            st.markdown(f"**{md_code(shown.variant)}** vs {control}")
        table = metric_table(shown.metrics, settings)
        st.dataframe(
            table,
            hide_index=True,
            column_order=None if every else compact_columns(settings),
            width="stretch",
            column_config=columns.metric_table_config(table, settings),
            alt=f"Every figure of {shown.variant} against {e.control}",
        )


def timeline(e: ExperimentReadout, t: TreatmentReadout) -> None:
    """The North Star by day as the readout of the data up to each day quotes it (so the last
    day is the card's figure), or why there is none; grey when the comparison is invalid.
    Drawn once opened (`timeline=true`)."""
    with url.expander("The North Star over time", TIMELINE, ":material/timeline:") as opened:
        if opened:
            _timeline(e, t)


def _timeline(e: ExperimentReadout, t: TreatmentReadout) -> None:
    """The opened timeline: what it draws and how to read it, then the chart."""
    settings = e.settings
    if not t.timeline:
        st.caption("The data has no dates, so there is no timeline to draw.")
        return
    ns = t.north_star
    interval = interval_name(settings, "decision", ns.family_size)
    lift = "posterior mean" if settings.engine == "bayesian" else "lift"
    if settings.sequential:
        peeking = (
            "Safe to look every day: the chance of a false win stays at α however often you peek."
        )
    else:
        peeking = (
            "Early days swing widely; checking daily and stopping at the first significant day "
            "inflates false wins (turn on Safe to peek)."
        )
    trusted = t.verdict != "invalid"
    diagnosis = (
        ""
        if trusted
        else " The figures of an invalid experiment are drawn grey, for diagnosis only."
    )
    st.caption(
        f"{md_escape(ns.name)} each day as the readout of the data up to that day reads it: the "
        f"{lift} with its {interval}, so the last day is the figure on the card. {peeking} "
        f"Dashed lines: the ±threshold worth acting on.{diagnosis}"
    )
    st.vega_lite_chart(
        spec=_timeline_spec(t.timeline, ns.practical_threshold, settings, trusted),
        width="stretch",
        alt=f"North Star lift of {t.variant} by day, as read out with the data up to each day",
    )
