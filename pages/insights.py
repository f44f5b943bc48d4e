"""Portfolio insights: the evidence on every edge of the North Star tree, edge by edge, and how
much of the reported North Star lift is real."""

from __future__ import annotations

import streamlit as st

from nsexp import format as fmt
from nsexp.learning.tree import GUARDRAIL_MEANINGS, LABEL_MEANINGS, MIN_COMPARISONS
from nsexp.report import glossary
from nsexp.report.proxies import wins_sentence
from nsexp.report.proxy_charts import edge_scatter, impact_chart, ranking_chart
from nsexp.report.text import md_escape
from nsexp.report.tree import PLAIN, by_correlation, edge_reason, edges_table, label_definition
from pages.ui import frame, loaders

COLUMNS = 2
SCATTER_HEIGHT = 360  # the plot, its axes, titles and the legend below

ctx, settings = frame.current().data, frame.current().settings
evidence, impact = loaders.insights(ctx, settings)
catalog, edges = evidence.catalog, evidence.edges


st.title("Portfolio insights", anchor=False)
st.caption(PLAIN + f" Over every trustworthy experiment in {md_escape(ctx.name)}.")

comparisons = evidence.comparisons
experiments = comparisons["experiment"].n_unique() if comparisons.height else 0
if experiments < 2:
    st.info(
        f"Not enough history yet: {experiments} experiment with valid comparisons. What moves "
        "the North Star is learned across experiments, so this page fills in from the second "
        f"one on (a label needs {MIN_COMPARISONS} comparisons).",
        icon=":material/hourglass_empty:",
    )
    st.stop()

guarded = {m.id for m in catalog.metrics.values() if m.role == "guardrail"}
predictive = [e.title for e in edges if e.label == "predictive" and e.child not in guarded]
vanity = [e.title for e in edges if e.label == "vanity" and e.child not in guarded]
independent = [e.title for e in edges if e.words == "independent"]
st.markdown(
    f"**Predictive:** {md_escape(', '.join(predictive) or 'none yet')}  \n"
    f"**Behave as vanity:** {md_escape(', '.join(vanity) or 'none')}"
    + (
        f"  \n**Guardrails independent of the North Star** (watched on their own): "
        f"{md_escape(', '.join(independent))}"
        if independent
        else ""
    )
)

st.subheader("Every edge, ranked by how well the input predicts what it should drive")
ranked = by_correlation(edges)
st.altair_chart(
    ranking_chart(ranked),
    height=40 + 32 * len(ranked),
    width="stretch",
)
st.dataframe(edges_table(evidence), hide_index=True, width="stretch")
with st.expander("Why each edge got its label"):
    for edge in edges:
        st.markdown(f"- {md_escape(edge_reason(edge))}")

st.subheader("Each edge, experiment by experiment")
st.caption(
    "One dot per treatment-versus-control comparison, with 95% error bars both ways. The line "
    "has the noise-corrected slope; its colour is the edge's label."
)
for start in range(0, len(edges), COLUMNS):
    for column, edge in zip(st.columns(COLUMNS), edges[start : start + COLUMNS], strict=False):
        with column:
            child, parent = catalog.metrics[edge.child], catalog.metrics[edge.parent]
            st.altair_chart(
                edge_scatter(evidence.comparisons, edge, child.label, parent.label),
                width="stretch",
                height=SCATTER_HEIGHT,
            )

st.subheader("How much of the North Star wins' lift is real")
real, reported = impact.impact, impact.reported
with st.container(horizontal=True):
    st.metric(
        "North Star wins (comparisons)",
        impact.n_wins,
        border=True,
        help=glossary.help_text("won", "valid comparison"),
    )
    st.metric(
        "Per win, likely real",
        fmt.pct(real.median_lift) if real.count else "—",
        border=True,
        help=f"{glossary.help_text('impact')}\n\nAs reported, the median win is "
        f"{fmt.pct(reported.median_lift)}.",
    )
    st.metric(
        "Wins compounded, likely real",
        fmt.pct(real.combined) if real.count else "—",
        border=True,
        help=f"∏(1 + lift) − 1 over the corrected lifts, {real.level:.0%} interval "
        f"{fmt.pct_ci(real.low, real.high)}; as reported {fmt.pct(reported.combined)}. "
        f"{real.assumptions}",
    )
st.markdown(wins_sentence(impact))
st.caption(
    "Experiments that win are, on average, the ones whose noise happened to push them up, so "
    "their reported lifts overstate the truth. Each estimate is pulled toward the typical effect "
    "of all experiments, more so the noisier it is (empirical Bayes). Relative lifts multiply "
    "when changes stack, so they are compounded, never added up."
)
if impact.n_wins:
    st.altair_chart(
        impact_chart(impact, loaders.experiment_names(ctx)),
        height=40 + 26 * impact.n_wins,
        width="stretch",
    )

with st.expander("Method and thresholds"):
    computed = sum(e.within_covariance == "computed" for e in edges)
    st.markdown(
        "- Effects are relative lifts, flipped for metrics where lower is better, across every "
        "valid treatment-versus-control comparison (verdict not *invalid*).\n"
        "- Corrected correlation and slope: the covariance of the estimated effects across "
        "experiments minus the average within-experiment sampling covariance, over the "
        "noise-corrected spreads (Tripuraneni et al. 2023, *Choosing a Proxy Metric from Past "
        f"Experiments*). The within-experiment covariance is computed from cross sums on "
        f"{computed} of {len(edges)} edges and assumed zero on the others (no cross sums).\n"
        "- Intervals: Fisher-z for the correlation, percentile for the slope, from a seeded "
        "bootstrap over experiments.\n"
        f"- {label_definition()}\n"
        + "".join(f"- *{k.replace('_', ' ')}*: {v}.\n" for k, v in LABEL_MEANINGS.items())
        + "".join(f"- *{k}* (a guardrail): {v}.\n" for k, v in GUARDRAIL_MEANINGS.items())
        + "- Winner's curse: normal-normal empirical Bayes; the prior's mean and variance are "
        "fitted by the method of moments over all valid comparisons (Efron 2011)."
    )
