"""The readout as of a date, built once (issue 20 item 1): the North Star timeline's point at day
d is the North Star figure of the readout of the data up to d, so its last point is the card's;
an as-of readout equals the readout of the data truncated by hand; bad dates are refused.

Over the demo, under both engines, CUPED on and off and sequential on and off. The middle point
is checked against the independent path: `learned_readout` of `as_of(dataset, d)` (totals
collapsed by Dataset.totals and corrected per family there, not the timeline's running totals
and per-date families), with the full data's learning passed in, so that under the Bayesian
engine both use the prior the readout on view uses.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from itertools import product
from pathlib import Path

import polars as pl
import pytest
from frozen import differences
from helpers import DEMO_DATA, CliRunner, make_units, write_frame, write_metrics

from nsexp.analysis.asof import UNIT_ROWS_CAVEAT, as_of, date_span, parse_day
from nsexp.analysis.readout import Readout, _status, build_readout
from nsexp.analysis.results import MetricResult, TimelinePoint
from nsexp.analysis.settings import Settings
from nsexp.config.experiments import ExperimentInfo
from nsexp.errors import InputError
from nsexp.io import Dataset, load_dataset
from nsexp.io.dataset import Experiment
from nsexp.learning.history import Learning, learned_readout, readout_learning
from nsexp.report.json import experiment_dict

SETTINGS = [
    Settings(engine=engine, sequential=sequential, cuped=cuped)
    for engine, sequential, cuped in product(
        ("frequentist", "bayesian"), (False, True), (None, False)
    )
]
IDS = [f"{s.engine}-{'seq' if s.sequential else 'fixed'}-cuped_{s.cuped}" for s in SETTINGS]
TOL = 1e-12


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Dataset:
    return demo_dataset


Learned = Callable[[Settings], tuple[Learning, Readout]]


@pytest.fixture(scope="module")
def learned(demo: Dataset) -> Learned:
    """The full data's learning and its learned readout under some settings, built once for
    the module: the last-point and the middle-point checks read the same readout."""
    built: dict[Settings, tuple[Learning, Readout]] = {}

    def get(settings: Settings) -> tuple[Learning, Readout]:
        if settings not in built:
            learning = readout_learning(demo, settings)
            built[settings] = learning, learned_readout(demo, settings, learning=learning)
        return built[settings]

    return get


def same(a: float | None, b: float | None) -> bool:
    """Equal to TOL, or both undefined."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL * max(1.0, abs(b))


def figures(x: TimelinePoint | MetricResult) -> tuple[float | None, ...]:
    """The figure a card quotes: the decision effect, its interval and the adjusted p."""
    low, high = x.decision_interval
    return x.decision_effect, low, high, x.p_adjusted


def dated_comparisons(readout: Readout) -> list[tuple[str, str]]:
    return [
        (eid, t.variant)
        for eid, e in readout.experiments.items()
        for t in e.treatments
        if t.timeline
    ]


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_the_last_point_is_the_card(learned: Learned, settings: Settings) -> None:
    """Every dated comparison's last point quotes the card's North Star figure."""
    _, readout = learned(settings)
    compared = dated_comparisons(readout)
    assert len(compared) >= 10
    for eid, variant in compared:
        t = readout.experiments[eid].treatment(variant)
        last, card = t.timeline[-1], t.north_star
        assert last.date == readout.experiments[eid].last_date
        assert (last.n_control, last.n_treatment) == (card.n_control, card.n_treatment)
        assert all(same(a, b) for a, b in zip(figures(last), figures(card), strict=True)), (
            eid,
            variant,
            figures(last),
            figures(card),
        )


