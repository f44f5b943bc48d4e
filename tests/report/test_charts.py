"""nsexp.report.charts: the specs say what the pages promise (roles, colours, bands, lines)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpers import result

from nsexp.analysis.readout import ExperimentReadout, build_readout
from nsexp.analysis.results import OUTCOME_LABELS, MetricResult, TimelinePoint
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICTS
from nsexp.io import Dataset
from nsexp.report import charts
from nsexp.report.figures import every_treatment, timeline_rows


@pytest.fixture(scope="module")
def push(demo_dataset: Dataset) -> ExperimentReadout:
    """The push_reminders experiment of the demo data, as the readout page renders it."""
    return build_readout(demo_dataset).experiments["push_reminders"]


def layer_data(spec: dict) -> list[dict]:
    """The rows Altair embedded in a spec (one inline dataset)."""
    (rows,) = spec["datasets"].values()
    return rows


def metric_rows(spec: dict) -> list[dict]:
    """The forest plot's metric rows (not the role header rows)."""
    return [r for r in layer_data(spec) if r.get("label") is not None]


def test_forest_plot_groups_rows_by_role_north_star_first(push: ExperimentReadout) -> None:
    metrics = push.treatments[0].metrics
    spec = charts.forest_plot(metrics, Settings()).to_dict()
    assert "facet" not in spec  # one layered chart: it takes its container's width
    labels = [r["row_label"] for r in layer_data(spec)]
    headers = [x for x in labels if not x.startswith("  ")]
    assert headers == ["North Star", "Leading indicators", "Vanity metrics", "Guardrails"]
    assert labels[0] == "North Star" and labels[1].strip() == push.treatments[0].north_star.label
    assert [r["label"] for r in metric_rows(spec)] == [m.label for m in metrics]
    y = spec["layer"][0]["encoding"]["y"]
    assert y["sort"] == {"field": "order", "op": "min"}  # drawn in this order, headers in bold
    assert [r["order"] for r in layer_data(spec)] == list(range(len(labels)))
    assert "condition" in y["axis"]["labelFontWeight"]
    assert "shape" not in spec["layer"][3]["encoding"]  # one treatment: no treatment legend


def strings_vega_evaluates(spec: object, key: str = "") -> list[str]:
    """Every title, test, expression and filter in a spec: where Vega reads text as code or
    draws it outside the data."""
    if isinstance(spec, dict):
        return [s for k, v in spec.items() for s in strings_vega_evaluates(v, k)]
    if isinstance(spec, list):
        return [s for v in spec for s in strings_vega_evaluates(v, key)]
    evaluated = key in ("title", "test", "expr", "calculate", "filter", "labelExpr")
    return [spec] if evaluated and isinstance(spec, str) else []


def test_forest_plot_shows_every_treatment_the_one_on_view_first(push: ExperimentReadout) -> None:
    """push_reminders' three_a_day breaches a guardrail: with daily on view, its line is in the
    plot below daily's in the guardrail's row, named by a legend fed by the data."""
    metrics = every_treatment(push.treatments, "daily")
    spec = charts.forest_plot(metrics, Settings()).to_dict()
    rows = metric_rows(spec)
    assert len(rows) == sum(len(t.metrics) for t in push.treatments)
    guard = [r for r in rows if r["label"] == "Turned off notifications"]
    assert [(r["variant"], r["variant_rank"]) for r in guard] == [("daily", 0), ("three_a_day", 1)]
    assert guard[1]["outcome_label"] == "Worse" and guard[0]["order"] == guard[1]["order"]
    source = push.treatment("three_a_day").metric("notifications_off")
    assert (guard[1]["ci_low"], guard[1]["ci_high"]) == source.decision_interval
    point = spec["layer"][3]["encoding"]
    assert point["yOffset"]["field"] == "variant_rank"
    assert point["shape"]["scale"]["domain"] == ["daily", "three_a_day"]
    assert point["shape"]["title"] == "Treatment"
    assert sum(r["band_low"] is not None for r in rows) == 1  # one band on the North Star row
    names = {m.label for m in metrics} | {m.variant for m in metrics}
    said = strings_vega_evaluates(spec)
    assert said and not [s for s in said if any(n in s for n in names)]
    assert charts.forest_height(metrics) > charts.forest_height(push.treatments[0].metrics)


