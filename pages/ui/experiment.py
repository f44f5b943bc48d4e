"""How one experiment's readout is drawn, live or pinned: the header, a verdict card per
treatment, and one treatment's forest plot, table and North Star timeline.

Every figure quoted is the result model's decision figure (MetricResult.decision_effect and
decision_interval), so a card, a reason, the table and the chart never disagree; every piece of
user text (names, owners, hypotheses, variants, labels) is escaped before Markdown sees it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.readout import ExperimentReadout, TreatmentReadout
from nsexp.analysis.reasons import HISTORY_DEFINITION
from nsexp.analysis.results import MetricResult, TimelinePoint
from nsexp.analysis.settings import Settings
from nsexp.report import charts
from nsexp.report.figures import compact_columns, metric_table, timeline_rows
from nsexp.report.notes import card_notes
from nsexp.report.text import md_code, md_escape
from pages.ui import outlook, widgets

# A readout's charts as Vega-Lite specs, built once per distinct input and shared by every
# session: rebuilding the Altair chart and validating its to_dict() on every rerun was most of
# the server's CPU with twenty people on one link (bench/load.py). cache_data hands each caller
# a copy (Streamlit edits the spec as it sends it). Results hash by value: they are never
# changed once built.
_BY_VALUE: dict[str | type[Any], Callable[[Any], Any]] = {MetricResult: hash, TimelinePoint: hash}


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=_BY_VALUE)
def _forest_spec(metrics: tuple[MetricResult, ...], settings: Settings) -> dict:
    return charts.vega_lite_spec(charts.forest_plot(metrics, settings))


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs=_BY_VALUE)
def _timeline_spec(
    points: tuple[TimelinePoint, ...],
    threshold: float,
    settings: Settings,
    tests: int | None,
    trusted: bool,
) -> dict:
    chart = charts.timeline_chart(
        timeline_rows(points), threshold, settings, tests=tests, trusted=trusted
    )
    return charts.vega_lite_spec(chart)


STATUS = {
    "moved": "moved",
    "flat": "flat, any effect is inside the threshold the team set",
    "inconclusive": "too early to tell",
}


def header(e: ExperimentReadout) -> None:
    """Name, who owns it, how long and how big, the hypothesis and the SRM banner."""
    info = e.experiment.info
    st.title(md_escape(e.name), anchor=False)
    facts = [md_code(e.id)]
    if info.owner:
        facts.append(md_escape(info.owner))
    facts.append(f"control arm {md_code(e.control)}")
    if e.days:
        facts.append(f"{e.days} days ({e.first_date} to {e.last_date})")
    facts.append(f"{fmt.count(e.units)} units")
    st.caption(" · ".join(facts))
    if info.hypothesis:
        st.markdown(f"**Hypothesis.** {md_escape(info.hypothesis)}")
    if e.srm.mismatch:
        seen = ", ".join(f"{md_escape(v)} {fmt.count(n)}" for v, n in e.srm.counts.items())
        planned = ", ".join(f"{md_escape(v)} {s:.0%}" for v, s in e.srm.expected.items())
        st.error(
            f"The arms got {seen} units against a planned split of {planned} "
            f"({fmt.p_value(e.srm.p_value)}). Something in the assignment or the logging is "
            "broken, so no difference in this experiment can be trusted until it is fixed.",
            title="Sample ratio mismatch",
            icon=":material/error:",
        )


def verdict_cards(e: ExperimentReadout, selected: str) -> None:
    """One card per treatment: its verdict, the North Star's figure with the interval that
    decides it (and chance to win with the Bayesian engine), the reasons and the notes; an
    invalid treatment's card says why nothing can be read instead of quoting figures."""
    columns = st.columns(len(e.treatments))
    for column, t in zip(columns, e.treatments, strict=True):
        with column.container(border=True, height="stretch"):
            mark = " · shown below" if t.variant == selected else ""
            st.markdown(f"**{md_code(t.variant)}** vs {md_code(e.control)}{mark}")
            outlook.alerts(t)  # Twyman: "too good to be true?" comes before the verdict
            widgets.verdict_callout(t.verdict)
            if t.verdict == "invalid":
                st.caption(
                    "Nothing in this comparison can be read, better or worse, until the data "
                    "problem below is fixed."
                )
            else:
                _north_star_figures(t, e.settings)
            st.markdown("\n".join(f"- {md_escape(r)}" for r in outlook.card_reasons(t)))
            notes = card_notes(t)
            if notes:
                st.caption("  \n".join(md_escape(n) for n in notes))
    if any(r.kind == "history" for t in e.treatments for r in t.reasons):
        st.caption(HISTORY_DEFINITION)


