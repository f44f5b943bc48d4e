"""Charts for the app, as pure builders: Altair specs, no Streamlit (the tree's Graphviz source
is nsexp.report.tree_chart).

The forest plot takes the result model and the timeline nsexp.report.figures.timeline_frame,
so a live readout and a pinned one draw the same way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import typing
from collections.abc import Sequence
from typing import Any, NamedTuple

import altair as alt
import polars as pl

from nsexp import format as fmt
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.results import OUTCOME_LABELS, MetricResult
from nsexp.analysis.settings import Settings
from nsexp.config.catalog import ROLES

Chart = alt.LayerChart | alt.FacetChart  # what the builders return

# Verdict colours: st.badge colour names, and the matching hex for tables and charts.
VERDICT_COLORS: dict[str, str] = {
    "invalid": "violet",
    "north_star_loss": "red",
    "guardrail_breach": "red",
    "north_star_win": "green",
    "leading_win": "yellow",
    "vanity_only": "orange",
    "flat": "blue",
    "inconclusive": "gray",
}
HEX: dict[str, str] = {
    "violet": "#803df5",
    "red": "#e03131",
    "green": "#2b8a3e",
    "orange": "#e8590c",
    "yellow": "#b08800",
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
    "untrusted": HEX["light_gray"],
}
ROLE_PLURALS = {
    "north_star": "North Star",
    "leading": "Leading indicators",
    "vanity": "Vanity metrics",
    "guardrail": "Guardrails",
}
ROW_STEP = 30
LEGEND_LABEL_LIMIT = 140  # px of a legend entry's label, beyond which Vega ends it with '…'
LEGEND_ROW = 30  # px of a vertical legend's entry under Streamlit's theme (seen in Chromium)
TITLE_CHARS = 56  # characters of an axis title's line: ~330 px, the plot's width at 1024 px
TREATMENT_STEP = 14  # a forest-plot row grows by this much per further treatment
# the point shapes that tell a forest plot's treatments apart, the one on view first
SHAPES = ["circle", "diamond", "square", "triangle-up", "cross", "triangle-down"]


def percent_ticks(values: Sequence[float | None], count: int = 5) -> tuple[list[float], int]:
    """Ticks at a round step (1, 2 or 5 × 10ⁿ) over these values and zero, about `count`
    of them, and the decimals of a percentage that step needs, so no two ticks read the same
    ('−7% −7% −6%') and every tick shows the same decimals."""
    shown = [v for v in values if v is not None and math.isfinite(v)] + [0.0]
    low, high = min(shown), max(shown)
    if high == low:  # nothing but zero: a band of ±1% around it
        low, high = low - 0.01, high + 0.01
    span = high - low
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude * count >= span)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    digits = max(0, -math.floor(math.log10(step * 100) + 1e-9))
    quarter = round(step * 100 / 10**-digits, 6) % 1 != 0  # 2.5 × 10ⁿ: one decimal more
    return ticks, digits + quarter


def percent_scale(values: Sequence[float | None]) -> dict[str, Any]:
    """The axis and scale of a percentage channel over these values (spread into alt.X or
    alt.Y): round ticks from the data's range, every one drawn and read to the same decimals
    ('0%' at zero), the domain from the first tick to the last."""
    ticks, digits = percent_ticks(values)
    return _percent_axis(ticks, len(ticks), percent_label(digits), [ticks[0], ticks[-1]])


def percent_label(digits: int) -> str:
    """The Vega expression of a percentage tick's label to `digits` decimals ('0%' at zero,
    not '+0%')."""
    return f"datum.value === 0 ? '0%' : format(datum.value, '+.{digits}%')"


def _percent_axis(ticks: Any, count: Any, label: Any, domain: Any) -> dict[str, Any]:
    """percent_scale's axis and scale from its parts (a template's placeholders, forest_spec)."""
    # tickCount: Vega thins explicit values down to a smaller tick count (the theme sets one)
    return {
        "axis": alt.Axis(values=ticks, tickCount=count, labelExpr=label),
        "scale": alt.Scale(domain=domain, nice=False, zero=False),
    }


def chart_height(rows: int, step: int = ROW_STEP) -> int:
    """Pixels for a chart of `rows` rows `step` pixels apart, axis and legend included (pass to
    st.altair_chart)."""
    return step * rows + 90


def vega_lite_spec(chart: Chart) -> dict[str, Any]:
    """The chart as the Vega-Lite spec st.vega_lite_chart draws (its data inline), without the
    300 px view Altair's default theme adds: the page sizes its charts (and st.altair_chart
    drops that theme too). Not validated against the schema here (~40% of a spec's cost, paid
    on every first view of a link): the tests validate each chart's spec in every shape."""
    spec = chart.to_dict(validate=False)
    view = spec.get("config", {}).get("view", {})
    for key in ("continuousWidth", "continuousHeight"):
        view.pop(key, None)
    return spec


