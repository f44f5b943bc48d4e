"""Portfolio insights: which leading indicators really predict the North Star, from the history."""

from __future__ import annotations

import polars as pl
import streamlit as st

from nsexp import format as fmt
from nsexp.config.catalog import ROLE_LABELS
from nsexp.learning.proxies import LABEL_MEANINGS, MIN_COMPARISONS
from nsexp.report.proxies import PLAIN, impact_sentence, label_reason, signed_r, thresholds
from nsexp.report.proxy_charts import impact_chart, proxy_scatter, ranking_chart
from nsexp.report.text import md_escape
from pages.ui import frame, loaders

COLUMNS = 2


def ranked_table(table: pl.DataFrame, labels: dict[str, str] | None = None) -> pl.DataFrame:
    """The proxy table formatted for people, best proxies first: metric labels as on the other
    pages (the id beside them, as the charts name it), correlations as the CLI prints them."""
    labels = labels or {}
    rows = [
        {
            "Metric": labels.get(r["metric"], r["metric"]),
            "Id": r["metric"],
            "Role": ROLE_LABELS.get(r["role"], r["role"]),
            "Label": r["label"].replace("_", " "),
            "Comparisons": r["n_comparisons"],
            "Moved": r["n_moved"],
            "North Star followed": f"{r['n_ns_followed']} of {r['n_moved']}",
            "Corrected r": signed_r(r["corrected_correlation"]),
            "95% interval": f"[{signed_r(r['correlation_ci_low'])}, "
            f"{signed_r(r['correlation_ci_high'])}]",
            "Naive r": signed_r(r["naive_correlation"]),
        }
        for r in table.iter_rows(named=True)
    ]
    return pl.DataFrame(rows)


ctx, settings = frame.current().data, frame.current().settings
comparisons, table, impact, north_star, labels = loaders.insights(ctx, settings)

st.title("Portfolio insights", anchor=False)
st.caption(PLAIN + f" Over every trustworthy experiment in {ctx.name}.")

experiments = comparisons["experiment"].n_unique() if comparisons.height else 0
if experiments < 2:
    st.info(
        f"Not enough history yet: {experiments} experiment with valid comparisons. What moves "
        "the North Star is learned across experiments, so this page fills in from the second "
        f"one on (a label needs {MIN_COMPARISONS} comparisons).",
        icon=":material/hourglass_empty:",
    )
    st.stop()

predictive = [labels.get(m, m) for m in table.filter(pl.col("label") == "predictive")["metric"]]
vanity = [labels.get(m, m) for m in table.filter(pl.col("label") == "vanity")["metric"]]
st.markdown(
    f"**Predictive:** {', '.join(predictive) or 'none yet'}  \n"
    f"**Behave as vanity:** {', '.join(vanity) or 'none'}"
)

st.subheader("Metrics ranked by how well they predict the North Star")
# the charts name metrics by their labels, as every other page does
named = table.with_columns(pl.col("metric").replace(labels))
named_comparisons = comparisons.with_columns(pl.col("metric").replace(labels))
north_star_label = labels.get(north_star, north_star)
st.altair_chart(ranking_chart(named), height=40 + 32 * table.height, width="stretch")
st.dataframe(
    ranked_table(table, labels),
    hide_index=True,
    width="stretch",
    # short headers and widths in pixels so every column fits a 1440 px window
    column_config={
        "Metric": st.column_config.TextColumn(width=150),
        "Id": st.column_config.TextColumn(width=130),
        "Role": st.column_config.TextColumn(width=120),
        "Label": st.column_config.TextColumn(width=75),
        "Comparisons": st.column_config.NumberColumn(
            "Compared", width=70, help="Comparisons (treatment vs control) in the data."
        ),
        "Moved": st.column_config.NumberColumn(width=55),
        "North Star followed": st.column_config.TextColumn("NS followed", width=85),
        "Corrected r": st.column_config.TextColumn(width=80),
        "95% interval": st.column_config.TextColumn(width=105),
        "Naive r": st.column_config.TextColumn(width=60),
    },
)
with st.expander("Why each metric got its label"):
    for row in named.iter_rows(named=True):
        st.markdown(f"- {md_escape(label_reason(row))}")

st.subheader(f"Each metric against the North Star ({north_star_label}), experiment by experiment")
st.caption(
    "One dot per treatment-versus-control comparison, with 95% error bars both ways. The line "
    "is fitted to the true effects (noise removed); its colour is the metric's label."
)
rows = list(named.iter_rows(named=True))
for start in range(0, len(rows), COLUMNS):
    for column, row in zip(st.columns(COLUMNS), rows[start : start + COLUMNS], strict=False):
        with column:
            chart = proxy_scatter(named_comparisons, row, north_star_label)
            st.altair_chart(chart, width="stretch")

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
    limits = thresholds()
    st.markdown(
        "- Effects are relative lifts, flipped for metrics where lower is better, across every "
        "valid treatment-versus-control comparison (verdict not *invalid*).\n"
        "- Corrected correlation: covariance of the estimated effects across experiments minus "
        "the average within-experiment sampling covariance, over the noise-corrected spreads "
        "(Tripuraneni et al. 2023, *Choosing a Proxy Metric from Past Experiments*). The "
        "within-experiment covariance is "
        + (
            "**assumed zero** (the data has no unit-level cross sums)"
            if (table["within_covariance"] == "assumed_zero").any()
            else "estimated from cross sums"
        )
        + ".\n"
        "- Interval: Fisher-z interval whose spread comes from a seeded bootstrap over "
        "experiments.\n"
        f"- Labels: predictive = corrected r ≥ {limits['predictive_correlation']} with the "
        f"interval above 0; vanity = moved at least {limits['vanity_min_moved']} times, the "
        f"North Star followed fewer than {limits['vanity_max_followed_share']:.0%} of them and "
        f"corrected r < {limits['vanity_max_correlation']}; too_few = fewer than "
        f"{limits['min_comparisons']} comparisons; weak = the rest.\n"
        + "".join(f"- *{k}*: {v}.\n" for k, v in LABEL_MEANINGS.items())
        + "- Winner's curse: normal-normal empirical Bayes; the prior's mean and variance are "
        "fitted by the method of moments over all valid comparisons (Efron 2011)."
    )
