"""Readout: one experiment in full, live from the data or pinned for a review."""

import json
from dataclasses import asdict
from typing import Any

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.readout import Settings
from nsexp.errors import InputError
from nsexp.report import charts, tables
from nsexp.report.markdown import experiment_markdown
from nsexp.stats.multiplicity import CORRECTION_NAMES
from nsexp.store import pins
from pages import common

STATUS = {
    "moved": "moved",
    "flat": "flat, any effect is inside the threshold the team set",
    "inconclusive": "too early to tell",
}


def header(payload: dict[str, Any]) -> None:
    """Name, who owns it, how long and how big, the hypothesis and the SRM banner."""
    st.title(payload["name"], anchor=False)
    facts = [f"`{payload['experiment']}`"]
    if payload["owner"]:
        facts.append(payload["owner"])
    facts.append(f"control arm `{payload['control']}`")
    if payload["days"]:
        facts.append(f"{payload['days']} days ({payload['first_date']} to {payload['last_date']})")
    facts.append(f"{fmt.count(payload['units'])} units")
    st.caption(" · ".join(facts))
    if payload["hypothesis"]:
        st.markdown(f"**Hypothesis.** {payload['hypothesis']}")
    srm = payload["srm"]
    if srm["mismatch"]:
        seen = ", ".join(f"{v} {fmt.count(n)}" for v, n in srm["counts"].items())
        planned = ", ".join(f"{v} {s:.0%}" for v, s in srm["expected_split"].items())
        st.error(
            f"The arms got {seen} units against a planned split of {planned} "
            f"({fmt.p_value(srm['p_value'])}). Something in the assignment or the logging is "
            "broken, so no difference in this experiment can be trusted until it is fixed.",
            title="Sample ratio mismatch",
            icon=":material/error:",
        )


def verdict_cards(payload: dict[str, Any], selected: str, settings: Settings) -> None:
    """One card per treatment: its verdict, the North Star's lift (and chance to win with the
    Bayesian engine), the reasons and the notes on CUPED, power and guardrails."""
    columns = st.columns(len(payload["comparisons"]))
    for column, comparison in zip(columns, payload["comparisons"], strict=True):
        with column.container(border=True, height="stretch"):
            mark = " · shown below" if comparison["variant"] == selected else ""
            st.markdown(f"**`{comparison['variant']}`** vs `{payload['control']}`{mark}")
            common.verdict_callout(comparison["verdict"])
            ns = ns_row(comparison)
            status = (
                "not to be trusted"
                if comparison["verdict"] == "invalid"
                else STATUS[comparison["north_star_status"]]
            )
            with st.container(horizontal=True):
                st.metric(
                    f"North Star: {ns['label']}",
                    fmt.pct(ns["rel_effect"]),
                    help="Treatment ÷ control − 1.",
                )
                if settings.engine == "bayesian":
                    st.metric(
                        "Chance to beat control",
                        fmt.chance(ns.get("chance_to_win")),
                        help="The posterior probability that the treatment is better on the "
                        "North Star, under a weak prior.",
                    )
                    st.metric(
                        "Expected loss",
                        fmt.pct(ns.get("expected_loss"), 2, signed=False),
                        help="How much North Star lift shipping it would lose on average if it "
                        "is in fact worse: the risk of being wrong.",
                    )
            kind = "always-valid interval" if settings.sequential else "interval"
            low, high = ns["rel_ci_low"], ns["rel_ci_high"]
            st.caption(f"{(1 - settings.alpha) * 100:g}% {kind} {fmt.pct_ci(low, high)}: {status}.")
            st.markdown("\n".join(f"- {r}" for r in comparison["reasons"]))
            notes = tables.card_notes(comparison, settings.engine)
            if notes:
                st.caption("  \n".join(notes))


def ns_row(comparison: dict[str, Any]) -> dict[str, Any]:
    """The North Star's metric dict of a comparison."""
    return next(m for m in comparison["metrics"] if m["role"] == "north_star")


