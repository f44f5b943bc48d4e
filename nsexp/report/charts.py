"""Charts for the app, as pure builders: Altair specs and Graphviz source, no Streamlit.

The forest plot takes the result model and the timeline nsexp.report.figures.timeline_frame,
so a live readout and a pinned one draw the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import OUTCOME_LABELS, MetricResult
from nsexp.config.catalog import ROLES
from nsexp.report.memo import memo

Chart = alt.LayerChart | alt.FacetChart  # what the builders return

# Verdict colours: st.badge colour names, and the matching hex for tables and charts.
VERDICT_COLORS: dict[str, str] = {
    "invalid": "violet",
    "north_star_loss": "red",
    "guardrail_breach": "red",
    "north_star_win": "green",
    "vanity_only": "orange",
    "flat": "blue",
    "inconclusive": "gray",
}
HEX: dict[str, str] = {
    "violet": "#803df5",
    "red": "#e03131",
    "green": "#2b8a3e",
    "orange": "#e8590c",
    "blue": "#1c7ed6",
    "gray": "#868e96",
    "light_green": "#d3f9d8",
    "light_orange": "#ffe8cc",
    "light_red": "#ffe3e3",
    "light_gray": "#f1f3f5",
    "band": "#adb5bd",
}
OUTCOME_COLORS = {
    "better": HEX["green"],
    "worse": HEX["red"],
    "not_significant": HEX["gray"],
}
ROLE_PLURALS = {
    "north_star": "North Star",
    "leading": "Leading indicators",
    "vanity": "Vanity metrics",
    "guardrail": "Guardrails",
}
ROW_STEP = 30
FOREST_WIDTH = 760


@memo(lambda metrics, alpha, engine="frequentist": (tuple(metrics), alpha, engine))
def forest_plot(
    metrics: Sequence[MetricResult], alpha: float, engine: str = "frequentist"
) -> Chart:
    """Relative lift with its decision interval per metric (adjusted, or credible under the
    Bayesian engine), one panel per role (North Star first), coloured by the outcome; the North
    Star's row shades its ±practical_threshold band."""
    bayesian = engine == "bayesian"
    rows = []
    for m in metrics:
        if m.rel_effect is None:
            continue
        low, high = m.decision_interval
        band = m.practical_threshold if m.role == "north_star" else None
        rows.append(
            {
                "label": m.label,
                "role_label": ROLE_PLURALS[m.role],
                "outcome_label": OUTCOME_LABELS[m.outcome],
                "rel_effect": m.rel_effect,
                "ci_low": low,
                "ci_high": high,
                "band_low": None if band is None else -band,
                "band_high": band,
                "lift_text": fmt.pct(m.rel_effect),
                "ci_text": fmt.pct_ci(low, high),
                "p_text": fmt.p_value(m.p_adjusted),
            }
        )
    schema = {k: pl.String for k in ("label", "role_label", "outcome_label")} | {
        k: pl.Float64 for k in ("rel_effect", "ci_low", "ci_high", "band_low", "band_high")
    }
    schema |= {k: pl.String for k in ("lift_text", "ci_text", "p_text")}
    data = pl.DataFrame(rows, schema=schema).with_row_index("row")
    shown = ("better", "worse", "not_significant")
    color = alt.Color(
        "outcome_label:N",
        title=f"{'Bayesian' if bayesian else 'Adjusted'} result at α = {alpha:g}",
        scale=alt.Scale(
            domain=[OUTCOME_LABELS[o] for o in shown], range=[OUTCOME_COLORS[o] for o in shown]
        ),
        legend=alt.Legend(orient="top"),
    )
    y = alt.Y("label:N", sort=alt.SortField("row"), title=None, axis=alt.Axis(labelLimit=220))
    x_title = (
        f"Relative lift (treatment ÷ control − 1) with its {(1 - alpha) * 100:g}% credible interval"
        if bayesian
        else "Relative lift (treatment ÷ control − 1) with its interval adjusted for many tests"
    )
    interval_title = "Credible interval" if bayesian else "Adjusted CI"
    x = alt.X("rel_effect:Q", title=x_title, axis=alt.Axis(format="+.0%"))
    tooltip = [
        alt.Tooltip("label:N", title="Metric"),
        alt.Tooltip("lift_text:N", title="Lift"),
        alt.Tooltip("ci_text:N", title=interval_title),
        alt.Tooltip("p_text:N", title="Adjusted"),
        alt.Tooltip("outcome_label:N", title="Result"),
    ]
    base = alt.Chart().encode(y=y)
    band = base.mark_rect(color=HEX["band"], opacity=0.3).encode(x="band_low:Q", x2="band_high:Q")
    zero = alt.Chart().mark_rule(color="#495057", strokeDash=[4, 3]).encode(x=alt.datum(0))
    ci = base.mark_rule(strokeWidth=3).encode(
        x="ci_low:Q", x2="ci_high:Q", color=color, tooltip=tooltip
    )
    point = base.mark_point(filled=True, size=110, opacity=1).encode(
        x=x, color=color, tooltip=tooltip
    )
    layered = alt.layer(band, zero, ci, point, data=data).properties(
        height=alt.Step(ROW_STEP), width=FOREST_WIDTH
    )
    return (
        layered.facet(
            row=alt.Row(
                "role_label:N",
                sort=[ROLE_PLURALS[r] for r in ROLES],
                title=None,
                header=alt.Header(
                    labelAngle=0,
                    labelAlign="left",
                    labelAnchor="start",
                    labelOrient="top",
                    labelFontWeight="bold",
                    labelFontSize=13,
                ),
            ),
            spacing=8,
        )
        .resolve_scale(y="independent")
        .configure_view(stroke=None)
    )


