"""Portfolio insights: the evidence on every edge of the North Star tree, edge by edge, and how
much of the reported North Star lift is real."""

from __future__ import annotations

import polars as pl
import streamlit as st

from nsexp import format as fmt
from nsexp.learning.tree import LABEL_MEANINGS, MIN_COMPARISONS
from nsexp.report.proxies import impact_sentence
from nsexp.report.proxy_charts import edge_scatter, impact_chart, ranking_chart
from nsexp.report.text import md_escape
from nsexp.report.tree import PLAIN, edge_reason, edges_table, label_definition
from pages.ui import frame, loaders

COLUMNS = 2

ctx, settings = frame.current().data, frame.current().settings
evidence, impact = loaders.insights(ctx, settings)
catalog, table = evidence.catalog, evidence.edges


def edge_name(row: dict) -> str:
    """'Day-7 retention → Lessons completed'."""
    return f"{catalog.metrics[row['child']].label} → {catalog.metrics[row['parent']].label}"


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

rows = list(table.iter_rows(named=True))
predictive = [edge_name(r) for r in rows if r["label"] == "predictive"]
vanity = [edge_name(r) for r in rows if r["label"] == "vanity"]
st.markdown(
    f"**Predictive:** {md_escape(', '.join(predictive) or 'none yet')}  \n"
    f"**Behave as vanity:** {md_escape(', '.join(vanity) or 'none')}"
)

st.subheader("Every edge, ranked by how well the input predicts what it should drive")
ranked = table.sort("corrected_correlation", descending=True, nulls_last=True)
ranked = ranked.with_columns(
    pl.Series("metric", [edge_name(r) for r in ranked.iter_rows(named=True)])
)
st.altair_chart(ranking_chart(ranked), height=40 + 32 * ranked.height, width="stretch")
st.dataframe(edges_table(evidence), hide_index=True, width="stretch")
with st.expander("Why each edge got its label"):
    for row in rows:
        st.markdown(f"- {md_escape(edge_reason(row, catalog))}")

st.subheader("Each edge, experiment by experiment")
st.caption(
    "One dot per treatment-versus-control comparison, with 95% error bars both ways. The line "
    "has the noise-corrected slope; its colour is the edge's label."
)
for start in range(0, len(rows), COLUMNS):
    for column, row in zip(st.columns(COLUMNS), rows[start : start + COLUMNS], strict=False):
        with column:
            child, parent = catalog.metrics[row["child"]], catalog.metrics[row["parent"]]
            st.altair_chart(
                edge_scatter(evidence.comparisons, row, child.label, parent.label),
                width="stretch",
            )

st.subheader("How much of the reported North Star lift is real")
left, right = st.columns(2)
left.metric(f"Reported: sum of {impact.n_wins} wins", fmt.pct(impact.naive_total))
right.metric(
    "Likely real (winner's curse removed)",
    fmt.pct(impact.shrunk_total),
    help="The same wins after each estimate is pulled toward the typical effect of all "
    "experiments.",
)
st.markdown(impact_sentence(impact))
st.caption(
    "Experiments that win are, on average, the ones whose noise happened to push them up, so "
    "their reported lifts overstate the truth. Each estimate is pulled toward the typical effect "
    "of all experiments, more so the noisier it is (empirical Bayes)."
)
if impact.n_wins:
    st.altair_chart(impact_chart(impact), height=40 + 26 * impact.n_wins, width="stretch")

with st.expander("Method and thresholds"):
    computed = (table["within_covariance"] == "computed").sum()
    st.markdown(
        "- Effects are relative lifts, flipped for metrics where lower is better, across every "
        "valid treatment-versus-control comparison (verdict not *invalid*).\n"
        "- Corrected correlation and slope: the covariance of the estimated effects across "
        "experiments minus the average within-experiment sampling covariance, over the "
        "noise-corrected spreads (Tripuraneni et al. 2023, *Choosing a Proxy Metric from Past "
        f"Experiments*). The within-experiment covariance is computed from cross sums on "
        f"{computed} of {table.height} edges and assumed zero on the others (no cross sums).\n"
        "- Intervals: Fisher-z for the correlation, percentile for the slope, from a seeded "
        "bootstrap over experiments.\n"
        f"- {label_definition()}\n"
        + "".join(f"- *{k.replace('_', ' ')}*: {v}.\n" for k, v in LABEL_MEANINGS.items())
        + "- Winner's curse: normal-normal empirical Bayes; the prior's mean and variance are "
        "fitted by the method of moments over all valid comparisons (Efron 2011)."
    )