def details(payload: dict[str, Any], comparison: dict[str, Any], settings: Settings) -> None:
    """Forest plot, the table of every figure and the North Star over time, for one treatment."""
    alpha, engine = settings.alpha, settings.engine
    metrics = tables.metrics_frame(comparison)
    variant, control = comparison["variant"], payload["control"]
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
        charts.forest_plot(metrics, alpha, engine),
        alt=f"Relative lift of every metric of {variant} against {control}",
    )
    table = tables.metric_table(metrics, alpha, engine)
    every = st.toggle(
        "All columns",
        key=f"all_columns_{variant}",
        help="Also the difference, the unadjusted interval and p, what the experiment can "
        "detect today, the units per arm and notes.",
    )
    st.dataframe(
        table,
        hide_index=True,
        column_order=None if every else tables.compact_columns(engine == "bayesian"),
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
    timeline = tables.timeline_frame(comparison)
    st.subheader("The North Star over time", anchor=False)
    if timeline.height == 0:
        st.caption("The data has no dates, so there is no timeline to draw.")
        return
    ns = ns_row(comparison)
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
        f"{ns['label']}: the lift using every unit exposed up to each day, with {band}. "
        "Dashed lines: the ±threshold worth acting on."
    )
    st.altair_chart(
        charts.timeline_chart(timeline, ns["practical_threshold"], alpha, settings.sequential),
        alt=f"Cumulative North Star lift of {variant} by day",
    )


def segment_section(
    ctx: common.DataContext, settings: Settings, experiment_id: str, variant: str, name: str
) -> None:
    """The North Star per segment of unit-level data, and whether the effect differs."""
    columns = common.segment_columns(ctx, experiment_id)
    if not columns:
        return
    st.subheader("The North Star by segment", anchor=False)
    requested = st.query_params.get("segment")
    if requested is not None and requested not in columns:
        st.warning(
            f"{name} has no segment column {requested!r}: pick one of {', '.join(columns)}.",
            icon=":material/warning:",
        )
        requested = None
        del st.query_params["segment"]
    column = st.selectbox(
        "Split by",
        columns,
        index=None,
        placeholder="Choose a column of the unit-level data",
        width=420,
        help="Read the experiment out separately for each value of this column (each with its "
        "own SRM check and correction), and test whether the effect differs between them.",
        **common.url_bound("segment", requested),
    )
    if column is None:
        st.caption("Does the effect differ between, say, platforms? Choose a column to see.")
        return
    sr = common.segment_view(ctx, settings, experiment_id, column)
    frame = tables.segment_frame(sr, experiment_id, variant)
    if frame.height == 0:
        st.info(f"No segment of {column} has both arms to compare.", icon=":material/info:")
        return
    ns = sr.readout.catalog.north_star
    het = tables.heterogeneity_row(sr, experiment_id, variant)
    if het is not None and het["p_value"] is not None:
        differs = het["p_value"] < settings.alpha
        verdict = (
            f"the effect differs by {column}"
            if differs
            else f"no evidence that the effect differs by {column}"
        )
        i2 = "" if het["i2"] is None else f", I² = {het['i2']:.0%}"
        (st.warning if differs else st.info)(
            f"Cochran's Q across {het['segments']} segments: "
            f"{fmt.p_value(het['p_value'])}{i2}: {verdict}.",
            icon=":material/call_split:",
        )
    st.altair_chart(
        charts.segment_chart(frame, ns.practical_threshold, column),
        alt=f"North Star lift of {variant} by {column}",
    )
    st.dataframe(
        tables.segment_table(frame),
        hide_index=True,
        alt=f"North Star of {variant} in each {column} segment",
    )
    st.caption(
        f"{ns.label} in each {column} segment, each read out on its own. Many segments mean "
        "many chances for one to look different by luck: trust the Q test over a single "
        "segment's result."
    )


def bootstrap_section(
    ctx: common.DataContext, settings: Settings, experiment_id: str, variant: str
) -> None:
    """A robustness check on demand: bootstrap intervals beside the analytic ones."""
    if not common.has_units(ctx, experiment_id):
        return
    st.subheader("Robustness check", anchor=False)
    asked = st.session_state.setdefault("_nsexp_bootstrapped", set())
    view = (experiment_id, common.settings_key(settings))
    if st.button(
        f"Check with the bootstrap ({common.BOOTSTRAP_RESAMPLES:,} resamples)",
        icon=":material/shuffle:",
        key="bootstrap",
        help="Resample the units to check the intervals of mean metrics without assuming a "
        "normal distribution: useful for heavy-tailed metrics. Takes a few seconds.",
    ):
        asked.add(view)
    if view not in asked:
        return
    results = common.bootstrap(ctx, settings, experiment_id)
    st.dataframe(
        tables.bootstrap_table(results, variant, settings.alpha),
        hide_index=True,
        alt=f"Analytic and bootstrap intervals of {variant}",
    )
    st.caption(
        "Percentile intervals of the relative lift from Poisson resamples of the units (seeded, "
        "so the same every time), for mean metrics; they are not widened for many tests or for "
        "peeking. Close to the analytic interval: the normal approximation holds."
    )


