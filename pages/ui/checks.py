"""On-demand checks of a live readout: the North Star by segment and the bootstrap."""

from __future__ import annotations

import streamlit as st

from nsexp import format as fmt
from nsexp.analysis.readout import ExperimentReadout
from nsexp.analysis.settings import Settings
from nsexp.report import charts
from nsexp.report.figures import bootstrap_caption, bootstrap_table
from nsexp.report.segments import heterogeneity_row, segment_frame, segment_table
from nsexp.report.text import md_escape
from pages.ui import loaders, url
from pages.ui.frame import DataContext


def segment_section(
    ctx: DataContext, settings: Settings, experiment_id: str, variant: str, name: str
) -> None:
    """The North Star per segment of unit-level data, and whether the effect differs."""
    columns = loaders.segment_columns(ctx, experiment_id)
    if not columns:
        return
    st.subheader("The North Star by segment", anchor=False)
    requested = url.choice("segment", columns, f"a segment column of {name}", "choose one below")
    # the picker in a popover, which a fresh tab builds only once opened
    label = "Split by a segment" if requested is None else f"Split by {md_escape(requested)}"
    with st.popover(label, icon=":material/call_split:"):
        st.caption("Does the effect differ between, say, platforms? Split by a column to see.")
        column = st.selectbox(
            "Split by",
            columns,
            index=None,
            placeholder="Choose a column of the unit-level data",
            width=420,
            help="Read the experiment out separately for each value of this column (each with "
            "its own SRM check and correction), and test whether the effect differs between "
            "them.",
            **url.url_bound("segment", requested),
        )
    if column is None:
        return
    sr = loaders.segment_view(ctx, settings, experiment_id, column)
    table = segment_frame(sr, experiment_id, variant)
    if table.height == 0:
        st.info(
            md_escape(f"No segment of {column} has both arms to compare."), icon=":material/info:"
        )
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
            md_escape(
                f"Cochran's Q across {het['segments']} segments: "
                f"{fmt.p_value(het['p_value'])}{i2}: {verdict}."
            ),
            icon=":material/call_split:",
        )
    st.altair_chart(
        charts.segment_chart(table, ns.practical_threshold),
        alt=f"North Star lift of {variant} by {column}",
    )
    st.dataframe(
        segment_table(table, settings),
        hide_index=True,
        alt=f"North Star of {variant} in each {column} segment",
    )
    st.caption(
        md_escape(
            f"{ns.label} in each {column} segment, each read out on its own. Many segments mean "
            "many chances for one to look different by luck: trust the Q test over a single "
            "segment's result."
        )
    )


def bootstrap_section(
    ctx: DataContext, settings: Settings, experiment_id: str, variant: str, resamples: int
) -> ExperimentReadout | None:
    """A robustness check on demand, kept in the link (`bootstrap=N`): bootstrap intervals
    beside the analytic ones. Returns the resampled readout shown, whose settings carry the
    resamples (None: not asked, or no unit data)."""
    if not loaders.has_units(ctx, experiment_id):
        return None
    st.subheader("Robustness check", anchor=False)
    refusal = loaders.bootstrap_refusal(
        ctx, experiment_id, resamples or loaders.BOOTSTRAP_RESAMPLES
    )
    if refusal:
        st.info(f"No bootstrap here: {refusal}.", icon=":material/block:")
        return None
    if not resamples:
        st.button(
            f"Check with the bootstrap ({loaders.BOOTSTRAP_RESAMPLES:,} resamples)",
            icon=":material/shuffle:",
            key="bootstrap",
            on_click=_ask_bootstrap,
            help="Resample the units to check the intervals of mean metrics without assuming "
            "a normal distribution: useful for heavy-tailed metrics. Takes a few seconds.",
        )
        return None
    resampled = loaders.bootstrap(ctx, settings, experiment_id, resamples)
    metrics = resampled.treatment(variant).metrics
    st.dataframe(
        bootstrap_table(metrics, resampled.settings),
        hide_index=True,
        alt=f"Analytic and bootstrap intervals of {variant}",
    )
    st.caption(bootstrap_caption(metrics, resampled.settings, resamples))
    return resampled


def _ask_bootstrap() -> None:
    st.query_params["bootstrap"] = str(loaders.BOOTSTRAP_RESAMPLES)
