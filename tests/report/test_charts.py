"""nsexp.report.charts: the specs say what the pages promise (roles, colours, bands, lines)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from helpers import DEMO_DATA, result

from nsexp.analysis.readout import ExperimentReadout, build_readout
from nsexp.analysis.results import OUTCOME_LABELS
from nsexp.analysis.verdict import VERDICTS
from nsexp.io import load_dataset
from nsexp.report import charts


@pytest.fixture(scope="module")
def push() -> ExperimentReadout:
    """The push_reminders experiment of the demo data, as the readout page renders it."""
    return build_readout(load_dataset(DEMO_DATA)).experiments["push_reminders"]


def layer_data(spec: dict) -> list[dict]:
    """The rows Altair embedded in a spec (one inline dataset)."""
    (rows,) = spec["datasets"].values()
    return rows


def test_forest_plot_panels_by_role_north_star_first(push: ExperimentReadout) -> None:
    metrics = push.treatments[0].metrics
    spec = charts.forest_plot(metrics, 0.05).to_dict()
    assert spec["facet"]["row"]["sort"] == [
        "North Star",
        "Leading indicators",
        "Vanity metrics",
        "Guardrails",
    ]
    assert spec["resolve"]["scale"]["y"] == "independent"
    rows = layer_data(spec)
    assert [r["label"] for r in rows] == [m.label for m in metrics]
    assert rows[0]["role_label"] == "North Star"


def test_forest_plot_colours_by_adjusted_outcome_and_draws_the_adjusted_interval(
    push: ExperimentReadout,
) -> None:
    metrics = push.treatments[0].metrics
    spec = charts.forest_plot(metrics, 0.01).to_dict()
    layers = spec["spec"]["layer"]
    point = next(lay for lay in layers if lay["mark"]["type"] == "point")
    color = point["encoding"]["color"]
    assert color["scale"]["domain"] == ["Better", "Worse", "Not significant"]
    assert color["scale"]["range"] == [charts.HEX["green"], charts.HEX["red"], charts.HEX["gray"]]
    assert "0.01" in color["title"]
    rows = {r["label"]: r for r in layer_data(spec)}
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
    rows = layer_data(charts.forest_plot(metrics, 0.05).to_dict())
    threshold = push.treatments[0].north_star.practical_threshold
    banded = [r for r in rows if r["band_low"] is not None]
    assert [r["role_label"] for r in banded] == ["North Star"]
    assert (banded[0]["band_low"], banded[0]["band_high"]) == (-threshold, threshold)


def test_forest_plot_falls_back_to_plain_intervals_and_skips_missing_effects() -> None:
    base = {
        "role": "north_star",
        "rel_effect": 0.03,
        "rel_ci_low": 0.01,
        "rel_ci_high": 0.05,
        "p_adjusted": 0.01,
        "significant": True,
    }
    rows = [
        result(**base, label="North"),
        result(
            **base | {"label": "Blank", "role": "vanity", "rel_effect": None, "significant": None}
        ),
    ]
    data = layer_data(charts.forest_plot(rows, 0.05).to_dict())
    assert [r["label"] for r in data] == ["North"]
    assert (data[0]["ci_low"], data[0]["ci_high"]) == (0.01, 0.05)
    assert data[0]["lift_text"] == "+3.0%"


def test_timeline_chart_band_line_and_reference_lines() -> None:
    timeline = pl.DataFrame(
        {
            "date": [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)],
            "n_control": [10, 20, 30],
            "n_treatment": [11, 21, 31],
            "rel_effect": [0.05, None, 0.03],
            "rel_ci_low": [-0.02, None, 0.01],
            "rel_ci_high": [0.12, None, 0.05],
            "p_value": [0.2, None, 0.01],
        }
    )
    spec = charts.timeline_chart(timeline, 0.02, 0.05).to_dict()
    marks = [lay["mark"]["type"] for lay in spec["layer"]]
    assert marks == ["area", "rule", "line"]
    band, rules, line = spec["layer"]
    assert band["encoding"]["y"]["field"] == "rel_ci_low"
    assert band["encoding"]["y2"]["field"] == "rel_ci_high"
    data = spec["datasets"]
    rule_rows = data[rules["data"]["name"]]
    assert sorted(r["y"] for r in rule_rows) == [-0.02, 0.0, 0.02]
    line_rows = data[line["data"]["name"]]
    assert [r["units"] for r in line_rows] == [21, 61]
    assert line_rows[0]["effect_text"] == "+5.0% [−2.0%, +12.0%]"
    assert line["mark"]["point"] is True


def test_every_verdict_has_a_colour() -> None:
    assert set(charts.VERDICT_COLORS) == set(VERDICTS)
    assert all(c in charts.HEX for c in charts.VERDICT_COLORS.values())