def pin_query(ctx: common.DataContext, pin_id: str) -> dict[str, str]:
    """The query of a pinned view: the workspace and the pin, which carries its own settings."""
    return common.view_query(ctx, common.DEFAULT, pin=pin_id)


def when(stamp: str) -> str:
    """'2026-11-22T08:00:00Z' as '2026-11-22 08:00:00 UTC'."""
    return stamp.replace("T", " ").replace("Z", " UTC")


def method_note(settings: Settings) -> str:
    """', always-valid intervals, Bayesian engine, CUPED off' for the methods that are not at
    their default ('' when none is)."""
    notes = []
    if settings.sequential:
        notes.append("always-valid (sequential) intervals")
    if settings.engine == "bayesian":
        notes.append("the Bayesian engine")
    if settings.cuped is False:
        notes.append("CUPED off")
    return "".join(f", {n}" for n in notes)


def methods(lines: list[str]) -> None:
    """How the figures were computed, so a hand calculation can be reconciled."""
    with st.expander("Methods", icon=":material/functions:"):
        st.markdown("\n".join(f"- {m}" for m in lines))


common.leave_legacy_pages_mode()
ctx = common.data_context()
settings = common.current_settings()
common.sidebar_data_note(ctx)
pin_id = st.query_params.get("pin")

if pin_id is not None:
    try:
        pin = pins.load_pin(ctx.path, pin_id)
    except InputError as exc:
        st.error(common.as_sentence(exc.message), icon=":material/error:")
        st.page_link(
            common.PORTFOLIO,
            label="Back to the portfolio",
            icon=":material/arrow_back:",
            query_params=common.view_query(ctx, settings),
        )
        st.stop()
    pinned = common.pin_settings(pin.settings)
    alpha, correction = pinned.alpha, pinned.correction
    live = common.view_query(ctx, pinned, experiment=pin.experiment, variant=pin.variant)
    changed = pin.fingerprint != common.fingerprint(ctx)
    st.info(
        f"Frozen on {when(pin.created_at)} with α = {alpha:g} "
        f"and {CORRECTION_NAMES[correction]}{method_note(pinned)}; data fingerprint "
        f"`{pin.fingerprint}`. "
        + (
            "The data has changed since: the live readout may differ."
            if changed
            else "The data has not changed since."
        ),
        title="Pinned readout: these figures do not move",
        icon=":material/push_pin:",
    )
    st.button("Open the live readout", icon=":material/bolt:", on_click=common.go_to, args=(live,))
    st.query_params.from_dict(pin_query(ctx, pin.id))
    payload = pin.payload
    comparison = next(
        (c for c in payload["comparisons"] if c["variant"] == pin.variant),
        payload["comparisons"][0],
    )
    header(payload)
    verdict_cards(payload, comparison["variant"], pinned)
    details(payload, comparison, pinned)
    st.subheader("Share and export", anchor=False)
    st.code(common.app_url("readout", pin_query(ctx, pin.id)), language=None)
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            tables.readout_csv(payload),
            file_name=f"{pin.experiment}-pin-{pin.id}.csv",
            mime="text/csv",
            icon=":material/table:",
        )
        st.download_button(
            "Download Markdown",
            experiment_markdown(
                payload,
                pin.methods,
                alpha=alpha,
                engine=pinned.engine,
                fingerprint=pin.fingerprint,
            ),
            file_name=f"{pin.experiment}-pin-{pin.id}.md",
            mime="text/markdown",
            icon=":material/description:",
        )
        st.download_button(
            "Download the pin (JSON)",
            json.dumps(asdict(pin), indent=2),
            file_name=f"{pin.experiment}-pin-{pin.id}.json",
            mime="application/json",
            icon=":material/data_object:",
        )
    methods(pin.methods)
    st.stop()

