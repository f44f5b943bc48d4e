"""Readout: one experiment in full, live from the data or pinned for a review.

A live and a pinned readout are the same ExperimentReadout rendered by the same functions;
only the banner, the share block's link and the controls differ.
"""

import json
from dataclasses import asdict

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import ExperimentReadout, TreatmentReadout
from nsexp.analysis.settings import DEFAULT, Settings
from nsexp.errors import InputError
from nsexp.report import charts
from nsexp.report.csv import readout_csv
from nsexp.report.figures import bootstrap_table, compact_columns, metric_table, timeline_frame
from nsexp.report.markdown import experiment_markdown
from nsexp.report.notes import card_notes
from nsexp.report.segments import heterogeneity_row, segment_frame, segment_table
from nsexp.stats.multiplicity import CORRECTION_NAMES
from nsexp.store import pins
from pages.ui import frame, loaders, nav, url, widgets
from pages.ui.frame import DataContext, as_sentence

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
            widgets.verdict_callout(t.verdict)
            ns = t.north_star
            status = "not to be trusted" if t.verdict == "invalid" else STATUS[t.north_star_status]
            with st.container(horizontal=True):
                st.metric(
                    f"North Star: {ns.label}",
                    fmt.pct(ns.rel_effect),
                    help="Treatment ÷ control − 1.",
                )
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
            st.markdown("\n".join(f"- {r}" for r in t.reasons))
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


def segment_section(
    ctx: DataContext, settings: Settings, experiment_id: str, variant: str, name: str
) -> None:
    """The North Star per segment of unit-level data, and whether the effect differs."""
    columns = loaders.segment_columns(ctx, experiment_id)
    if not columns:
        return
    st.subheader("The North Star by segment", anchor=False)
    requested = st.query_params.get("segment")
    if requested is not None and requested not in columns:
        shown = requested if len(requested) <= 40 else requested[:40] + "…"
        st.warning(
            f"{name} has no segment column {shown!r}: pick one of {', '.join(columns)}.",
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
        **url.url_bound("segment", requested),
    )
    if column is None:
        st.caption("Does the effect differ between, say, platforms? Choose a column to see.")
        return
    sr = loaders.segment_view(ctx, settings, experiment_id, column)
    table = segment_frame(sr, experiment_id, variant)
    if table.height == 0:
        st.info(f"No segment of {column} has both arms to compare.", icon=":material/info:")
        return
    ns = sr.readout.catalog.north_star
    het = heterogeneity_row(sr, experiment_id, variant)
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
        charts.segment_chart(table, ns.practical_threshold, column),
        alt=f"North Star lift of {variant} by {column}",
    )
    st.dataframe(
        segment_table(table),
        hide_index=True,
        alt=f"North Star of {variant} in each {column} segment",
    )
    st.caption(
        f"{ns.label} in each {column} segment, each read out on its own. Many segments mean "
        "many chances for one to look different by luck: trust the Q test over a single "
        "segment's result."
    )


def bootstrap_section(
    ctx: DataContext, settings: Settings, experiment_id: str, variant: str
) -> None:
    """A robustness check on demand: bootstrap intervals beside the analytic ones."""
    if not loaders.has_units(ctx, experiment_id):
        return
    st.subheader("Robustness check", anchor=False)
    asked = st.session_state.setdefault("_nsexp_bootstrapped", set())
    view = (experiment_id, settings)
    if st.button(
        f"Check with the bootstrap ({loaders.BOOTSTRAP_RESAMPLES:,} resamples)",
        icon=":material/shuffle:",
        key="bootstrap",
        help="Resample the units to check the intervals of mean metrics without assuming a "
        "normal distribution: useful for heavy-tailed metrics. Takes a few seconds.",
    ):
        asked.add(view)
    if view not in asked:
        return
    resampled = loaders.bootstrap(ctx, settings, experiment_id).treatment(variant)
    st.dataframe(
        bootstrap_table(resampled.metrics, settings.alpha),
        hide_index=True,
        alt=f"Analytic and bootstrap intervals of {variant}",
    )
    st.caption(
        "Percentile intervals of the relative lift from Poisson resamples of the units (seeded, "
        "so the same every time), for mean metrics; they are not widened for many tests or for "
        "peeking. Close to the analytic interval: the normal approximation holds."
    )


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