@memo(
    lambda timeline, threshold, alpha, sequential=False: (
        tuple(timeline.columns),
        tuple(timeline.iter_rows()),
        threshold,
        alpha,
        sequential,
    )
)
def timeline_chart(
    timeline: pl.DataFrame, threshold: float, alpha: float, sequential: bool = False
) -> Chart:
    """The North Star's cumulative relative effect by date, its CI as a band (always valid
    when `sequential`), zero and the ±practical_threshold as reference lines."""
    data = timeline.drop_nulls("rel_effect")
    figures = list(data.select("rel_effect", "rel_ci_low", "rel_ci_high").iter_rows())
    data = data.with_columns(
        pl.Series(
            "effect_text",
            [f"{fmt.pct(e)} {fmt.pct_ci(lo, hi)}" for e, lo, hi in figures],
            pl.String,
        ),
        (pl.col("n_control") + pl.col("n_treatment")).alias("units"),
    )
    x = alt.X("date:T", title="Exposure date (cumulative)", axis=alt.Axis(format="%b %d"))
    kind = "always-valid CI" if sequential else "CI"
    y_title = f"Lift, {(1 - alpha) * 100:g}% {kind}"
    tooltip = [
        alt.Tooltip("date:T", title="Up to"),
        alt.Tooltip("effect_text:N", title="Lift"),
        alt.Tooltip("units:Q", title="Units so far", format=","),
    ]
    base = alt.Chart(data).encode(x=x)
    band = base.mark_area(opacity=0.22, color=HEX["blue"]).encode(
        y=alt.Y("rel_ci_low:Q", title=y_title, axis=alt.Axis(format="+.0%")), y2="rel_ci_high:Q"
    )
    line = base.mark_line(point=True, color=HEX["blue"]).encode(y="rel_effect:Q", tooltip=tooltip)
    refs = pl.DataFrame(
        {"y": [0.0, threshold, -threshold], "kind": ["zero", "threshold", "threshold"]}
    )
    rules = (
        alt.Chart(refs)
        .mark_rule()
        .encode(
            y="y:Q",
            strokeDash=alt.StrokeDash(
                "kind:N",
                scale=alt.Scale(domain=["zero", "threshold"], range=[[1, 0], [5, 4]]),
                legend=None,
            ),
            color=alt.value("#495057"),
        )
    )
    return alt.layer(band, rules, line).properties(height=260)