def test_forest_plot_colours_by_adjusted_outcome_and_draws_the_adjusted_interval(
    push: ExperimentReadout,
) -> None:
    metrics = push.treatments[0].metrics
    spec = charts.forest_plot(metrics, Settings(alpha=0.01)).to_dict()
    point = next(lay for lay in spec["layer"] if lay["mark"]["type"] == "point")
    color = point["encoding"]["color"]
    present = {OUTCOME_LABELS[m.outcome] for m in metrics}
    order = ["Better", "Worse", "Not significant", "Not to be trusted"]
    assert color["scale"]["domain"] == [o for o in order if o in present]  # legend: only these
    colours = dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True))
    assert colours["Better"] == charts.HEX["green"]
    assert colours["Not significant"] == charts.HEX["gray"]
    assert "0.01" in color["title"]
    rows = {r["label"]: r for r in metric_rows(spec)}
    source = {m.label: m for m in metrics}
    for label, row in rows.items():
        m = source[label]
        assert row["outcome_label"] == OUTCOME_LABELS[m.outcome]
        assert row["ci_low"] == pytest.approx(m.rel_ci_adj_low)
        assert row["ci_high"] == pytest.approx(m.rel_ci_adj_high)
        # the drawn interval and the colour agree: clear of zero exactly when significant
        clear = row["ci_low"] > 0 or row["ci_high"] < 0
        assert clear == (row["outcome_label"] != "Not significant")


def test_forest_plot_band_only_on_the_north_star(push: ExperimentReadout) -> None:
    metrics = push.treatments[0].metrics
    rows = metric_rows(charts.forest_plot(metrics, Settings()).to_dict())
    threshold = push.treatments[0].north_star.practical_threshold
    banded = [r for r in rows if r["band_low"] is not None]
    assert [r["label"] for r in banded] == [push.treatments[0].north_star.label]
    assert (banded[0]["band_low"], banded[0]["band_high"]) == (-threshold, threshold)


def test_forest_plot_falls_back_to_plain_intervals_and_skips_missing_effects() -> None:
    data = metric_rows(charts.forest_plot(plain_and_blank(), Settings()).to_dict())
    assert [r["label"] for r in data] == ["North"]
    assert (data[0]["ci_low"], data[0]["ci_high"]) == (0.01, 0.05)
    assert data[0]["lift_text"] == "+3.0%"


def test_bayesian_forest_plot_shows_the_posterior_mean_inside_its_interval(
    push: ExperimentReadout, demo_dataset: Dataset
) -> None:
    bayes = build_readout(demo_dataset, Settings(engine="bayesian"))
    metrics = bayes.experiments["push_reminders"].treatments[0].metrics
    for row in metric_rows(charts.forest_plot(metrics, Settings(engine="bayesian")).to_dict()):
        assert row["ci_low"] <= row["rel_effect"] <= row["ci_high"]


def plain_and_blank() -> list[MetricResult]:
    """A North Star with plain intervals only and a vanity metric without an effect."""
    base = {
        "role": "north_star",
        "rel_effect": 0.03,
        "rel_ci_low": 0.01,
        "rel_ci_high": 0.05,
        "p_adjusted": 0.01,
        "significant": True,
    }
    return [
        result(**base, label="North"),
        result(
            **base | {"label": "Blank", "role": "vanity", "rel_effect": None, "significant": None}
        ),
    ]


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(alpha=0.1, correction="bh"),
        Settings(alpha=0.01, correction="none", cuped=False),
        Settings(engine="bayesian"),
        Settings(sequential=True),
    ],
    ids=lambda s: "&".join(f"{k}={v}" for k, v in s.to_query().items()) or "default",
)
def test_forest_spec_is_altairs_spec_of_the_forest_plot(
    demo_dataset: Dataset, settings: Settings
) -> None:
    """forest_spec fills a template Altair built once per shape: the JSON is Altair's own, byte
    for byte, for every treatment on view of every demo experiment (one or several treatments,
    invalid ones, each engine and interval) and for plain intervals and a missing effect."""
    readout = build_readout(demo_dataset, settings, timelines=False)
    views = [
        every_treatment(e.treatments, t.variant)
        for e in readout.experiments.values()
        # every treatment on view at the default settings, the first of each elsewhere
        for t in (e.treatments if settings == Settings() else e.treatments[:1])
    ]
    shapes = {len({m.variant for m in v}) > 1 for v in views}
    assert shapes == {True, False}
    for metrics in [*views, plain_and_blank(), []]:
        altair = charts.vega_lite_spec(charts.forest_plot(metrics, settings))
        assert json.dumps(charts.forest_spec(metrics, settings)) == json.dumps(altair)