@pytest.mark.parametrize("settings", SETTINGS, ids=IDS)
def test_a_middle_point_is_the_readout_as_of_that_day(
    demo: Dataset, learned: Learned, settings: Settings
) -> None:
    """Each dated experiment's middle date: the point there equals the North Star of the
    readout of the data up to that date (every treatment, so each day's family is checked)."""
    learning, readout = learned(settings)
    middles: dict[dt.date, list[str]] = {}
    for eid, e in readout.experiments.items():
        points = e.treatments[0].timeline
        if points:
            middles.setdefault(points[len(points) // 2].date, []).append(eid)
    assert len(middles) >= 5
    checked = 0
    for day, eids in middles.items():
        then = learned_readout(as_of(demo, day), settings, learning=learning)
        for eid in eids:
            for t in readout.experiments[eid].treatments:
                point = next(p for p in t.timeline if p.date == day)
                ns = then.experiments[eid].treatment(t.variant).north_star
                assert all(same(a, b) for a, b in zip(figures(point), figures(ns), strict=True))
                assert same(point.p_value, ns.p_value)
                checked += 1
    assert checked >= 10


def test_the_issue_comparisons_end_on_the_card(demo: Dataset) -> None:
    """push_reminders/daily and placement_test under the default settings (CUPED on): the
    chart's last point is no longer the unadjusted figure, and reads as the card."""
    readout = build_readout(demo)
    plain = build_readout(demo, Settings(cuped=False))
    for eid, variant in (("push_reminders", "daily"), ("placement_test", "adaptive")):
        t = readout.experiments[eid].treatment(variant)
        last = t.timeline[-1]
        without = plain.experiments[eid].treatment(variant).north_star
        assert t.north_star.variance_reduction is not None and t.north_star.variance_reduction > 0
        assert same(last.decision_effect, t.north_star.decision_effect)
        assert not same(last.decision_effect, without.decision_effect)


def truncated_by_hand(source: Path, target: Path, day: dt.date) -> Path:
    """A copy of the demo directory whose dated rows after `day` are removed with Polars, file
    by file (undated files copied whole; a file left without rows is left out)."""
    target.mkdir()
    for path in source.iterdir():
        if path.suffix == ".toml":
            (target / path.name).write_bytes(path.read_bytes())
            continue
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        if "date" in frame.columns:
            date = pl.col("date").cast(pl.String).str.to_date()
            frame = frame.filter(date <= day)
        if frame.height == 0:
            continue
        if path.suffix == ".parquet":
            frame.write_parquet(target / path.name)
        else:
            frame.write_csv(target / path.name)
    return target


@pytest.mark.parametrize(
    ("day", "settings"),
    [
        (dt.date(2026, 7, 30), Settings()),
        (dt.date(2026, 9, 20), Settings(engine="bayesian", sequential=True)),
        (dt.date(2026, 10, 1), Settings(cuped=False, correction="bh")),
    ],
)
def test_as_of_equals_the_data_truncated_by_hand(
    demo: Dataset, tmp_path: Path, day: dt.date, settings: Settings
) -> None:
    """Every figure, verdict, reason and timeline point of every experiment of the readout as
    of a day equals that of the readout of the files cut at that day by hand."""
    by_hand = build_readout(
        load_dataset(truncated_by_hand(DEMO_DATA, tmp_path / "cut", day)), settings
    )
    then = build_readout(as_of(demo, day), settings)
    assert then.as_of == day and by_hand.as_of is None
    assert list(then.experiments) == list(by_hand.experiments)
    for eid in then.experiments:
        ours, theirs = (
            experiment_dict(then.experiments[eid]),
            experiment_dict(by_hand.experiments[eid]),
        )
        assert differences(theirs, ours) == [] and differences(ours, theirs) == [], eid
    dated = [e for e in then.experiments.values() if e.last_date is not None]
    assert dated and max(e.last_date for e in dated if e.last_date) == day


def test_undated_experiments_are_kept_and_late_ones_dropped(demo: Dataset) -> None:
    """Past experiments without dates stay whole; one that started after the day is absent;
    a three-arm experiment keeps its arms."""
    day = dt.date(2026, 7, 25)
    then = as_of(demo, day)
    past = [e for e in demo.experiments if e.startswith("past_")]
    assert past and all(e in then.experiments for e in past)
    assert "ai_tutor_beta" not in then.experiments  # starts 2026-09-07
    assert (
        then.experiments["push_reminders"].variants == demo.experiments["push_reminders"].variants
    )
    assert then.units.filter(pl.col("date") > day).height == 0
    assert then.summary["date"].drop_nulls().max() == day


def test_an_undated_dataset_or_an_early_day_is_refused(tmp_path: Path, demo: Dataset) -> None:
    write_frame(make_units(3, {"control": 200, "treatment": 200}), tmp_path / "x.csv")
    write_metrics(tmp_path)
    with pytest.raises(InputError, match=r"no dates.*add a date column"):
        as_of(load_dataset(tmp_path), dt.date(2026, 1, 1))
    span = date_span(demo)
    assert span is not None
    first, last = span
    with pytest.raises(InputError, match=f"before the data's first date, {first}.*to {last}"):
        as_of(demo, first - dt.timedelta(days=1))
    assert as_of(demo, first).summary["date"].drop_nulls().unique().to_list() == [first]


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "", "2026/08/10"])
def test_parse_day_refuses_what_is_not_an_iso_date(text: str) -> None:
    with pytest.raises(InputError, match=r"is not a date.*ISO date"):
        parse_day(text)