def _north_star_figures(t: TreatmentReadout, settings: Settings) -> None:
    """The North Star's decision figure and interval on a card, and the predicted North Star
    beside it where the portfolio's history gives one."""
    ns = t.north_star
    with st.container(horizontal=True):
        st.metric(
            f"North Star: {md_escape(ns.name)}",
            fmt.pct(ns.decision_effect),
            help="Posterior mean of treatment ÷ control − 1."
            if settings.engine == "bayesian"
            else "Treatment ÷ control − 1.",
        )
        outlook.predicted_metric(t)
        if settings.engine == "bayesian":
            st.metric(
                "Chance to beat control",
                fmt.chance(ns.chance_to_win),
                help="The posterior probability that the treatment is better on the "
                "North Star, under the prior named below the reasons.",
            )
            st.metric(
                "Expected loss",
                fmt.pct(ns.expected_loss, 2, signed=False),
                help="How much North Star lift shipping it would lose on average if it "
                "is in fact worse: the risk of being wrong.",
            )
    interval = fmt.pct_ci(*ns.decision_interval)
    name = interval_name(settings, "decision", ns.family_size)
    st.caption(f"{name} {interval}: {STATUS[t.north_star_status]}.")
    outlook.prediction_caption(t)


def details(e: ExperimentReadout, t: TreatmentReadout) -> None:
    """Forest plot, the table of every figure and the North Star over time, for one treatment."""
    settings = e.settings
    alpha, engine = settings.alpha, settings.engine
    variant, control = md_code(t.variant), md_code(e.control)
    st.subheader(f"Every metric: {variant} vs {control}", anchor=False)
    interval = f"its {interval_name(settings)}" + (
        " around the posterior mean, so a line clear of zero means a chance to win of at "
        f"least {1 - alpha / 2:.1%} (or at most {alpha / 2:.1%})"
        if engine == "bayesian"
        else ", so a line clear of zero is a significant difference"
        + (" (safe to look every day)" if settings.sequential else "")
    )
    if t.verdict == "invalid":
        st.caption(
            "The figures of an invalid experiment are shown for diagnosis only: every dot is "
            "grey, none is better or worse."
        )
    else:
        st.caption(
            f"Each dot is the relative lift of a metric; the line is {interval}. Green: "
            "significantly better, red: significantly worse, grey: not distinguishable from "
            "zero. The shaded band on the North Star is the smallest lift the team said is "
            "worth acting on."
        )
    st.vega_lite_chart(
        spec=_forest_spec(t.metrics, settings),
        width="stretch",
        height=charts.chart_height(len(t.metrics) + 4),
        alt=f"Relative lift of every metric of {t.variant} against {e.control}",
    )
    every = st.toggle(
        "All columns",
        key=f"all_columns_{t.variant}",
        help="Also the difference, the unadjusted interval and p, what the experiment can "
        "detect today, the units per arm and notes.",
    )
    st.dataframe(
        metric_table(t.metrics, settings),
        hide_index=True,
        column_order=None if every else compact_columns(settings),
        width="stretch",
        column_config={
            "Metric": st.column_config.TextColumn(width="medium"),
            "Guardrail": st.column_config.TextColumn(width="medium"),
            "p (adjusted)": st.column_config.TextColumn("p adj."),
        },
        alt=f"Every figure of {t.variant} against {e.control}",
    )
    timeline(e, t)


def timeline(e: ExperimentReadout, t: TreatmentReadout) -> None:
    """The North Star by day as the readout of the data up to each day quotes it (so the last
    day is the card's figure), or why there is none; grey when the comparison is invalid."""
    settings = e.settings
    st.subheader("The North Star over time", anchor=False)
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
        spec=_timeline_spec(t.timeline, ns.practical_threshold, settings, ns.family_size, trusted),
        width="stretch",
        alt=f"North Star lift of {t.variant} by day, as read out with the data up to each day",
    )