@pytest.mark.parametrize(
    ("values", "ticks", "digits"),
    [
        ([-0.5, 0.4], [-0.6, -0.4, -0.2, 0.0, 0.2, 0.4], 0),
        ([-0.074, -0.068, -0.061], [-0.08, -0.06, -0.04, -0.02, 0.0], 0),  # Cookie Cats
        ([0.031, 0.052], [0.0, 0.02, 0.04, 0.06], 0),
        ([-0.01, 0.013], [-0.01, -0.005, 0.0, 0.005, 0.01, 0.015], 1),
        ([0.001, 0.0012], [0.0, 0.0005, 0.001, 0.0015], 2),
        ([-0.087, -0.034, 0.016], [-0.1, -0.05, 0.0, 0.05], 0),  # Cookie Cats, 90,189 users
        ([], [-0.01, -0.005, 0.0, 0.005, 0.01], 1),
    ],
)
def test_percent_ticks_are_round_and_read_distinct(
    values: list[float], ticks: list[float], digits: int
) -> None:
    got, decimals = charts.percent_ticks(values)
    assert got == pytest.approx(ticks) and decimals == digits
    labels = [f"{t * 100:+.{decimals}f}%" for t in got]  # as d3's '+.{digits}%' reads them
    assert len(set(labels)) == len(labels)  # no tick reads like its neighbour
    assert min(got) <= min([*values, 0.0]) and max(got) >= max([*values, 0.0])


def test_forest_plot_ticks_cover_every_interval_and_band(push: ExperimentReadout) -> None:
    spec = charts.forest_plot(push.treatments[0].metrics, Settings()).to_dict()
    x = next(layer["encoding"]["x"] for layer in spec["layer"] if "axis" in layer["encoding"]["x"])
    ticks, (low, high) = x["axis"]["values"], x["scale"]["domain"]
    assert (low, high) == (ticks[0], ticks[-1]) and 3 <= len(ticks) <= 7
    assert x["axis"]["tickCount"] == len(ticks)  # or Vega thins them to its own count
    for m in push.treatments[0].metrics:
        lo, hi = m.decision_interval
        assert lo is None or (low <= lo and hi <= high)


def points() -> tuple[TimelinePoint, ...]:
    """Three days of a frequentist timeline, the middle one without an estimate."""
    day = dt.date(2026, 3, 1)
    return (
        TimelinePoint(day, 10, 11, 0.05, -0.02, 0.12, 0.2, 0.4, -0.04, 0.14, engine="frequentist"),
        TimelinePoint(day + dt.timedelta(days=1), 20, 21, engine="frequentist"),
        TimelinePoint(
            day + dt.timedelta(days=2),
            1500,
            1531,
            0.03,
            0.01,
            0.05,
            0.01,
            0.0004,
            0.008,
            0.052,
            engine="frequentist",
        ),
    )


def test_timeline_chart_draws_the_decision_figure_with_reference_lines() -> None:
    """The band and the line are the points' decision figure (the adjusted interval, as on the
    card), not their plain interval; zero and the ±threshold are reference lines."""
    spec = charts.timeline_chart(timeline_rows(points()), 0.02, Settings()).to_dict()
    marks = [lay["mark"]["type"] for lay in spec["layer"]]
    assert marks == ["area", "rule", "line"]
    band, rules, line = spec["layer"]
    assert band["encoding"]["y"]["field"] == "decision_low"
    assert band["encoding"]["y2"]["field"] == "decision_high"
    assert line["encoding"]["y"]["field"] == "decision_effect"
    assert band["encoding"]["y"]["title"] == "Lift, adjusted CI (95%, Holm)"
    data = spec["datasets"]
    assert sorted(r["y"] for r in data[rules["data"]["name"]]) == [-0.02, 0.0, 0.02]
    rows = data[line["data"]["name"]]
    assert [(r["decision_low"], r["decision_high"]) for r in rows] == [
        (-0.04, 0.14),
        (0.008, 0.052),
    ]
    assert line["mark"]["point"]["color"] == line["mark"]["color"]


