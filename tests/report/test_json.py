"""The readout JSON's per-metric and per-date fields: NaN and infinities become null, finite
numbers stay exactly as they are (the writers check a record's numbers at once before any
value-by-value pass)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from pathlib import Path

import pytest

from nsexp.analysis.readout import TreatmentReadout
from nsexp.analysis.results import JSON_FIELDS, TIMELINE_FIELDS, MetricResult, TimelinePoint
from nsexp.report.json import (
    dumps,
    dumps_pieces,
    dumps_utf8,
    metric_dict,
    timeline_list,
    treatment_dict,
)

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
    # what the CLI hands orjson (plain=False) keeps NaN and infinities: the same bytes
    assert dumps_utf8(metric_dict(m, plain=False)) == dumps_utf8(doc)


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


def test_timeline_points_written_by_orjson_are_the_plain_lists_bytes() -> None:
    # the CLI hands orjson the TimelinePoints themselves (readout_dict(plain=False)): the same
    # bytes as the plain dicts, NaN and infinities as null, dates in ISO form
    day = dt.date(2026, 3, 2)
    points = (
        TimelinePoint(day, 10, 11, 0.05, -0.02, 0.12, 0.2, engine="frequentist"),
        TimelinePoint(dt.date(1, 1, 9), 20, 21, math.inf, -math.inf, math.nan, 1e-300),
        TimelinePoint(day, 0, 0),
    )
    t = TreatmentReadout("b", "flat", "flat", (), (MetricResult(**BASE),), timeline=points)
    plain = dumps_utf8(treatment_dict(t))
    assert dumps_utf8(treatment_dict(t, plain=False)) == plain
    assert b'"rel_effect": null' in plain and b'"date": "0001-01-09"' in plain
    assert json.loads(plain)["north_star_timeline"] == json.loads(json.dumps(timeline_list(t)))


def test_dumps_utf8_is_dumps_encoded() -> None:
    doc = {"a": [1.5, None, "−日\U0001f600"], "b": {"c": math.nan}}
    assert dumps_utf8(doc) == dumps(doc).encode()
    assert dumps(doc).endswith("}\n")


@pytest.mark.parametrize(
    ("head", "items"),
    [
        ({"a": 1, "b": [1, {"x": "y\nz"}]}, []),  # no items: an empty list
        ({"a": 1}, [{"k": [1, 2, {}], "z": []}, 3, "−日\n", None, {"n": math.nan}]),
        ({}, [[], {}]),
        ({"experiments": 1, "z": 2}, [1]),  # the key not last: written whole
    ],
)
def test_dumps_pieces_join_to_the_whole_document(head, items) -> None:
    pieces = list(dumps_pieces(head, "experiments", iter(items)))
    assert b"".join(pieces) == dumps_utf8({**head, "experiments": items})


def test_the_cli_readout_json_is_the_whole_document_in_pieces(tmp_path) -> None:
    """The CLI writes a readout one experiment at a time: the same bytes as dumps_utf8 of
    readout_dict (the decisions recorded added alike)."""
    from nsexp.analysis.settings import Settings
    from nsexp.cli.main import main
    from nsexp.io import load_dataset
    from nsexp.learning.history import learned_readout
    from nsexp.report.json import readout_dict
    from nsexp.store.decisions import latest, with_recorded

    data = Path(__file__).parents[2] / "data"
    out = tmp_path / "out.json"
    with out.open("wb") as sink, contextlib.redirect_stdout(io.TextIOWrapper(sink)) as stream:
        assert main(["readout", str(data), "--format", "json"]) == 0
        stream.flush()
    doc = readout_dict(learned_readout(load_dataset(data), Settings()), plain=False)
    found = latest(data)
    doc["experiments"] = [with_recorded(e, found) for e in doc["experiments"]]
    assert out.read_bytes() == dumps_utf8(doc)
