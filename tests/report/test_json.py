"""The readout JSON's per-metric and per-date fields: NaN and infinities become null, finite
numbers stay exactly as they are (the writers check a record's numbers at once before any
value-by-value pass)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from nsexp.analysis.readout import TreatmentReadout
from nsexp.analysis.results import JSON_FIELDS, TIMELINE_FIELDS, MetricResult, TimelinePoint
from nsexp.report.json import metric_dict, timeline_list

BASE = {
    "experiment": "e",
    "variant": "b",
    "metric": "m",
    "label": "M",
    "role": "north_star",
    "type": "mean",
    "direction": "increase",
    "practical_threshold": 0.01,
    "n_control": 100,
    "n_treatment": 101,
}


@pytest.mark.parametrize(
    ("value", "published"),
    [
        (0.25, 0.25),
        (0.0, 0.0),
        (None, None),
        (math.inf, None),
        (-math.inf, None),
        (math.nan, None),
        (1e308, 1e308),  # finite, though two of them overflow a sum: kept
    ],
)
def test_metric_dict_publishes_finite_numbers_and_null_otherwise(value, published) -> None:
    m = MetricResult(**BASE, rel_effect=value, days_needed=value, mde=1e308, p_value=0.5)
    doc = metric_dict(m)
    assert list(doc) == list(JSON_FIELDS)
    assert doc["rel_effect"] == published and doc["days_needed"] == published
    assert doc["mde"] == 1e308 and doc["p_value"] == 0.5
    assert doc["n_control"] == 100 and doc["label"] == "M"


def test_timeline_list_publishes_each_date_with_finite_numbers() -> None:
    day = dt.date(2026, 3, 2)
    points = (
        TimelinePoint(day, 10, 11, 0.05, -0.02, 0.12, 0.2, engine="frequentist"),
        TimelinePoint(day + dt.timedelta(days=1), 20, 21, math.inf, -math.inf, math.nan, 0.3),
    )
    m = MetricResult(**BASE)
    t = TreatmentReadout("b", "flat", "flat", (), (m,), timeline=points)
    first, second = timeline_list(t)
    assert list(first) == ["date", *TIMELINE_FIELDS]
    assert first["date"] == "2026-03-02" and first["rel_effect"] == 0.05
    assert first["rel_ci_low"] == -0.02 and first["engine"] == "frequentist"
    assert second["date"] == "2026-03-03" and second["n_control"] == 20
    assert second["rel_effect"] is None and second["rel_ci_low"] is None
    assert second["rel_ci_high"] is None and second["p_value"] == 0.3
