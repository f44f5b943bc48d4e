"""Altair chart builders for the Portfolio insights and North Star pages: pure functions, the
tree's Edge records and comparisons in, charts out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import altair as alt
import polars as pl

from nsexp.learning.proxies import NorthStarWins
from nsexp.learning.tree import Edge
from nsexp.report.charts import Chart

Z95 = 1.959963984540054
# by an Edge's label_words: the legend says what the tables say ("too few", a guardrail's terms)
LABEL_COLOURS: dict[str, str] = {
    "predictive": "#2e7d32",
    "weak": "#9e9e9e",
    "vanity": "#c62828",
    "too few": "#bdbdbd",
    "tracks the North Star": "#1565c0",
    "loosely tied": "#90a4ae",
    "independent": "#6a1b9a",
}


def _r(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:+.2f}"


def fitted_line(points: pl.DataFrame, slope: float | None, intercept: float | None) -> pl.DataFrame:
    """Two ends of the noise-corrected line over the range of the child's effects."""
    if points.height == 0 or slope is None or intercept is None or not math.isfinite(slope):
        return pl.DataFrame(schema={"effect": pl.Float64, "parent_effect": pl.Float64})
    effects = points["effect"].cast(pl.Float64).to_numpy()
    lo, hi = float(effects.min()), float(effects.max())
    return pl.DataFrame(
        {"effect": [lo, hi], "parent_effect": [intercept + slope * lo, intercept + slope * hi]}
    )


def edge_points(comparisons: pl.DataFrame, child: str, parent: str) -> pl.DataFrame:
    """One edge's comparisons (nsexp.learning.tree.edge_comparisons) with 95% error-bar ends on
    both axes."""
    return (
        comparisons.filter((pl.col("child") == child) & (pl.col("parent") == parent))
        .select("experiment", "variant", "effect", "se", "parent_effect", "parent_se", "moved")
        .with_columns(
            (pl.col("effect") - Z95 * pl.col("se")).alias("x_low"),
            (pl.col("effect") + Z95 * pl.col("se")).alias("x_high"),
            (pl.col("parent_effect") - Z95 * pl.col("parent_se")).alias("y_low"),
            (pl.col("parent_effect") + Z95 * pl.col("parent_se")).alias("y_high"),
            pl.when(pl.col("moved"))
            .then(pl.lit("moved"))
            .otherwise(pl.lit("did not move"))
            .alias("moved"),
        )
    )


def edge_scatter(
    comparisons: pl.DataFrame, edge: Edge, child: str, parent: str, width: int | None = None
) -> Chart:
    """A child metric's effect against its parent's across experiments (an edge of the tree):
    95% error bars both ways and the noise-corrected slope; `child`/`parent` name the axes."""
    points = edge_points(comparisons, edge.child, edge.parent)
    return _scatter(points, edge, child, parent, width)


def _scatter(
    points: pl.DataFrame, edge: Edge, x_name: str, y_name: str, width: int | None
) -> Chart:
    # The metrics' names are data fields and the chart's title, never an encoding's title:
    # Vega-Lite writes those into tooltip and description expressions, where a backslash or a
    # quote in a label breaks the chart.
    x = alt.X("effect:Q", title="Effect on the input", axis=alt.Axis(format="+.0%"))
    y = alt.Y("parent_effect:Q", title="Effect on what it drives", axis=alt.Axis(format="+.0%"))
    points = points.with_columns(x_name=pl.lit(x_name), y_name=pl.lit(y_name))
    tooltip = [
        alt.Tooltip("experiment:N"),
        alt.Tooltip("variant:N"),
        alt.Tooltip("x_name:N", title="Input"),
        alt.Tooltip("effect:Q", format="+.1%", title="Its effect"),
        alt.Tooltip("y_name:N", title="Drives"),
        alt.Tooltip("parent_effect:Q", format="+.1%", title="Effect there"),
    ]
    base = alt.Chart(points)
    # the legend below the plot: beside it, it kept a half-width column's plot at ~170 px
    colour = alt.Color(
        "moved:N",
        title="The input",
        scale=alt.Scale(domain=["moved", "did not move"], range=["#1565c0", "#90a4ae"]),
        legend=alt.Legend(orient="bottom", direction="horizontal"),
    )
    x_bars = base.mark_rule(opacity=0.35).encode(x="x_low:Q", x2="x_high:Q", y="parent_effect:Q")
    y_bars = base.mark_rule(opacity=0.35).encode(x="effect:Q", y="y_low:Q", y2="y_high:Q")
    dots = base.mark_circle(size=45, opacity=0.9).encode(x=x, y=y, color=colour, tooltip=tooltip)
    tint = LABEL_COLOURS.get(edge.words, "#616161")
    line = (
        alt.Chart(fitted_line(points, edge.slope, edge.intercept))
        .mark_line(color=tint, strokeWidth=2.5)
        .encode(x="effect:Q", y="parent_effect:Q")
    )
    slope = f", slope {_r(edge.slope)}" if edge.slope is not None else ""
    # the edge named child → parent over two lines (its heading, edge.heading) and its evidence:
    # data drawn as text above the plot, never a Vega title; each line is cut at the plot's
    # width so a long name never squeezes the plot
    heading = pl.DataFrame(
        {
            "line": [
                f"{x_name} →",
                f"{y_name}: {edge.words}",
                f"r {_r(edge.corrected_correlation)} "
                f"[{_r(edge.correlation_ci_low)}, {_r(edge.correlation_ci_high)}]{slope}, "
                f"{edge.n_comparisons} comparisons",
            ],
            "y": [-46, -30, -14],
            "size": [13, 13, 11],
        }
    )
    head = (
        alt.Chart(heading)
        .mark_text(align="left", baseline="middle", color=tint, limit=alt.ExprRef(expr="width"))
        .encode(
            text="line:N",
            x=alt.value(0),
            y=alt.Y("y:Q", scale=None),
            size=alt.Size("size:Q", scale=None, legend=None),
        )
    )
    chart = alt.layer(x_bars, y_bars, line, dots, head)
    return chart.properties(width=width) if width else chart


