"""nsexp.report.figures and csv: one treatment's frames, checked against the result model."""

from __future__ import annotations

import io

import polars as pl
import pytest
from helpers import result

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.report.csv import readout_csv
from nsexp.report.figures import (
    bootstrap_caption,
    bootstrap_table,
    every_treatment,
    metric_table,
    timeline_rows,
)


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Readout:
    """The bundled demo data read out with the default settings."""
    return build_readout(demo_dataset)


def metric(role: str = "leading", **fields: object) -> MetricResult:
    """One metric's result; fields override the defaults."""
    base: dict[str, object] = {
        "metric": "m",
        "label": "M",
        "role": role,
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
        "better": True,
        "worse": False,
        "note": None,
    }
    return result(**(base | fields))


@pytest.mark.parametrize(
    ("better", "worse", "significant", "effect", "expected"),
    [
        (True, False, True, 0.1, "better"),
        (False, True, True, 0.1, "worse"),  # a rise in a metric where lower is better
        (False, False, False, 0.1, "not_significant"),
        (None, None, None, None, "no_estimate"),
    ],
)
def test_outcome_reads_the_better_and_worse_the_readout_decided(
    better: bool | None,
    worse: bool | None,
    significant: bool | None,
    effect: float | None,
    expected: str,
) -> None:
    m = metric(
        better=better, worse=worse, significant=significant, rel_effect=effect, abs_effect=effect
    )
    assert m.outcome == expected


def test_outcome_agrees_with_the_readouts_better_and_worse(demo: Readout) -> None:
    metrics = [m for e in demo.experiments.values() for t in e.treatments for m in t.metrics]
    assert {m.outcome for m in metrics if m.better} == {"better"}
    assert {m.outcome for m in metrics if m.worse} == {"worse"}
    neither = {m.outcome for m in metrics if not (m.better or m.worse) and m.rel_effect is not None}
    assert neither == {"not_significant", "untrusted"}
    assert {m.outcome for m in metrics if not m.trusted} == {"untrusted"}


def test_a_better_result_of_a_negative_mean_reads_better() -> None:
    """Control −10, treatment −5 on a higher-is-better metric: the relative lift is −50% but
    the metric got better; the outcome follows the decided better/worse, not the lift's sign."""
    m = metric(control_mean=-10.0, treatment_mean=-5.0, abs_effect=5.0, rel_effect=-0.5)
    m = m.__class__(**{**{f: getattr(m, f) for f in m.__slots__}, "better": True, "worse": False})
    assert m.outcome == "better"


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
            better=False,
            note="few units",
        ),
    ]
    table = metric_table(rows, Settings())
    first, second = table.rows(named=True)
    assert first["Metric"] == "Lessons"
    assert first["Role"] == "North Star"
    assert first["p"] == "< 0.001"
    assert first["Result"] == "Better"
    assert first["Lift"] == "+10.0%"
    assert first["CI (95%)"] == "[+5.0%, +15.0%]"
    assert second["Control"] == "40.00%"
    assert second["Difference"] == "+1.00 pp"
    assert second["p"] == "0.034"
    assert second["Adjusted p"] == "0.20"
    assert second["Result"] == "Not significant"
    assert second["Note"] == "few units"
    assert "CI (99%)" in metric_table(rows, Settings(alpha=0.01)).columns


def test_every_treatment_puts_the_one_on_view_first_beside_the_others(demo: Readout) -> None:
    push = demo.experiments["push_reminders"]
    daily, three = push.treatment("daily"), push.treatment("three_a_day")
    both = every_treatment(push.treatments, "three_a_day")
    assert len(both) == len(daily.metrics) + len(three.metrics)
    # each metric's treatments together, the one on view first, metrics in its order
    assert [(m.metric, m.variant) for m in both] == [
        (m.metric, v) for m in three.metrics for v in ("three_a_day", "daily")
    ]