def segment_chart(frame: pl.DataFrame, threshold: float, column: str) -> Chart:
    """The North Star's lift with its adjusted interval in each segment (nsexp.report.segments
    segment_frame), zero and the ±practical_threshold marked."""
    data = frame.drop_nulls("rel_effect")
    figures = list(data.select("rel_effect", "ci_low", "ci_high").iter_rows())
    data = data.with_columns(
        pl.Series("lift_text", [f"{fmt.pct(e)} {fmt.pct_ci(lo, hi)}" for e, lo, hi in figures])
    )
    y = alt.Y("segment:N", title=column, sort=None)
    tooltip = [
        alt.Tooltip("segment:N", title=column),
        alt.Tooltip("lift_text:N", title="North Star lift"),
        alt.Tooltip("units:Q", title="Units", format=","),
    ]
    base = alt.Chart(data).encode(y=y)
    ci = base.mark_rule(strokeWidth=3, color=HEX["blue"]).encode(
        x=alt.X(
            "ci_low:Q",
            title="North Star lift with its adjusted interval",
            axis=alt.Axis(format="+.1~%"),
        ),
        x2="ci_high:Q",
        tooltip=tooltip,
    )
    point = base.mark_point(filled=True, size=110, color=HEX["blue"], opacity=1).encode(
        x="rel_effect:Q", tooltip=tooltip
    )
    refs = pl.DataFrame({"x": [0.0, threshold, -threshold], "dash": [0, 1, 1]})
    rules = (
        alt.Chart(refs)
        .mark_rule(color="#495057")
        .encode(
            x="x:Q",
            strokeDash=alt.StrokeDash(
                "dash:N", scale=alt.Scale(domain=[0, 1], range=[[1, 0], [5, 4]]), legend=None
            ),
        )
    )
    return alt.layer(rules, ci, point).properties(height=alt.Step(ROW_STEP), width=FOREST_WIDTH)


def catalog_tree(movement: pl.DataFrame) -> str:
    """The metric catalog as a Graphviz tree: leading indicators, vanity metrics and guardrails
    feed the North Star; each node says in how many comparisons (treatment vs control) it moved
    and the North Star with it. `movement` is nsexp.report.movement.metric_movement."""
    lines = [
        "digraph catalog {",
        '  graph [rankdir=LR, bgcolor="transparent", nodesep=0.25, ranksep=0.6, fontname="sans"];',
        '  node [shape=box, style="rounded,filled", fontname="sans", fontsize=11, '
        'color="#adb5bd", penwidth=1];',
        '  edge [color="#adb5bd", arrowsize=0.7];',
    ]
    ns = movement.filter(pl.col("role") == "north_star").row(0, named=True)
    ns_text = (
        f"★ {ns['label']}\\nNorth Star\\nmoved in {ns['comparisons_moved']} of "
        f"{ns['comparisons']} comparisons\\n({ns['better']} better, {ns['worse']} worse)"
    )
    lines.append(
        f'  ns [label="{_escape(ns_text)}", fillcolor="{HEX["light_green"]}", '
        'fontsize=13, penwidth=2, color="#2b8a3e"];'
    )
    for role in ROLES[1:]:
        group = movement.filter(pl.col("role") == role)
        if group.height == 0:
            continue
        hub = f"hub_{role}"
        lines.append(
            f'  {hub} [label="{ROLE_PLURALS[role]}", shape=plaintext, style="", fontsize=12];'
        )
        style = ', style="dashed"' if role == "guardrail" else ""
        lines.append(f"  {hub} -> ns [penwidth=1.5{style}];")
        for i, m in enumerate(group.iter_rows(named=True)):
            node = f"{role}_{i}"
            lines.append(
                f'  {node} [label="{_escape(_leaf_text(m))}", fillcolor="{_leaf_fill(m)}"];'
            )
            lines.append(f"  {node} -> {hub} [arrowhead=none];")
    lines.append("}")
    return "\n".join(lines)


def _leaf_text(m: dict) -> str:
    moved = m["comparisons_moved"]
    head = f"{m['label']}\\nmoved in {moved} of {m['comparisons']} comparisons"
    if moved == 0:
        return head
    if m["role"] == "guardrail":
        return f"{head}\\ngot worse in {m['worse']} of {moved}"
    return f"{head}\\nthe North Star followed {m['ns_followed']} of {moved}"


def _leaf_fill(m: dict) -> str:
    moved = m["comparisons_moved"]
    if moved == 0:
        return HEX["light_gray"]
    if m["role"] == "guardrail":
        return HEX["light_red"] if m["worse"] else HEX["light_gray"]
    return HEX["light_green"] if m["ns_followed"] * 2 >= moved else HEX["light_orange"]


def _escape(text: str) -> str:
    return text.replace('"', '\\"')