def ranking_chart(edges: Sequence[Edge]) -> Chart:
    """Corrected correlation with its 95% interval per edge, in the order given, each named as
    the Edge record names it and coloured by its label words (the legend's words are the
    tables'); the names in full (two edges from one input differ only at their ends)."""
    names = [e.title for e in edges]
    frame = pl.DataFrame(
        {
            "edge": names,
            "label": [e.words for e in edges],
            "corrected_correlation": [e.corrected_correlation for e in edges],
            "correlation_ci_low": [e.correlation_ci_low for e in edges],
            "correlation_ci_high": [e.correlation_ci_high for e in edges],
        },
        schema_overrides={
            c: pl.Float64
            for c in ("corrected_correlation", "correlation_ci_low", "correlation_ci_high")
        },
    )
    shown = [w for w in LABEL_COLOURS if w in set(frame["label"])]
    scale = alt.Scale(domain=shown, range=[LABEL_COLOURS[w] for w in shown])
    y = alt.Y("edge:N", sort=names, title=None, axis=alt.Axis(labelLimit=340))
    colour = alt.Color("label:N", scale=scale, title="Label")
    base = alt.Chart(frame)
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "correlation_ci_low:Q",
            title="Correlation of true effects, input with what it drives (95% interval)",
            scale=alt.Scale(domain=[-1, 1]),
        ),
        x2="correlation_ci_high:Q",
        y=y,
        color=colour,
    )
    dots = base.mark_point(filled=True, size=90).encode(
        x="corrected_correlation:Q",
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip("edge:N"),
            alt.Tooltip("label:N"),
            alt.Tooltip("corrected_correlation:Q", format="+.2f", title="corrected r"),
        ],
    )
    zero = alt.Chart(pl.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(zero, bars, dots)


def impact_chart(impact: NorthStarWins, names: Mapping[str, str]) -> Chart:
    """Each North Star win as reported and after winner's-curse shrinkage ("likely real"), named
    by its experiment's name (`names`: id -> name; the id where none) and treatment."""
    named = pl.col("experiment").replace_strict(dict(names), default=pl.col("experiment"))
    wins = impact.wins.with_columns(
        pl.concat_str([named, pl.col("variant")], separator=": ").alias("win")
    ).sort("rel_effect", descending=True)
    order = wins["win"].to_list()
    long = wins.select("win", "rel_effect", "shrunk_effect").unpivot(
        index="win", variable_name="estimate", value_name="lift"
    )
    long = long.with_columns(
        pl.col("estimate").replace_strict(
            {"rel_effect": "as reported", "shrunk_effect": "likely real"}
        )
    )
    y = alt.Y("win:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    link = (
        alt.Chart(wins)
        .mark_rule(color="#9e9e9e")
        .encode(x="shrunk_effect:Q", x2="rel_effect:Q", y=y)
    )
    dots = (
        alt.Chart(long)
        .mark_point(size=80, filled=True)
        .encode(
            x=alt.X("lift:Q", title="North Star lift", axis=alt.Axis(format="+.1%")),
            y=y,
            color=alt.Color(
                "estimate:N",
                title=None,
                scale=alt.Scale(
                    domain=["as reported", "likely real"], range=["#1565c0", "#2e7d32"]
                ),
            ),
            tooltip=[
                alt.Tooltip("win:N"),
                alt.Tooltip("estimate:N"),
                alt.Tooltip("lift:Q", format="+.2%"),
            ],
        )
    )
    return alt.layer(link, dots)