def share(
    e: ExperimentReadout,
    query: dict[str, str],
    markdown: str,
    stem: str,
    *,
    caption: str = "",
    pin_json: str | None = None,
) -> bool:
    """The link that reopens this view, the CSV and Markdown downloads, and either the pin's
    JSON (a pinned view) or the Pin button (a live one); True when Pin was clicked."""
    st.subheader("Share and export", anchor=False)
    if caption:
        st.caption(caption)
    st.code(nav.app_url("readout", query), language=None)
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            readout_csv(e),
            file_name=f"{stem}.csv",
            mime="text/csv",
            icon=":material/table:",
        )
        st.download_button(
            "Download Markdown",
            markdown,
            file_name=f"{stem}.md",
            mime="text/markdown",
            icon=":material/description:",
        )
        if pin_json is not None:
            st.download_button(
                "Download the pin (JSON)",
                pin_json,
                file_name=f"{stem}.json",
                mime="application/json",
                icon=":material/data_object:",
            )
            return False
        return st.button(
            "Pin this readout",
            icon=":material/push_pin:",
            key="pin_readout",
            help="Save a frozen copy of these figures, settings and data version for the review.",
        )


def methods_expander(lines: list[str]) -> None:
    """How the figures were computed, so a hand calculation can be reconciled."""
    with st.expander("Methods", icon=":material/functions:"):
        st.markdown("\n".join(f"- {m}" for m in lines))


def pinned(ctx: DataContext, settings: Settings, pin_id: str) -> None:
    """A frozen readout: the banner saying so, the same view, its own link and downloads."""
    try:
        pin = pins.load_pin(ctx.path, pin_id)
    except InputError as exc:
        st.error(as_sentence(exc.message), icon=":material/error:")
        st.page_link(
            nav.PORTFOLIO,
            label="Back to the portfolio",
            icon=":material/arrow_back:",
            query_params=url.view_query(ctx.workspace, settings),
        )
        return
    frozen = pin.analysis_settings
    e = pin.readout()
    live = url.view_query(ctx.workspace, frozen, experiment=pin.experiment, variant=pin.variant)
    found = loaders.quiet_dataset(ctx)
    changed = found is None or pin.fingerprint != found.fingerprint
    st.info(
        f"Frozen on {when(pin.created_at)} with α = {frozen.alpha:g} "
        f"and {CORRECTION_NAMES[frozen.correction]}{method_note(frozen)}; data fingerprint "
        f"`{pin.fingerprint}`. "
        + (
            "The data has changed since: the live readout may differ."
            if changed
            else "The data has not changed since."
        ),
        title="Pinned readout: these figures do not move",
        icon=":material/push_pin:",
    )
    st.button("Open the live readout", icon=":material/bolt:", on_click=nav.go_to, args=(live,))
    query = url.view_query(ctx.workspace, DEFAULT, pin=pin.id)
    st.query_params.from_dict(query)
    variant = pin.variant if pin.variant in {t.variant for t in e.treatments} else None
    t = e.treatment(variant) if variant else e.treatments[0]
    header(e)
    verdict_cards(e, t.variant, frozen)
    details(e, t, frozen)
    markdown = experiment_markdown(e, pin.methods, alpha=frozen.alpha, fingerprint=pin.fingerprint)
    stem = f"{pin.experiment}-pin-{pin.id}"
    share(e, query, markdown, stem, pin_json=json.dumps(asdict(pin), indent=2))
    methods_expander(pin.methods)


def earlier_pins(ctx: DataContext, experiment_id: str) -> None:
    """The pins of this experiment, newest first, each a button that opens it."""
    earlier = [p for p in pins.list_pins(ctx.path) if p.experiment == experiment_id]
    if not earlier:
        return
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
                on_click=nav.go_to,
                args=(url.view_query(ctx.workspace, DEFAULT, pin=p.id),),
            )