class ForestParts(NamedTuple):
    """What a forest plot's spec holds besides its rows, worked out from them and the settings:
    the titles, the outcomes shown with their colours, the lift axis's ticks, tick count, label
    expression and domain, and the treatments with their point shapes."""

    color_title: str
    outcomes: list[str]
    colors: list[str]
    x_title: list[str]
    ticks: list[float]
    tick_count: int
    tick_label: str
    domain: list[float]
    interval_title: str
    p_title: str
    variants: list[str]
    shapes: list[str]


def forest_plot(metrics: Sequence[MetricResult], settings: Settings) -> Chart:
    """Relative lift with its decision interval per metric (adjusted, or credible under the
    Bayesian engine) and the posterior mean as the point under Bayes, grouped under a header
    row per role (North Star first), coloured by the outcome; the North Star's row shades its
    ±practical_threshold band. `metrics` may hold several treatments of one experiment (the one
    on view first): each metric's row then holds a line per treatment, in that order, told apart
    by the point's shape and named in a legend fed by the data. One layered chart, so it takes
    its container's width; every label comes from the data, none from a Vega expression."""
    data = _forest_rows(metrics)
    parts = _forest_parts(data, metrics, settings)
    return _forest_chart(data, parts, several=len(parts.variants) > 1)


def forest_spec(metrics: Sequence[MetricResult], settings: Settings) -> dict[str, Any]:
    """`vega_lite_spec(forest_plot(metrics, settings))`, the same JSON, without building the
    Altair chart (~50 ms of CPU, paid on each link's first view): Altair's spec of each shape
    (one treatment or several) is built once with placeholders, and this call fills in its rows,
    their dataset name and its parts (tests/report/test_charts.py holds the two equal)."""
    data = _forest_rows(metrics)
    parts = _forest_parts(data, metrics, settings)
    template, name = _forest_template(several=len(parts.variants) > 1)
    convert = alt.data_transformers.get()  # as Altair turns a chart's frame into its rows
    assert convert is not None  # a transformer is always enabled (Altair's default)
    values: list[dict[str, Any]] = convert(data)["values"]
    named = _dataset_name(values)
    holders = _holders()
    filled = {_key(holders[k]): v for k, v in parts._asdict().items()} | {name: named}
    spec: dict[str, Any] = _filled(template, filled)
    spec["datasets"] = {named: values}
    return spec


@functools.cache
def _holders() -> dict[str, Any]:
    """Each part's placeholder, of a type Altair accepts where the part goes (Altair validates
    each piece of a chart as it is made): a string marked as never in a label, such a string in
    a list for a list, an impossible count (a billion ticks) for a count."""
    found: dict[str, Any] = {}
    for i, (part, kind) in enumerate(typing.get_type_hints(ForestParts).items()):
        if typing.get_origin(kind) is list:
            found[part] = [f"\x00forest[]:{part}"]
        elif kind is int:
            found[part] = 10**9 + i
        else:
            found[part] = f"\x00forest:{part}"
    return found


def _key(holder: Any) -> str | int:
    """What _filled meets where a placeholder stands: the string of a list's placeholder."""
    return holder[0] if isinstance(holder, list) else holder


@functools.cache
def _forest_template(*, several: bool) -> tuple[dict[str, Any], str]:
    """Altair's spec of a forest plot of no rows with a placeholder for every part, and the
    name of its (empty) dataset: built once per shape."""
    data = _forest_rows(())
    holders = ForestParts(**_holders())
    spec = vega_lite_spec(_forest_chart(data, holders, several=several))
    (name,) = spec["datasets"]
    return spec, name


def _filled(node: Any, values: dict[str | int, Any]) -> Any:
    """A copy of a JSON-like template with each placeholder (_holder) replaced by its value
    in `values`, keyed by _key."""
    if isinstance(node, dict):
        return {k: _filled(v, values) for k, v in node.items()}
    if isinstance(node, list):
        if len(node) == 1 and isinstance(node[0], str) and node[0] in values:
            return values[node[0]]
        return [_filled(v, values) for v in node]
    if type(node) in (str, int) and node in values:
        return values[node]
    return node


