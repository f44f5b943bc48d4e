"""The Readout page as of a date (`?as_of=`, issue 20 item 1): the figures of the data up to
that date, a banner saying what an as-of readout of unit rows is, the date in the share link,
no pin of a reconstruction, and every bad link value warned about and dropped."""

from __future__ import annotations

import datetime as dt

import pytest
from app_helpers import OPENED, PAGE, expected_table, shown_table, texts
from helpers import AppOpener

from nsexp import format as fmt
from nsexp.analysis.asof import UNIT_ROWS_CAVEAT, as_of
from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.report.figures import metric_table
from nsexp.report.text import md_escape

DAY = dt.date(2026, 7, 30)


def test_an_as_of_link_reads_out_the_data_up_to_that_date(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "as_of": DAY.isoformat()})
    assert not at.exception and not at.warning
    then = build_readout(as_of(demo_copy_dataset, DAY), experiment="push_reminders")
    t = then.experiments["push_reminders"].treatment("daily")
    assert shown_table(at).equals(metric_table(t.metrics, Settings()))
    assert not shown_table(at).equals(expected_table(demo_copy_dataset, "push_reminders", "daily"))
    shown = texts(at)
    assert f"As of {DAY.isoformat()}" in shown and UNIT_ROWS_CAVEAT in shown
    assert fmt.pct_ci(*t.north_star.decision_interval) in shown  # the card's figure
    assert at.date_input(key="as_of").value == DAY
    assert f"as_of={DAY.isoformat()}" in at.code[0].value
    pin = next(b for b in at.button if b.key == "pin_readout")
    assert pin.disabled
    assert "bootstrap" not in [b.key for b in at.button]  # the checks read all the data
    timeline = str(at.get("vega_lite_chart")[1].proto)  # its spec and its data
    assert DAY.isoformat() in timeline and "2026-08-09" not in timeline  # push_reminders' last


def test_choosing_a_date_puts_it_in_the_link(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders"})
    assert at.date_input(key="as_of").value is None
    at.date_input(key="as_of").set_value(DAY).run()
    assert not at.exception
    assert at.query_params["as_of"] == DAY.isoformat()
    assert f"As of {DAY.isoformat()}" in texts(at)
    at.date_input(key="as_of").set_value(None).run()
    assert "as_of" not in at.query_params
    assert "As of" not in texts(at)


@pytest.mark.parametrize(
    ("experiment", "value", "message"),
    [
        ("push_reminders", "yesterday", "as_of = 'yesterday', which is not a date"),
        ("push_reminders", "2026-02-30", "as_of = '2026-02-30', which is not a date"),
        ("push_reminders", "2020-01-01", "which is outside the data's dates (2026-07-06 to"),
        ("ai_tutor_beta", "2026-08-01", "had no control and treatment data up to 2026-08-01"),
    ],
)
def test_bad_as_of_values_warn_and_show_all_the_data(
    open_app: AppOpener,
    experiment: str,
    value: str,
    message: str,
    demo_copy_dataset: Dataset,
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": experiment, "as_of": value})
    assert not at.exception
    assert any(md_escape(message) in w.value for w in at.warning), [w.value for w in at.warning]
    variant = (
        build_readout(demo_copy_dataset, experiment=experiment)
        .experiments[experiment]
        .treatments[0]
        .variant
    )
    assert shown_table(at).equals(expected_table(demo_copy_dataset, experiment, variant))
    assert "as_of" not in at.query_params
    assert "As of" not in texts(at)