names = common.experiment_names(ctx)
requested = st.query_params.get("experiment")
if requested is not None and requested not in names:
    st.warning(
        f"There is no experiment {requested!r} in {ctx.name}. Pick one below or go back to the "
        "portfolio.",
        title="Unknown experiment",
        icon=":material/search_off:",
    )
    del st.query_params["experiment"]
    st.page_link(
        common.PORTFOLIO,
        label="Back to the portfolio",
        icon=":material/arrow_back:",
        query_params=common.view_query(ctx, settings),
    )
top = st.container()
with st.container(horizontal=True, vertical_alignment="bottom"):
    experiment_id = st.selectbox(
        "Experiment",
        list(names),
        format_func=names.get,
        index=None,
        placeholder="Choose an experiment",
        width=420,
        **common.url_bound(
            "experiment", requested if requested in names else None, clears=("variant", "segment")
        ),
    )
if experiment_id is None:
    top.title("Readout", anchor=False)
    top.caption("One experiment in full: its verdict, the reasons, and every metric's lift.")
    st.info("Choose an experiment above, or open one from the portfolio.", icon=":material/info:")
    st.page_link(
        common.PORTFOLIO,
        label="Open the portfolio",
        icon=":material/dashboard:",
        query_params=common.view_query(ctx, settings),
    )
    st.stop()

view = common.experiment(ctx, settings, experiment_id)
payload = view["payload"]
treatments = [c["variant"] for c in payload["comparisons"]]
variant = st.query_params.get("variant", treatments[0])
if variant not in treatments:
    st.warning(
        f"Experiment {experiment_id} has no treatment {variant!r}: showing {treatments[0]!r}.",
        icon=":material/warning:",
    )
    variant = treatments[0]
    del st.query_params["variant"]
variant = st.segmented_control(
    "Treatment on view",
    treatments,
    required=True,
    **common.url_bound("variant", variant, treatments[0]),
)
comparison = next(c for c in payload["comparisons"] if c["variant"] == variant)

with top:
    header(payload)
verdict_cards(payload, variant, settings)
details(payload, comparison, settings)
segment_section(ctx, settings, experiment_id, variant, names[experiment_id])
bootstrap_section(ctx, settings, experiment_id, variant)

st.subheader("Share and export", anchor=False)
query = common.view_query(
    ctx, settings, experiment=experiment_id, variant=variant, segment=st.query_params.get("segment")
)
st.caption("Copy this link into the review doc: it reopens exactly this view.")
st.code(common.app_url("readout", query), language=None)
with st.container(horizontal=True):
    st.download_button(
        "Download CSV",
        tables.readout_csv(payload),
        file_name=f"{experiment_id}-readout.csv",
        mime="text/csv",
        icon=":material/table:",
    )
    st.download_button(
        "Download Markdown",
        view["markdown"],
        file_name=f"{experiment_id}-readout.md",
        mime="text/markdown",
        icon=":material/description:",
    )
    pin_clicked = st.button(
        "Pin this readout",
        icon=":material/push_pin:",
        key="pin_readout",
        help="Save a frozen copy of these figures, settings and data version for the review.",
    )
if pin_clicked:
    try:
        pin = pins.pin_readout(ctx.path, common.full_readout(ctx, settings), experiment_id, variant)
    except (InputError, OSError) as exc:
        st.error(f"Could not pin the readout: {exc}", icon=":material/error:")
    else:
        pinned_query = pin_query(ctx, pin.id)
        st.success(
            f"Pinned as {pin.id}. This link shows the frozen figures:",
            icon=":material/push_pin:",
        )
        st.code(common.app_url("readout", pinned_query), language=None)
        st.button(
            "Open the pinned readout",
            icon=":material/push_pin:",
            on_click=common.go_to,
            args=(pinned_query,),
        )
earlier = [p for p in pins.list_pins(ctx.path) if p.experiment == experiment_id]
if earlier:
    with st.expander(
        f"Earlier pins of this experiment ({len(earlier)})", icon=":material/history:"
    ):
        for p in earlier:
            st.button(
                f"{when(p.created_at)} · `{p.variant}` · α = {p.settings['alpha']:g}, "
                f"{p.settings['correction']}",
                key=f"open_pin_{p.id}",
                type="tertiary",
                icon=":material/push_pin:",
                on_click=common.go_to,
                args=(pin_query(ctx, p.id),),
            )
methods(settings.methods())
common.verdict_legend()