def _dataset_name(values: list[dict[str, Any]]) -> str:
    """The name Altair gives inline rows it moves to the spec's datasets (altair's
    vegalite.v6.api._dataset_name): a hash of their sorted JSON."""
    text = json.dumps(values, sort_keys=True, default=str)
    return "data-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _forest_parts(
    data: pl.DataFrame, metrics: Sequence[MetricResult], settings: Settings
) -> ForestParts:
    """The forest plot's parts for these rows (_forest_rows) of `metrics` and the settings."""
    alpha, bayesian = settings.alpha, settings.engine == "bayesian"
    variants = _variants(metrics)
    present = set(data["outcome_label"].drop_nulls())
    shown = [o for o in ("better", "worse", "not_significant", "untrusted")]
    shown = [o for o in shown if OUTCOME_LABELS[o] in present] or ["not_significant"]
    lift = "Lift (posterior mean)" if bayesian else "Lift (treatment ÷ control − 1)"
    ends = data.select("ci_low", "ci_high", "band_low", "band_high").to_numpy().ravel().tolist()
    ticks, digits = percent_ticks(ends)
    return ForestParts(
        color_title=f"{'Bayesian' if bayesian else 'Adjusted'} result at α = {alpha:g}",
        outcomes=[OUTCOME_LABELS[o] for o in shown],
        colors=[OUTCOME_COLORS[o] for o in shown],
        x_title=wrapped(f"{lift}, {interval_name(settings)}"),
        ticks=ticks,
        tick_count=len(ticks),
        tick_label=percent_label(digits),
        domain=[ticks[0], ticks[-1]],
        interval_title=interval_name(settings, short=True),
        p_title="Chance to win" if bayesian else "Adjusted p",
        variants=variants,
        shapes=SHAPES[: len(variants)],
    )


def _forest_chart(data: pl.DataFrame, parts: ForestParts, *, several: bool) -> Chart:
    """forest_plot's layers over its rows and parts; `several`: a line per treatment."""
    # several treatments: the outcomes and the treatments in two columns side by side, each
    # narrow enough that both fit above the plot at 1024 px (one row of each did not)
    listed: dict[str, Any] = (
        {"direction": "vertical", "labelLimit": LEGEND_LABEL_LIMIT} if several else {}
    )
    color = alt.Color(
        "outcome_label:N",
        title=parts.color_title,
        scale=alt.Scale(domain=parts.outcomes, range=parts.colors),
        legend=alt.Legend(orient="top", **listed),
    )
    headers = [ROLE_PLURALS[r] for r in ROLES]
    bold = {"condition": {"test": f"indexof({headers!r}, datum.value) >= 0", "value": 700}}
    y = alt.Y(
        "row_label:N",
        sort=alt.EncodingSortField("order", op="min"),
        title=None,
        axis=alt.Axis(labelLimit=220, labelFontWeight={**bold, "value": 400}, ticks=False),
    )
    scale = _percent_axis(parts.ticks, parts.tick_count, parts.tick_label, parts.domain)
    x = alt.X("rel_effect:Q", title=parts.x_title, **scale)
    tooltip = [
        *([alt.Tooltip("variant:N", title="Treatment")] if several else []),
        alt.Tooltip("label:N", title="Metric"),
        alt.Tooltip("lift_text:N", title="Lift"),
        alt.Tooltip("ci_text:N", title=parts.interval_title),
        alt.Tooltip("p_text:N", title=parts.p_title),
        alt.Tooltip("outcome_label:N", title="Result"),
    ]
    base = alt.Chart(data).encode(y=y)
    band = base.mark_rect(color=HEX["band"], opacity=0.3).encode(x="band_low:Q", x2="band_high:Q")
    zero = alt.Chart(data).mark_rule(color="#495057", strokeDash=[4, 3]).encode(x=alt.datum(0))
    each: dict[str, Any] = {}
    shape: dict[str, Any] = {}
    if several:  # a line per treatment within the metric's row, the one on view on top
        each["yOffset"] = alt.YOffset("variant_rank:O", scale=alt.Scale(paddingOuter=0.3))
        shape["shape"] = alt.Shape(
            "variant:N",
            title="Treatment",
            scale=alt.Scale(domain=parts.variants, range=parts.shapes),
            legend=alt.Legend(orient="top", **listed),
        )
    ci = base.mark_rule(strokeWidth=3).encode(
        x="ci_low:Q", x2="ci_high:Q", color=color, tooltip=tooltip, **each
    )
    point = base.mark_point(filled=True, size=110, opacity=1).encode(
        x=x, color=color, tooltip=tooltip, **each, **shape
    )
    padding = {"left": 8, "right": 12, "top": 4, "bottom": 4}
    return alt.layer(band, zero, ci, point).properties(padding=padding).configure_view(stroke=None)


