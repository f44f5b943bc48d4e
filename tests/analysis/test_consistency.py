"""One truth per figure: over the demo data, ASOS and generated cases, under both engines, with
and without sequential testing and CUPED, every surface quotes the result model's own figures.

- every quoted point lies inside the interval quoted for it;
- `significant` holds exactly when the deciding interval excludes zero (and the metric may
  decide at all);
- every interval in a reason, the Markdown table and the CSV equals the model's, to the
  printed precision;
- an invalid experiment marks nothing better, worse or safe, anywhere.
"""

from __future__ import annotations

import io
import re
from itertools import product
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import DEMO_DATA, REPO, make_units, write_frame, write_metrics

from nsexp import format as fmt
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset, load_dataset
from nsexp.report.csv import readout_csv
from nsexp.report.json import experiment_dict, experiment_from_dict
from nsexp.report.markdown import experiment_markdown
from nsexp.report.notes import card_notes, readout_notes

ASOS = REPO.parent / "shared/data/asos/asos_digital_experiments_dataset.csv"
ASOS_CATALOG = REPO / "tests/fixtures/asos/metrics.toml"
SETTINGS = [
    Settings(engine=engine, sequential=sequential, cuped=cuped)
    for engine, sequential, cuped in product(
        ("frequentist", "bayesian"), (False, True), (None, False)
    )
]
INTERVAL = re.compile(r"\[[^\[\]]*%[^\[\]]*\]")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Edge cases nobody tuned for: a tiny test, a big lift, few conversions, a negative-mean
    metric, and an experiment whose split is off (invalid)."""
    root = tmp_path_factory.mktemp("generated")
    tiny = make_units(5, {"control": 12, "treatment": 14}, experiment="tiny")
    big = make_units(6, {"control": 800, "treatment": 800}, {"treatment": {"clicks": 2.5}}, "big")
    skew = make_units(7, {"control": 2000, "treatment": 1400}, experiment="skewed")
    rare = make_units(8, {"control": 900, "treatment": 900}, experiment="rare").with_columns(
        pl.Series("errors", np.r_[np.zeros(897), np.ones(3), np.zeros(895), np.ones(5)])
    )
    frames = [tiny, big, skew, rare]
    units = pl.concat([f.with_columns(pl.col("errors").cast(pl.Int64)) for f in frames])
    units = units.with_columns((pl.col("lessons") - 20.0).alias("lessons"))  # negative means
    write_frame(units, root / "units.parquet")
    write_metrics(root)
    return root


def readouts(demo: Dataset, generated: Path) -> list[tuple[str, Readout]]:
    """Every data set read out under every combination of settings."""
    data = {"demo": demo, "generated": load_dataset(generated)}
    if ASOS.is_file():
        data["asos"] = load_dataset(ASOS, ASOS_CATALOG)
    return [
        (f"{name} {s.engine} sequential={s.sequential} cuped={s.cuped}", build_readout(d, s))
        for name, d in data.items()
        for s in SETTINGS
    ]


@pytest.fixture(scope="module")
def cases(demo_dataset: Dataset, generated: Path) -> list[tuple[str, Readout]]:
    """All readouts of the suite, computed once."""
    return readouts(demo_dataset, generated)


def metrics_of(readout: Readout) -> list[tuple[str, MetricResult]]:
    """(verdict, metric) for every metric of every treatment."""
    return [
        (t.verdict, m)
        for e in readout.experiments.values()
        for t in e.treatments
        for m in t.metrics
    ]


def test_every_point_lies_inside_its_interval(cases: list[tuple[str, Readout]]) -> None:
    checked = 0
    for name, readout in cases:
        for _, m in metrics_of(readout):
            low, high = m.decision_interval
            point = m.decision_effect
            if None in (low, high, point):
                continue
            assert low - 1e-12 <= point <= high + 1e-12, (name, m.experiment, m.metric)
            if m.equivalence_ci_low is not None and m.equivalence_ci_high is not None:
                assert m.equivalence_ci_low - 1e-12 <= point <= m.equivalence_ci_high + 1e-12
            checked += 1
    assert checked > 1000


def test_significant_exactly_when_the_deciding_interval_excludes_zero(
    cases: list[tuple[str, Readout]],
) -> None:
    for name, readout in cases:
        for _, m in metrics_of(readout):
            low, high = m.decision_interval if m.rel_effect is not None else m.decision_abs_interval
            if low is None or high is None:
                assert not m.significant, (name, m.experiment, m.metric)
                continue
            excludes = low > 0 or high < 0
            assert bool(m.significant) == (excludes and bool(m.decisive)), (
                name,
                m.experiment,
                m.variant,
                m.metric,
                (low, high),
            )


def test_reasons_quote_only_the_models_intervals(cases: list[tuple[str, Readout]]) -> None:
    for name, readout in cases:
        for e in readout.experiments.values():
            for t in e.treatments:
                allowed = set()
                for m in t.metrics:
                    allowed.add(fmt.pct_ci(*m.decision_interval))
                    allowed.add(fmt.pct_ci(m.equivalence_ci_low, m.equivalence_ci_high))
                    low, high = m.decision_abs_interval
                    allowed.add(f"[{fmt.effect(low, m.type)}, {fmt.effect(high, m.type)}]")
                for reason in t.reasons:
                    if reason.kind == "history":
                        continue  # correlation intervals, not a metric's lift
                    for quoted in INTERVAL.findall(reason.text):
                        assert quoted in allowed, (name, e.id, t.variant, quoted, reason)


def test_markdown_and_csv_carry_the_json_figures(cases: list[tuple[str, Readout]]) -> None:
    for name, readout in cases:
        for e in list(readout.experiments.values())[:12]:
            text = experiment_markdown(e, [], fingerprint="")
            pinned = experiment_from_dict(experiment_dict(e), e.settings)  # what a pin renders
            assert experiment_markdown(pinned, [], fingerprint="") == text
            table = [ln.split(" | ") for ln in text.splitlines() if ln.startswith("| ")]
            cells = {row[6] for row in table if len(row) > 6}
            for t in e.treatments:
                for m in t.metrics:
                    assert fmt.pct_ci(*m.decision_interval) in cells, (name, e.id, m.metric)
            ids = {c: pl.String for c in ("experiment", "variant", "metric")}
            frame = pl.read_csv(
                io.StringIO(readout_csv(e)), schema_overrides=ids, infer_schema_length=None
            )
            for t in e.treatments:
                for m in t.metrics:
                    row = frame.filter(
                        (pl.col("variant") == t.variant) & (pl.col("metric") == m.metric)
                    ).row(0, named=True)
                    for field in ("rel_effect", "rel_ci_adj_low", "rel_ci_adj_high", "p_adjusted"):
                        want = getattr(m, field)
                        assert (row[field] is None) == (want is None), (name, field)
                        if want is not None:
                            assert row[field] == pytest.approx(want, rel=1e-12, abs=1e-300)


def test_invalid_experiments_mark_nothing(cases: list[tuple[str, Readout]]) -> None:
    found = 0
    for name, readout in cases:
        for e in readout.experiments.values():
            for t in e.treatments:
                if t.verdict != "invalid":
                    continue
                found += 1
                for m in t.metrics:
                    assert not m.better and not m.worse and not m.flat, (name, e.id, m.metric)
                    assert m.guardrail_status not in ("safe", "breached"), (name, e.id)
                    assert m.outcome == "untrusted" and m.moved is None
                assert card_notes(t) == [] and readout_notes(t) == []
            if any(t.verdict == "invalid" for t in e.treatments):
                text = experiment_markdown(e, [], fingerprint="")
                table_rows = [ln for ln in text.splitlines() if ln.startswith("| ")]
                assert not any("✓" in ln or "✗" in ln for ln in table_rows), (name, e.id)
    assert found >= len(SETTINGS)  # the demo's referral_banner and the skewed test at least


def test_results_are_equal_and_hash_alike_when_built_twice() -> None:
    """The app caches charts on results by value: two builds of one readout must agree."""
    first, second = (build_readout(load_dataset(DEMO_DATA)) for _ in range(2))
    a = first.experiments["push_reminders"].treatments[0].metrics
    b = second.experiments["push_reminders"].treatments[0].metrics
    assert a == b and hash(a) == hash(b)
    other = first.experiments["dark_mode"].treatments[0].metrics
    assert hash(a) != hash(other)
