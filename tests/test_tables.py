"""nsexp.report.tables: the frames the pages show, checked against the readout they come from."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from conftest import DEMO_DATA, make_units, write_frame, write_metrics

from nsexp.analysis.readout import Readout, Settings, build_readout
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.io import load_dataset
from nsexp.report import tables
from nsexp.report.json import experiment_dict


@pytest.fixture(scope="module")
def demo() -> Readout:
    """The bundled demo data read out with the default settings."""
    return build_readout(load_dataset(DEMO_DATA))


def metric(role: str = "leading", **fields: object) -> dict:
    """One metric dict as experiment_dict (or a pin) gives it; fields override the defaults."""
    base = {
        "metric": "m",
        "label": "M",
        "role": role,
        "type": "mean",
        "direction": "increase",
        "practical_threshold": 0.02,
        "n_control": 100,
        "n_treatment": 100,
        "control_mean": 2.0,
        "treatment_mean": 2.2,
        "abs_effect": 0.2,
        "abs_ci_low": 0.1,
        "abs_ci_high": 0.3,
        "rel_effect": 0.1,
        "rel_ci_low": 0.05,
        "rel_ci_high": 0.15,
        "p_value": 0.0001,
        "p_adjusted": 0.0004,
        "significant": True,
        "note": None,
    }
    return base | fields


@pytest.mark.parametrize(
    ("direction", "rel_effect", "significant", "expected"),
    [
        ("increase", 0.1, True, "better"),
        ("increase", -0.1, True, "worse"),
        ("decrease", -0.1, True, "better"),
        ("decrease", 0.1, True, "worse"),
        ("increase", 0.1, False, "not_significant"),
        ("increase", None, None, "no_estimate"),
    ],
)
def test_outcome_follows_the_metric_direction(
    direction: str, rel_effect: float | None, significant: bool | None, expected: str
) -> None:
    m = metric(direction=direction, rel_effect=rel_effect, significant=significant)
    frame = tables.metrics_frame({"metrics": [m]})
    assert frame["outcome"].to_list() == [expected]


def test_outcome_agrees_with_the_readouts_better_and_worse(demo: Readout) -> None:
    results = tables.with_outcome(demo.results)
    assert results.filter(pl.col("better"))["outcome"].unique().to_list() == ["better"]
    assert results.filter(pl.col("worse"))["outcome"].unique().to_list() == ["worse"]
    neither = results.filter(
        ~pl.col("better") & ~pl.col("worse") & pl.col("rel_effect").is_not_null()
    )
    assert set(neither["outcome"]) == {"not_significant"}


def test_metrics_frame_of_an_old_pin_without_adjusted_intervals() -> None:
    frame = tables.metrics_frame({"metrics": [metric(role="north_star"), metric()]})
    assert frame.height == 2
    assert frame["rel_ci_adj_low"].null_count() == 2
    assert frame.schema["n_control"] == pl.Int64


def test_metric_table_formats_for_people() -> None:
    rows = [
        metric(role="north_star", label="Lessons", p_value=0.0002, p_adjusted=0.0004),
        metric(
            label="Retention",
            type="proportion",
            control_mean=0.4,
            treatment_mean=0.41,
            abs_effect=0.01,
            rel_effect=0.025,
            rel_ci_low=-0.01,
            rel_ci_high=0.06,
            p_value=0.034,
            p_adjusted=0.2,
            significant=False,
            note="few units",
        ),
    ]
    table = tables.metric_table(tables.metrics_frame({"metrics": rows}), alpha=0.05)
    first, second = table.rows(named=True)
    assert first["Metric"] == "Lessons"
    assert first["Role"] == "North Star"
    assert first["p"] == "< 0.001"
    assert first["Result"] == "Better"
    assert first["Lift"] == "+10.0%"
    assert first["95% CI"] == "[+5.0%, +15.0%]"
    assert second["Control"] == "40.00%"
    assert second["Difference"] == "+1.00 pp"
    assert second["p"] == "0.034"
    assert second["p (adjusted)"] == "0.20"
    assert second["Result"] == "Not significant"
    assert second["Note"] == "few units"
    assert "99% CI" in tables.metric_table(tables.metrics_frame({"metrics": rows}), 0.01).columns


def test_readout_csv_has_every_figure_of_every_treatment(demo: Readout) -> None:
    payload = experiment_dict(demo.experiments["push_reminders"])
    frame = pl.read_csv(io.StringIO(tables.readout_csv(payload)))
    assert frame.height == sum(len(c["metrics"]) for c in payload["comparisons"])
    assert set(frame["variant"]) == {"daily", "three_a_day"}
    three = payload["comparisons"][1]
    row = frame.filter(
        (pl.col("variant") == three["variant"]) & (pl.col("metric") == "notifications_off")
    ).row(0, named=True)
    source = next(m for m in three["metrics"] if m["metric"] == "notifications_off")
    assert row["verdict"] == three["verdict"] == "guardrail_breach"
    assert row["rel_effect"] == pytest.approx(source["rel_effect"], rel=1e-12)
    assert row["p_adjusted"] == pytest.approx(source["p_adjusted"], rel=1e-12)


def test_timeline_frame_reads_dates_and_handles_undated_data(demo: Readout) -> None:
    dated = experiment_dict(demo.experiments["push_reminders"])["comparisons"][0]
    frame = tables.timeline_frame(dated)
    assert frame.height == len(dated["north_star_timeline"]) > 0
    assert frame.schema["date"] == pl.Date
    assert frame["date"].is_sorted()
    empty = tables.timeline_frame({"metrics": []})
    assert empty.height == 0
    assert empty.columns == frame.columns


def test_portfolio_table_one_row_per_experiment_worst_first(demo: Readout) -> None:
    table = tables.portfolio_table(demo)
    assert table.height == len(demo.experiments)
    assert table["rank"].is_sorted()
    push = table.filter(pl.col("experiment") == "push_reminders").row(0, named=True)
    assert push["verdicts"] == ["north_star_win", "guardrail_breach"]
    assert push["badges"] == ["daily: North Star win", "three_a_day: Guardrail breach"]
    assert push["variants"] == "control vs daily, three_a_day"
    assert push["rank"] == VERDICTS.index("guardrail_breach")
    assert push["days"] == demo.experiments["push_reminders"].days
    assert push["units"] == demo.experiments["push_reminders"].units
    dark = table.filter(pl.col("experiment") == "dark_mode").row(0, named=True)
    ns = demo.experiments["dark_mode"].treatments[0].north_star
    assert dark["badges"] == [VERDICT_LABELS["flat"]]
    assert dark["north_star"].startswith(f"{ns['rel_effect'] * 100:+.1f}%".replace("-", "−"))


def test_badge_verdicts_maps_each_badge_to_its_verdict(demo: Readout) -> None:
    badges = tables.badge_verdicts(tables.portfolio_table(demo))
    assert badges["three_a_day: Guardrail breach"] == "guardrail_breach"
    assert badges["Vanity only"] == "vanity_only"
    assert list(badges) == sorted(badges)


def test_filter_portfolio(demo: Readout) -> None:
    table = tables.portfolio_table(demo)
    vanity = tables.filter_portfolio(table, ["vanity_only"], None, "")
    expected = {
        e.id
        for e in demo.experiments.values()
        if any(t.verdict == "vanity_only" for t in e.treatments)
    }
    assert set(vanity["experiment"]) == expected
    both = tables.filter_portfolio(table, ["vanity_only", "north_star_win"], None, "")
    assert both.height > vanity.height
    owner = tables.filter_portfolio(table, [], "Dana Okafor (Growth)", "")
    assert set(owner["owner"]) == {"Dana Okafor (Growth)"}
    found = tables.filter_portfolio(table, [], None, "  REMINDER ")
    assert "push_reminders" in set(found["experiment"])
    assert tables.filter_portfolio(table, [], None, "(.*").height == 0
    assert tables.filter_portfolio(table, [], None, "").height == table.height


def test_portfolio_counts(demo: Readout) -> None:
    counts = tables.portfolio_counts(demo)
    verdicts = [{t.verdict for t in e.treatments} for e in demo.experiments.values()]
    assert counts["experiments"] == len(demo.experiments)
    assert counts["vanity_only"] == sum("vanity_only" in v for v in verdicts)
    assert counts["attention"] == sum(
        bool(v & {"invalid", "north_star_loss", "guardrail_breach"}) for v in verdicts
    )


def test_readout_url_encodes_the_query() -> None:
    url = tables.readout_url({"experiment": "a b", "workspace": "0123456789ab"})
    assert url == "readout?experiment=a+b&workspace=0123456789ab"


@pytest.fixture
def two_experiments(tmp_path: Path) -> Readout:
    """Two seeded experiments; one lifts clicks (vanity) only, one lifts lessons and clicks."""
    vanity = make_units(3, {"control": 3000, "t": 3000}, {"t": {"clicks": 1.3}}, "vanity")
    real = make_units(
        4, {"control": 3000, "t": 3000}, {"t": {"clicks": 1.3, "lessons": 1.2}}, "real"
    )
    write_frame(pl.concat([vanity, real]), tmp_path / "units.csv")
    write_metrics(tmp_path)
    return build_readout(load_dataset(tmp_path), Settings())


def test_metric_movement_counts_what_moved_and_whether_the_north_star_followed(
    two_experiments: Readout,
) -> None:
    movement = tables.metric_movement(two_experiments).rows_by_key("metric", named=True)
    results = two_experiments.results
    assert results.filter(pl.col("metric") == "clicks")["better"].to_list() == [True, True]
    lessons = results.filter(pl.col("metric") == "lessons").sort("experiment")
    assert lessons["better"].to_list() == [True, False]
    clicks = movement["clicks"][0]
    assert clicks["experiments"] == 2
    assert clicks["experiments_moved"] == clicks["comparisons_moved"] == clicks["better"] == 2
    assert clicks["ns_moved_with"] == clicks["ns_followed"] == 1
    assert movement["lessons"][0]["experiments_moved"] == 1
    assert tables.metric_movement(two_experiments)["role"][0] == "north_star"


def test_metric_movement_leaves_out_invalid_experiments(demo: Readout) -> None:
    movement = tables.metric_movement(demo)
    invalid = sum(
        all(t.verdict == "invalid" for t in e.treatments) for e in demo.experiments.values()
    )
    assert invalid >= 1
    assert set(movement["experiments"]) == {len(demo.experiments) - invalid}
    people = tables.movement_table(movement)
    assert people.height == len(demo.catalog.metrics)
    assert people["North Star moved too"][0] == "—"


def test_chance_never_reads_as_certain() -> None:
    from nsexp import format as fmt

    assert fmt.chance(0.874) == "87.4%"
    assert fmt.chance(0.999) == "99.9%"
    assert fmt.chance(0.99996) == ">99.9%"
    assert fmt.chance(1.0) == ">99.9%"
    assert fmt.chance(0.00004) == "<0.1%"
    assert fmt.chance(None) == "—"
    assert fmt.chance(float("nan")) == "—"