def test_readout_csv_has_every_figure_of_every_treatment(demo: Readout) -> None:
    push = demo.experiments["push_reminders"]
    link = "http://nsexp/readout?experiment=push_reminders"
    frame = pl.read_csv(io.StringIO(readout_csv(push, link)))
    assert set(frame["alpha"]) == {0.05} and set(frame["engine"]) == {"frequentist"}
    assert set(frame["view"]) == {link}
    assert frame.height == sum(len(t.metrics) for t in push.treatments)
    assert set(frame["variant"]) == {"daily", "three_a_day"}
    three = push.treatment("three_a_day")
    row = frame.filter(
        (pl.col("variant") == "three_a_day") & (pl.col("metric") == "notifications_off")
    ).row(0, named=True)
    source = three.metric("notifications_off")
    assert row["verdict"] == three.verdict == "guardrail_breach"
    assert row["rel_effect"] == pytest.approx(source.rel_effect, rel=1e-12)
    assert row["p_adjusted"] == pytest.approx(source.p_adjusted, rel=1e-12)


def test_timeline_rows_read_dates_and_handles_undated_data(demo: Readout) -> None:
    dated = demo.experiments["push_reminders"].treatments[0]
    frame = timeline_rows(dated.timeline)
    assert frame.height == len(dated.timeline) > 0
    assert frame.schema["date"] == pl.Date
    assert frame["date"].is_sorted()
    empty = timeline_rows(())
    assert empty.height == 0
    assert empty.columns == frame.columns


def resampled(role: str, family: int, **fields: object) -> MetricResult:
    """A resampled metric: plain, adjusted and bootstrap intervals all different."""
    return result(
        role=role,
        label=role,
        rel_effect=0.04,
        rel_ci_low=0.033,
        rel_ci_high=0.050,
        rel_ci_adj_low=0.031,
        rel_ci_adj_high=0.052,
        rel_ci_boot_low=0.032,
        rel_ci_boot_high=0.049,
        family_size=family,
        **({"engine": "frequentist"} | fields),
    )


def test_bootstrap_table_compares_like_with_like_and_names_each_interval() -> None:
    """Issue 20 item 2: the bootstrap's interval sits beside the analytic interval of the same
    kind (unadjusted, both), and the card's adjusted one is there only under its own name."""
    rows = [resampled("north_star", 2), resampled("leading", 18), result(rel_effect=0.1)]
    table = bootstrap_table(rows, Settings())
    assert table.columns == [
        "Metric",
        "Estimate",
        "Analytic: Unadjusted CI (95%)",
        "Bootstrap: unadjusted CI (95%)",
        "On the card: Adjusted CI (95%, Holm)",
    ]
    assert table.height == 2  # a metric without bootstrap figures is not listed
    first = table.row(0, named=True)
    assert first["Analytic: Unadjusted CI (95%)"] == "[+3.3%, +5.0%]"
    assert first["Bootstrap: unadjusted CI (95%)"] == "[+3.2%, +4.9%]"
    assert first["On the card: Adjusted CI (95%, Holm)"] == "[+3.1%, +5.2%]"
    caption = bootstrap_caption(rows, Settings(), 2000)
    assert "analytic 95% confidence interval, not adjusted for multiple testing" in caption
    assert "the North Star's is its 95% confidence interval, adjusted for 2 tests (Holm)" in caption
    assert "other metrics' is its 95% confidence interval, adjusted for 18 tests (Holm)" in caption
    bayes = bootstrap_table(
        [resampled("north_star", 2, rel_cred_low=0.03, rel_cred_high=0.05, engine="bayesian")],
        Settings(engine="bayesian"),
    )
    assert bayes.row(0, named=True)["On the card: Credible interval (95%)"] == "[+3.0%, +5.0%]"
    sequential = bootstrap_table(rows, Settings(sequential=True)).columns
    assert "Analytic: Unadjusted always-valid CI (95%)" in sequential


def test_the_bootstrap_caption_counts_the_families_of_a_real_readout(
    demo_dataset: Dataset,
) -> None:
    """On the demo's push_reminders (two treatments), the caption's test counts are the
    treatments for the North Star and every other tested metric of both treatments."""
    e = build_readout(demo_dataset, Settings(bootstrap=100), experiment="push_reminders")
    push = e.experiments["push_reminders"]
    t = push.treatment("daily")
    others = sum(
        m.p_value is not None for x in push.treatments for m in x.metrics if m.role != "north_star"
    )
    caption = bootstrap_caption(t.metrics, e.settings, 100)
    assert f"adjusted for {len(push.treatments)} tests (Holm)" in caption
    assert f"adjusted for {others} tests (Holm)" in caption