def pin_now(ctx: DataContext, settings: Settings, experiment_id: str, variant: str) -> None:
    """Freeze this readout as a pin and show its link."""
    try:
        pin = pins.pin_readout(ctx.path, loaders.readout(ctx, settings), experiment_id, variant)
    except (InputError, OSError) as exc:
        st.error(f"Could not pin the readout: {exc}", icon=":material/error:")
        return
    pinned_query = url.view_query(ctx.workspace, DEFAULT, pin=pin.id)
    st.success(
        f"Pinned as {pin.id}. This link shows the frozen figures:", icon=":material/push_pin:"
    )
    st.code(nav.app_url("readout", pinned_query), language=None)
    st.button(
        "Open the pinned readout",
        icon=":material/push_pin:",
        on_click=nav.go_to,
        args=(pinned_query,),
    )


def live(ctx: DataContext, settings: Settings) -> None:
    """The readout of the experiment chosen in the page (or the link), as the data says now."""
    names = loaders.experiment_names(ctx)
    requested = st.query_params.get("experiment")
    if requested is not None and requested not in names:
        shown = requested if len(requested) <= 40 else requested[:40] + "…"
        st.warning(
            f"There is no experiment {shown!r} in {ctx.name}. Pick one below or go back to the "
            "portfolio.",
            title="Unknown experiment",
            icon=":material/search_off:",
        )
        del st.query_params["experiment"]
        requested = None
        st.page_link(
            nav.PORTFOLIO,
            label="Back to the portfolio",
            icon=":material/arrow_back:",
            query_params=url.view_query(ctx.workspace, settings),
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
            **url.url_bound("experiment", requested, clears=("variant", "segment")),
        )
    if experiment_id is None:
        top.title("Readout", anchor=False)
        top.caption("One experiment in full: its verdict, the reasons, and every metric's lift.")
        st.info(
            "Choose an experiment above, or open one from the portfolio.", icon=":material/info:"
        )
        st.page_link(
            nav.PORTFOLIO,
            label="Open the portfolio",
            icon=":material/dashboard:",
            query_params=url.view_query(ctx.workspace, settings),
        )
        return
    e = loaders.experiment(ctx, settings, experiment_id)
    treatments = [t.variant for t in e.treatments]
    variant = st.query_params.get("variant", treatments[0])
    if variant not in treatments:
        shown = variant if len(variant) <= 40 else variant[:40] + "…"
        st.warning(
            f"Experiment {experiment_id} has no treatment {shown!r}: showing {treatments[0]!r}.",
            icon=":material/warning:",
        )
        variant = treatments[0]
        del st.query_params["variant"]
    variant = st.segmented_control(
        "Treatment on view",
        treatments,
        required=True,
        **url.url_bound("variant", variant, treatments[0]),
    )
    t = e.treatment(variant)
    with top:
        header(e)
    verdict_cards(e, variant, settings)
    details(e, t, settings)
    segment_section(ctx, settings, experiment_id, variant, names[experiment_id])
    bootstrap_section(ctx, settings, experiment_id, variant)
    query = url.view_query(
        ctx.workspace,
        settings,
        experiment=experiment_id,
        variant=variant,
        segment=st.query_params.get("segment"),
    )
    markdown = experiment_markdown(
        e, methods(settings), alpha=settings.alpha, fingerprint=loaders.dataset(ctx).fingerprint
    )
    caption = "Copy this link into the review doc: it reopens exactly this view."
    if share(e, query, markdown, f"{experiment_id}-readout", caption=caption):
        pin_now(ctx, settings, experiment_id, variant)
    earlier_pins(ctx, experiment_id)
    methods_expander(methods(settings))
    widgets.verdict_legend()


ctx, settings = frame.current().data, frame.current().settings
pin_id = st.query_params.get("pin")
if pin_id is not None:
    pinned(ctx, settings, pin_id)
else:
    live(ctx, settings)
