"""Targets on the tree: metrics.toml's target keys, and what shipped comparisons delivered,
checked against a hand computation from the readout's published JSON."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pytest

from nsexp.analysis.settings import Settings
from nsexp.config.catalog import parse_catalog
from nsexp.errors import InputError
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout
from nsexp.learning.impact import compound
from nsexp.learning.targets import Shipped, improvement, target_progress
from nsexp.report.json import readout_dict

Z95 = 1.959963984540054  # the 97.5% normal quantile


def _catalog(**keys: object) -> dict:
    return {
        "metrics": {
            "ns": {"role": "north_star", "type": "mean", **keys},
            "clicks": {"role": "vanity", "type": "mean"},
        }
    }


def test_target_keys_are_read_as_a_relative_improvement_between_two_dates() -> None:
    cat = parse_catalog(
        _catalog(target=0.05, target_from=dt.date(2026, 7, 1), target_by="2026-12-31")
    )
    ns = cat.metrics["ns"]
    assert (ns.target, ns.target_from, ns.target_by) == (
        0.05,
        dt.date(2026, 7, 1),
        dt.date(2026, 12, 31),
    )
    assert cat.metrics["clicks"].target is None


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ({"target": 0.05, "target_from": "2026-07-01"}, "but not target_by"),
        ({"target_by": "2026-07-01"}, "but not target"),
        (
            {"target": -0.05, "target_from": "2026-07-01", "target_by": "2026-08-01"},
            "target = -0.05",
        ),
        ({"target": True, "target_from": "2026-07-01", "target_by": "2026-08-01"}, "target = True"),
        (
            {"target": 0.05, "target_from": "July", "target_by": "2026-08-01"},
            "target_from = 'July'",
        ),
        ({"target": 0.05, "target_from": "2026-09-01", "target_by": "2026-08-01"}, "before"),
    ],
)
def test_bad_target_keys_get_one_clear_message(keys: dict, says: str) -> None:
    with pytest.raises(InputError) as err:
        parse_catalog(_catalog(**keys))
    assert says in err.value.message
    assert "[metrics.ns]" in err.value.message


def test_a_lower_is_better_metric_improves_by_the_negated_change() -> None:
    change = compound(np.array([-0.02, -0.03]), np.array([0.01, 0.005]))
    better = improvement(change, -1)
    assert better.combined == pytest.approx(1 - 0.98 * 0.97, abs=1e-15)
    assert (better.low, better.high) == (-change.high, -change.low)
    assert improvement(change, 1) is change


def _shrunk_by_hand(est: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normal-normal empirical Bayes by the method of moments, written out."""
    mu = est.sum() / len(est)
    tau2 = max(((est - mu) ** 2).sum() / (len(est) - 1) - (se**2).sum() / len(se), 0.0)
    weight = tau2 / (tau2 + se**2)
    return mu + weight * (est - mu), np.sqrt(weight * se**2)


def test_delivered_equals_a_hand_computation_over_the_published_lifts(
    demo_dataset: Dataset,
) -> None:
    dataset = demo_dataset
    readout = learned_readout(dataset, Settings())
    ns = readout.catalog.north_star
    rows = [
        (e.id, t.variant, t.north_star.rel_effect, t.north_star.rel_se)
        for e in readout.experiments.values()
        for t in e.treatments
        if t.verdict != "invalid" and t.north_star.rel_se
    ]
    est = np.array([r[2] for r in rows], dtype=float)
    se = np.array([r[3] for r in rows], dtype=float)
    post, post_sd = _shrunk_by_hand(est, se)
    chosen = {("streak_freeze", "freeze"), ("push_reminders", "daily")}
    day = dt.date(2026, 8, 15)
    shipped = {k: Shipped(day, "recommended") for k in chosen}
    # a shipped comparison outside the target's dates does not count
    shipped[("placement_test", "adaptive")] = Shipped(dt.date(2027, 1, 5), "recorded")
    progress = {p.metric.id: p for p in target_progress(readout.judgement, shipped)}
    assert set(progress) == {
        m.id for m in readout.catalog.metrics.values() if m.target is not None
    }  # a node without a target shows none
    got = progress[ns.id]
    idx = [i for i, r in enumerate(rows) if (r[0], r[1]) in chosen]
    lifts, sds = post[idx], post_sd[idx]
    assert got.delivered.count == 2
    assert got.shipped == tuple(sorted(chosen))
    assert got.recorded == 0
    assert got.delivered.combined == pytest.approx(np.prod(1 + lifts) - 1, abs=1e-12)
    log_var = [(s / (1 + x)) ** 2 for x, s in zip(lifts, sds, strict=True)]
    log_sd = math.sqrt(sum(log_var))
    # the log of a product of independent normal lifts: mean sum[log(1 + m) - var/2]
    centre = sum(math.log1p(x) for x in lifts) - sum(log_var) / 2
    assert got.delivered.low == pytest.approx(math.expm1(centre - Z95 * log_sd), abs=1e-12)
    assert got.delivered.high == pytest.approx(math.expm1(centre + Z95 * log_sd), abs=1e-12)
    assert got.share == pytest.approx(got.delivered.combined / ns.target, abs=1e-15)


def test_predicted_compounds_the_running_predictions(demo_dataset: Dataset) -> None:
    dataset = demo_dataset
    readout = learned_readout(dataset, Settings())
    doc = readout_dict(readout)
    key = ("streak_society", "club")
    exp = next(e for e in doc["experiments"] if e["experiment"] == key[0])
    pred = next(c for c in exp["comparisons"] if c["variant"] == key[1])["north_star_predicted"]
    record = readout.experiments[key[0]].treatment(key[1]).learned
    assert record is not None and record.prediction is not None
    ns = target_progress(readout.judgement, {}, {key: record.prediction})[0]
    assert ns.metric.role == "north_star" and ns.predicted is not None
    assert ns.delivered.count == 0 and ns.delivered.combined == 0.0
    z = {0.95: Z95}[pred["level"]]
    sd = (pred["rel_ci_high"] - pred["rel_ci_low"]) / (2 * z) / (1 + pred["rel_effect"])
    assert ns.predicted.combined == pytest.approx(pred["rel_effect"], abs=1e-12)
    centre = math.log1p(pred["rel_effect"]) - sd**2 / 2
    assert ns.predicted.low == pytest.approx(math.expm1(centre - Z95 * sd), abs=1e-12)
    assert json.dumps(ns.predicted_from) == json.dumps([list(key)])