def test_cli_as_of(tmp_path: Path, run_cli: CliRunner) -> None:
    """`--as-of`: the JSON says the day and holds only what had started; the table and the
    Markdown say what an as-of readout is; a bad date, an early day and an experiment that had
    not started are one error line each, exit 2."""
    code, out, err = run_cli("readout", DEMO_DATA, "--as-of", "2026-08-10", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["as_of"] == "2026-08-10"
    ids = {e["experiment"] for e in doc["experiments"]}
    assert {"push_reminders", "referral_banner"} <= ids and "ai_tutor_beta" not in ids
    for e in doc["experiments"]:
        assert e["last_date"] is None or e["last_date"] <= "2026-08-10"
    for form in ("table", "markdown"):
        code, out, _ = run_cli("readout", DEMO_DATA, "--as-of", "2026-08-10", "--format", form)
        assert code == 0 and "As of 2026-08-10" in out and UNIT_ROWS_CAVEAT in out
    code, out, _ = run_cli("readout", DEMO_DATA, "--format", "json")
    assert json.loads(out)["as_of"] is None
    for args, message in (
        (("--as-of", "2026-02-30"), "--as-of '2026-02-30' is not a date"),
        (("--as-of", "2020-01-01"), "before the data's first date, 2026-07-06"),
        (
            ("--as-of", "2026-08-10", "--experiment", "ai_tutor_beta"),
            "no experiment 'ai_tutor_beta' in the data up to 2026-08-10",
        ),
    ):
        code, out, err = run_cli("readout", DEMO_DATA, *args)
        assert code == 2 and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_the_bootstrap_of_an_as_of_readout_resamples_the_units_exposed_by_then(
    demo: Dataset, tmp_path: Path
) -> None:
    """The bootstrap goes back to the unit files: as of a day it resamples only the units
    exposed by then, as on the files cut by hand (and not those of the whole run)."""
    day, eid, settings = dt.date(2026, 7, 28), "push_reminders", Settings(bootstrap=100)
    cut = load_dataset(truncated_by_hand(DEMO_DATA, tmp_path / "cut", day))
    ours = build_readout(as_of(demo, day), settings, experiment=eid).experiments[eid]
    theirs = build_readout(cut, settings, experiment=eid).experiments[eid]
    whole = build_readout(demo, settings, experiment=eid).experiments[eid]
    ns = [e.treatment("daily").north_star for e in (ours, theirs, whole)]
    assert ns[0].rel_ci_boot_low is not None
    assert same(ns[0].rel_ci_boot_low, ns[1].rel_ci_boot_low)
    assert same(ns[0].rel_ci_boot_high, ns[1].rel_ci_boot_high)
    assert not same(ns[0].rel_ci_boot_low, ns[2].rel_ci_boot_low)


def test_a_concluded_experiment_was_running_as_of_a_day_before_its_end() -> None:
    """As of a day before its `end`, an experiment experiments.toml calls concluded still had
    time (the review's `changed` compares its recommendation then and now by today's rules)."""
    info = ExperimentInfo("x", status="concluded", end="2026-09-30")
    exp = Experiment("x", info, ("control", "b"), "control")
    last = dt.date(2026, 9, 30)
    assert _status(exp, last, last) == "concluded"
    assert _status(exp, last, last, as_of=dt.date(2026, 9, 29)) == "running"
    assert _status(exp, last, last, as_of=dt.date(2026, 9, 30)) == "concluded"
    no_end = Experiment("y", ExperimentInfo("y", status="concluded"), ("control", "b"), "control")
    assert _status(no_end, last, last, as_of=dt.date(2026, 9, 1)) == "concluded"