def forest_height(metrics: Sequence[MetricResult]) -> int:
    """Pixels for forest_plot of these metrics: a row per metric and role header, each taller
    by a line per further treatment, and room for the axis, its title's second line and the
    legends (with several treatments, an entry per outcome or treatment, the longer list)."""
    variants = len(_variants(metrics))
    rows = len({(m.role, m.metric) for m in metrics}) + len({m.role for m in metrics})
    shown = {m.outcome for m in metrics if m.decision_effect is not None}
    legend = LEGEND_ROW * (max(variants, len(shown)) - 1) if variants > 1 else 0
    return chart_height(rows, ROW_STEP + TREATMENT_STEP * (variants - 1)) + 15 + legend


def wrapped(text: str, width: int = TITLE_CHARS) -> list[str]:
    """A title's lines of at most about `width` characters, broken after its commas (Vega
    draws a list of strings as lines): a one-line axis title wider than the plot is cut at
    the chart's edge in a narrow column."""
    lines: list[str] = []
    for part in text.split(", "):
        if lines and len(lines[-1]) + 2 + len(part) <= width:
            lines[-1] += f", {part}"
        else:
            if lines:
                lines[-1] += ","
            lines.append(part)
    return lines


def _variants(metrics: Sequence[MetricResult]) -> list[str]:
    """The treatments among `metrics`, in the order they first appear."""
    return list(dict.fromkeys(m.variant for m in metrics))


def _forest_rows(metrics: Sequence[MetricResult]) -> pl.DataFrame:
    """One row per metric and treatment with its figures and texts, under a header row per
    role; `order` is the drawing order of the rows (a metric's treatments share its row), the
    band rides on the first treatment's North Star row only."""
    variants = _variants(metrics)
    rows: list[dict[str, object]] = []
    for role in ROLES:
        group = [m for m in metrics if m.role == role and m.decision_effect is not None]
        if group:
            rows.append({"row_label": ROLE_PLURALS[role], "order": len(rows)})
        for metric in dict.fromkeys(m.metric for m in group):
            order = len(rows)
            for m in (m for m in group if m.metric == metric):
                low, high = m.decision_interval
                first = m.variant == variants[0]
                band = m.practical_threshold if m.role == "north_star" and first else None
                chance = f"chance to win {fmt.chance(m.chance_to_win)}"
                rows.append(
                    {
                        "row_label": f"  {m.name}",
                        "order": order,
                        "variant": m.variant,
                        "variant_rank": variants.index(m.variant),
                        "label": m.name,
                        "outcome_label": OUTCOME_LABELS[m.outcome],
                        "rel_effect": m.decision_effect,
                        "ci_low": low,
                        "ci_high": high,
                        "band_low": None if band is None else -band,
                        "band_high": band,
                        "lift_text": fmt.pct(m.decision_effect),
                        "ci_text": fmt.pct_ci(low, high),
                        "p_text": chance if m.engine == "bayesian" else fmt.p_bare(m.p_adjusted),
                    }
                )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        k: pl.String for k in ("row_label", "variant", "label", "outcome_label")
    }
    schema |= {"order": pl.Int64, "variant_rank": pl.Int64}
    schema |= {k: pl.Float64 for k in ("rel_effect", "ci_low", "ci_high", "band_low", "band_high")}
    schema |= {k: pl.String for k in ("lift_text", "ci_text", "p_text")}
    return pl.DataFrame(rows, schema=schema)