def test_timeline_tooltips_are_labelled_and_formatted() -> None:
    """Every mark's tooltip names what it shows in words and shows numbers formatted, never a
    field name beside a raw float (the issue saw `rel_ci_high 0.0480336442182`)."""
    spec = charts.timeline_chart(timeline_rows(points()), 0.02, Settings()).to_dict()
    _, rules, line = spec["layer"]
    for layer in spec["layer"]:
        tips = layer["encoding"]["tooltip"]
        assert tips and all(t["type"] == "nominal" and t["title"] for t in tips)
        assert all(t["title"] != t["field"] for t in tips)
    titles = [t["title"] for t in line["encoding"]["tooltip"]]
    assert titles == [
        "Data up to",
        "North Star lift",
        "Adjusted CI (95%, Holm)",
        "Adjusted p",
        "Units so far",
    ]
    last = spec["datasets"][line["data"]["name"]][-1]
    shown = [last[t["field"]] for t in line["encoding"]["tooltip"]]
    assert shown == ["2026-03-03", "+3.0%", "[+0.8%, +5.2%]", "< 0.001", "3,031"]
    rule_tips = {r["label"] for r in spec["datasets"][rules["data"]["name"]]}
    assert rule_tips == {"Zero", "Practical threshold ±2.0%"}
    bayes = charts.timeline_chart(
        timeline_rows(points()), 0.02, Settings(engine="bayesian")
    ).to_dict()
    assert "Adjusted p" not in [t["title"] for t in bayes["layer"][2]["encoding"]["tooltip"]]


def test_an_invalid_comparisons_timeline_is_grey() -> None:
    """As the forest plot draws an invalid experiment's dots grey, its timeline is grey."""
    rows = timeline_rows(points())
    valid = charts.timeline_chart(rows, 0.02, Settings()).to_dict()
    invalid = charts.timeline_chart(rows, 0.02, Settings(), trusted=False).to_dict()
    for spec, colour in ((valid, charts.HEX["blue"]), (invalid, charts.HEX["gray"])):
        band, _, line = spec["layer"]
        assert band["mark"]["color"] == line["mark"]["color"] == colour
        assert line["mark"]["point"]["color"] == colour  # the dots too


def test_every_verdict_has_a_colour() -> None:
    assert set(charts.VERDICT_COLORS) == set(VERDICTS)
    assert all(c in charts.HEX for c in charts.VERDICT_COLORS.values())


def test_vega_lite_spec_is_the_chart_without_the_default_themes_size(
    push: ExperimentReadout,
) -> None:
    chart = charts.forest_plot(push.treatments[0].metrics, push.settings)
    plain = chart.to_dict()
    assert plain["config"]["view"]["continuousWidth"] == 300  # what Altair's theme adds
    spec = charts.vega_lite_spec(chart)
    assert "continuousWidth" not in spec["config"]["view"]
    assert "continuousHeight" not in spec["config"]["view"]
    assert spec["config"]["view"]["stroke"] is None  # the chart's own configuration stays
    assert spec["layer"] == plain["layer"] and spec["datasets"] == plain["datasets"]
    assert {**spec, "config": None} == {**plain, "config": None}  # the same spec, validated


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        (
            "Lift (treatment ÷ control − 1), 95% confidence interval, adjusted for multiple "
            "testing (Holm)",
            [
                "Lift (treatment ÷ control − 1), 95% confidence interval,",
                "adjusted for multiple testing (Holm)",
            ],
        ),
        ("Lift (posterior mean), 95% credible interval", None),
        ("a, b, c", ["a,", "b,", "c"]),
    ],
)
def test_wrapped_breaks_a_long_title_after_its_commas(text: str, lines: list[str] | None) -> None:
    """The forest plot's axis title as lines of at most TITLE_CHARS (a line per comma at
    width 1), every word kept: the lines joined by spaces are the title."""
    width = 1 if text == "a, b, c" else charts.TITLE_CHARS
    got = charts.wrapped(text, width)
    assert got == (lines or [text])
    assert " ".join(got) == text
