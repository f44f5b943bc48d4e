"""How one experiment's readout is drawn, live or pinned: the header, a verdict card per
treatment, and one treatment's forest plot, table and North Star timeline."""

from __future__ import annotations

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.readout import ExperimentReadout, TreatmentReadout
from nsexp.analysis.settings import Settings
from nsexp.report import charts
from nsexp.report.figures import compact_columns, metric_table, timeline_frame
from nsexp.report.notes import card_notes
from pages.ui import outlook, widgets

STATUS = {
    "moved": "moved",
    "flat": "flat, any effect is inside the threshold the team set",
    "inconclusive": "too early to tell",
}


def header(e: ExperimentReadout) -> None:
    """Name, who owns it, how long and how big, the hypothesis and the SRM banner."""
    info = e.experiment.info
    st.title(e.name, anchor=False)
    facts = [f"`{e.id}`"]
    if info.owner:
        facts.append(info.owner)
    facts.append(f"control arm `{e.control}`")
    if e.days:
        facts.append(f"{e.days} days ({e.first_date} to {e.last_date})")
    facts.append(f"{fmt.count(e.units)} units")
    st.caption(" · ".join(facts))
    if info.hypothesis:
        st.markdown(f"**Hypothesis.** {info.hypothesis}")
    if e.srm.mismatch:
        seen = ", ".join(f"{v} {fmt.count(n)}" for v, n in e.srm.counts.items())
        planned = ", ".join(f"{v} {s:.0%}" for v, s in e.srm.expected.items())
        st.error(
            f"The arms got {seen} units against a planned split of {planned} "
            f"({fmt.p_value(e.srm.p_value)}). Something in the assignment or the logging is "
            "broken, so no difference in this experiment can be trusted until it is fixed.",
            title="Sample ratio mismatch",
            icon=":material/error:",
        )


def verdict_cards(e: ExperimentReadout, selected: str, settings: Settings) -> None:
    """One card per treatment: its verdict, the North Star's lift (and chance to win with the
    Bayesian engine), the reasons and the notes on CUPED, power and guardrails."""
    columns = st.columns(len(e.treatments))
    for column, t in zip(columns, e.treatments, strict=True):
        with column.container(border=True, height="stretch"):
            mark = " · shown below" if t.variant == selected else ""
            st.markdown(f"**`{t.variant}`** vs `{e.control}`{mark}")
            outlook.alerts(t)  # Twyman: "too good to be true?" comes before the verdict
            widgets.verdict_callout(t.verdict)
            ns = t.north_star
            status = "not to be trusted" if t.verdict == "invalid" else STATUS[t.north_star_status]
            with st.container(horizontal=True):
                st.metric(
                    f"North Star: {ns.label}",
                    fmt.pct(ns.rel_effect),
                    help="Treatment ÷ control − 1.",
                )
                outlook.predicted_metric(t)
                if settings.engine == "bayesian":
                    st.metric(
                        "Chance to beat control",
                        fmt.chance(ns.chance_to_win),
                        help="The posterior probability that the treatment is better on the "
                        "North Star, under a weak prior.",
                    )
                    st.metric(
                        "Expected loss",
                        fmt.pct(ns.expected_loss, 2, signed=False),
                        help="How much North Star lift shipping it would lose on average if it "
                        "is in fact worse: the risk of being wrong.",
                    )
            kind = "always-valid interval" if settings.sequential else "interval"
            interval = fmt.pct_ci(ns.rel_ci_low, ns.rel_ci_high)
            st.caption(f"{(1 - settings.alpha) * 100:g}% {kind} {interval}: {status}.")
            outlook.prediction_caption(t)
            st.markdown("\n".join(f"- {r}" for r in outlook.card_reasons(t)))
            notes = card_notes(t)
            if notes:
                st.caption("  \n".join(notes))


def details(e: ExperimentReadout, t: TreatmentReadout, settings: Settings) -> None:
    """Forest plot, the table of every figure and the North Star over time, for one treatment."""
    alpha, engine = settings.alpha, settings.engine
    variant, control = t.variant, e.control
    st.subheader(f"Every metric: `{variant}` vs `{control}`", anchor=False)
    interval = (
        "its credible interval, so a line clear of zero means a chance to win above "
        f"{1 - alpha / 2:.1%} (or below {alpha / 2:.1%})"
        if engine == "bayesian"
        else "its interval, widened for the number of metrics tested, so a line clear of zero "
        "is a real difference"
        + (" (always valid: safe to look every day)" if settings.sequential else "")
    )
    st.caption(
        f"Each dot is the relative lift of a metric; the line is {interval}. Green: "
        "significantly better, red: significantly worse, grey: not distinguishable from zero. "
        "The shaded band on the North Star is the smallest lift the team said is worth acting on."
    )
    st.altair_chart(
        charts.forest_plot(t.metrics, alpha, engine),
        alt=f"Relative lift of every metric of {variant} against {control}",
    )
    every = st.toggle(
        "All columns",
        key=f"all_columns_{variant}",
        help="Also the difference, the unadjusted interval and p, what the experiment can "
        "detect today, the units per arm and notes.",
    )
    st.dataframe(
        metric_table(t.metrics, alpha, engine),
        hide_index=True,
        column_order=None if every else compact_columns(engine == "bayesian"),
        # widths in pixels so the default columns fit a 1440 px window
        column_config={
            "Metric": st.column_config.TextColumn(width=165),
            "Role": st.column_config.TextColumn(width=115),
            "Control": st.column_config.TextColumn(width=70),
            "Treatment": st.column_config.TextColumn(width=75),
            "Lift": st.column_config.TextColumn(width=55),
            "Adjusted CI": st.column_config.TextColumn(width=110),
            "p (adjusted)": st.column_config.TextColumn("p adj.", width=60),
            "Result": st.column_config.TextColumn(width=105),
            "Guardrail": st.column_config.TextColumn(width=190),
        },
        alt=f"Every figure of {variant} against {control}",
    )
    timeline(t, settings)


def timeline(t: TreatmentReadout, settings: Settings) -> None:
    """The North Star's cumulative lift by day, or why there is none."""
    st.subheader("The North Star over time", anchor=False)
    if not t.timeline:
        st.caption("The data has no dates, so there is no timeline to draw.")
        return
    ns = t.north_star
    if settings.sequential:
        band = (
            "its always-valid interval (sequential): safe to look every day, the chance of a "
            "false win stays at α however often you peek"
        )
    else:
        band = (
            "its fixed-horizon interval. Early days swing widely; checking daily and stopping "
            "at the first significant day inflates false wins (turn on Safe to peek)"
        )
    st.caption(
        f"{ns.label}: the lift using every unit exposed up to each day, with {band}. "
        "Dashed lines: the ±threshold worth acting on."
    )
    st.altair_chart(
        charts.timeline_chart(
            timeline_frame(t), ns.practical_threshold, settings.alpha, settings.sequential
        ),
        alt=f"Cumulative North Star lift of {t.variant} by day",
    )