def timeline_chart(
    timeline: pl.DataFrame,
    threshold: float,
    settings: Settings,
    *,
    trusted: bool = True,
) -> Chart:
    """The North Star by date as the readout of the data up to each date quotes it
    (nsexp.report.figures.timeline_rows): the decision figure with its deciding interval as a
    band (adjusted, always valid under sequential settings, credible under the Bayesian engine;
    the page's caption names it in full), zero and the ±practical_threshold as reference lines.
    An untrusted (invalid) comparison is drawn grey, as the forest plot draws it. Every mark's
    tooltip is labelled and its numbers formatted."""
    data = timeline.drop_nulls("decision_effect")
    figures = data.select("decision_effect", "decision_low", "decision_high", "p_adjusted")
    units = (data["n_control"] + data["n_treatment"]).to_list()
    data = data.with_columns(
        pl.col("date").dt.to_string("%Y-%m-%d").alias("date_text"),
        pl.Series("lift_text", [fmt.pct(e) for e in figures["decision_effect"]], pl.String),
        pl.Series(
            "ci_text", [fmt.pct_ci(lo, hi) for _, lo, hi, _ in figures.iter_rows()], pl.String
        ),
        pl.Series("p_text", [fmt.p_bare(p) for p in figures["p_adjusted"]], pl.String),
        pl.Series("units_text", [fmt.count(n) for n in units], pl.String),
    )
    ends = [
        threshold,
        -threshold,
        *data.select("decision_low", "decision_high").to_numpy().ravel(),
    ]
    x = alt.X("date:T", title="Exposure date (cumulative)", axis=alt.Axis(format="%b %d"))
    named = interval_name(settings, "decision", short=True)  # the caption names it in full
    y_title = f"Lift, {named[0].lower()}{named[1:]}"
    tooltip = [
        alt.Tooltip("date_text:N", title="Data up to"),
        alt.Tooltip("lift_text:N", title="North Star lift"),
        alt.Tooltip("ci_text:N", title=named),
    ]
    if settings.engine != "bayesian":
        tooltip.append(alt.Tooltip("p_text:N", title="Adjusted p"))
    tooltip.append(alt.Tooltip("units_text:N", title="Units so far"))
    colour = HEX["blue"] if trusted else HEX["gray"]
    base = alt.Chart(data).encode(x=x, tooltip=tooltip)
    band = base.mark_area(opacity=0.22 if trusted else 0.15, color=colour).encode(
        y=alt.Y("decision_low:Q", title=y_title, **percent_scale(ends)),
        y2="decision_high:Q",
    )
    dots = alt.OverlayMarkDef(color=colour, filled=True)
    line = base.mark_line(point=dots, color=colour).encode(y="decision_effect:Q")
    refs = pl.DataFrame(
        {
            "y": [0.0, threshold, -threshold],
            "kind": ["zero", "threshold", "threshold"],
            "label": ["Zero", *[f"Practical threshold ±{fmt.pct(threshold, signed=False)}"] * 2],
        }
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
            tooltip=[alt.Tooltip("label:N", title="Reference line")],
        )
    )
    return alt.layer(band, rules, line).properties(height=260)


def segment_chart(frame: pl.DataFrame, threshold: float) -> Chart:
    """The North Star's lift with its adjusted interval in each segment (nsexp.report.segments
    segment_frame), zero and the ±practical_threshold marked, a row of height per segment."""
    data = frame.drop_nulls("rel_effect")
    figures = list(data.select("rel_effect", "ci_low", "ci_high").iter_rows())
    data = data.with_columns(
        pl.Series("lift_text", [f"{fmt.pct(e)} {fmt.pct_ci(lo, hi)}" for e, lo, hi in figures])
    )
    # The column's name stays out of tooltip titles, which Vega-Lite writes into an expression
    # (a backslash or quote in it breaks the chart): the page's caption names it.
    y = alt.Y("segment:N", title=None, sort=None)
    tooltip = [
        alt.Tooltip("segment:N", title="Segment"),
        alt.Tooltip("lift_text:N", title="North Star lift"),
        alt.Tooltip("units:Q", title="Units", format=","),
    ]
    base = alt.Chart(data).encode(y=y)
    ci = base.mark_rule(strokeWidth=3, color=HEX["blue"]).encode(
        x=alt.X(
            "ci_low:Q",
            title="North Star lift with its adjusted interval",
            **percent_scale(
                [threshold, -threshold, *data.select("ci_low", "ci_high").to_numpy().ravel()]
            ),
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
    # a row per segment at the forest plot's step, axis included (the app fits the chart to
    # this height: Vega-Lite's default squashed two segments to ~60 px)
    return alt.layer(rules, ci, point).properties(height=chart_height(max(data.height, 2)))
