"""The readout's method controls in AppTest (safe peeking, CUPED, the Bayesian engine), the
segment view, and the Markdown of live and pinned readouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_helpers import (
    OPENED,
    PAGE,
    expected_table,
    portfolio_count_line,
    portfolio_links,
    shown_table,
    texts,
)
from helpers import AppOpener, copy_demo

from nsexp.analysis.methods import methods
from nsexp.analysis.readout import build_readout
from nsexp.analysis.segments import segment_readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset, load_dataset
from nsexp.io.limits import Limits
from nsexp.report import markdown
from nsexp.report.figures import bootstrap_table
from nsexp.report.json import experiment_dict, experiment_from_dict
from nsexp.report.portfolio import filter_portfolio, portfolio_counts, portfolio_table
from nsexp.report.segments import heterogeneity_row, segment_frame, segment_table
from nsexp.report.text import md_escape
from nsexp.store import pins
from pages.ui import loaders


def drop_link(markdown_text: str) -> str:
    """A Markdown export without its 'View in nsexp' line (each view links to itself)."""
    return "\n".join(ln for ln in markdown_text.splitlines() if not ln.startswith("View in"))


def methods_text(at: Any) -> str:
    """The Methods popover's lines, joined."""
    methods = next(p for p in at.get("popover") if p.proto.popover.label == "Methods")
    return "\n".join(m.value for m in methods.markdown)


def test_sequential_from_the_url_and_the_toggle(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "sequential": "true"})
    assert not at.exception and not at.warning
    assert at.toggle(key="sequential").value is True
    expected = expected_table(demo_copy_dataset, "push_reminders", "daily", sequential=True)
    assert shown_table(at).equals(expected)
    # the timeline draws the card's interval: always valid, and adjusted for the two treatments
    assert "95% always-valid interval, adjusted for 2 tests (Holm), so the last day" in texts(at)
    assert "Safe to look every day" in texts(at)
    assert "Lift, always-valid adjusted CI (95%, Holm)" in at.get("vega_lite_chart")[1].proto.spec
    assert "Sequential testing: intervals and p-values" in methods_text(at)
    assert "sequential=true" in at.code[0].value

    at.toggle(key="sequential").set_value(False).run()
    assert "sequential" not in at.query_params
    assert shown_table(at).equals(expected_table(demo_copy_dataset, "push_reminders", "daily"))
    assert "Sequential testing" not in methods_text(at)
    assert "sequential" not in at.code[0].value


def test_cuped_toggle_changes_the_figures(open_app: AppOpener, demo_copy_dataset: Dataset) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "streak_freeze", "more": "freeze"})
    assert at.toggle(key="cuped").value is True
    assert "CUPED removed" in texts(at)  # in the card's details, opened by the link
    assert "CUPED (Deng et al. 2013)" in methods_text(at)
    before = shown_table(at)

    at.toggle(key="cuped").set_value(False).run()
    assert at.query_params["cuped"] == "false"
    after = shown_table(at)
    assert after.equals(expected_table(demo_copy_dataset, "streak_freeze", "freeze", cuped=False))
    assert not after.equals(before)
    assert "CUPED removed" not in texts(at)
    assert "CUPED off" in methods_text(at)
    assert "cuped=false" in at.code[0].value


def test_cuped_off_from_the_url(open_app: AppOpener, demo_copy_dataset: Dataset) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "streak_freeze", "cuped": "false"})
    assert at.toggle(key="cuped").value is False
    expected = expected_table(demo_copy_dataset, "streak_freeze", "freeze", cuped=False)
    assert shown_table(at).equals(expected)


def test_no_cuped_toggle_without_a_covariate(open_app: AppOpener, tmp_path: Path) -> None:
    data = copy_demo(tmp_path / "data")
    catalog = data / "metrics.toml"
    catalog.write_text(catalog.read_text().replace('covariate = "lessons_pre"\n', ""))
    at = open_app(PAGE, {**OPENED, "experiment": "streak_freeze"}, data=data)
    assert not at.exception
    assert "cuped" not in [t.key for t in at.toggle]
    assert "CUPED removed" not in texts(at)


def test_bayesian_engine_shows_chance_to_win(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "engine": "bayesian"})
    assert not at.exception and not at.warning
    assert at.button_group(key="engine").value == "bayesian"
    table = shown_table(at)
    assert {"Chance to win", "Expected loss", "Credible interval (95%)"} <= set(table.columns)
    assert table.equals(
        expected_table(demo_copy_dataset, "push_reminders", "daily", engine="bayesian")
    )
    # one North Star figure per card: the chance to win and expected loss are its small print
    assert [m.label for m in at.metric] == ["North Star: Lessons completed"] * 2
    assert texts(at).count("Chance to beat control") == 2
    assert "credible interval" in at.get("vega_lite_chart")[0].proto.spec
    assert "Bayesian engine" in methods_text(at)

    at.button_group(key="engine").set_value("frequentist").run()
    assert "engine" not in at.query_params
    assert "Chance to win" not in shown_table(at).columns
    assert "Chance to beat control" not in texts(at)


def test_power_and_guardrail_columns(open_app: AppOpener, demo_copy: Path) -> None:
    query = {**OPENED, "experiment": "push_reminders", "variant": "three_a_day"}
    at = open_app(PAGE, {**query, "more": "three_a_day"})  # the card's details opened
    table = shown_table(at)
    guard = table.filter(pl.col("Role") == "Guardrail").row(0, named=True)
    assert guard["Guardrail"].startswith("breached")
    assert table.filter(pl.col("Role") == "North Star")["Detectable today"][0].endswith("%")
    assert "Guardrails: Turned off notifications breached" in texts(at)


def test_inconclusive_north_star_says_how_many_days_are_needed(
    open_app: AppOpener, demo_dataset: Dataset
) -> None:
    readout = build_readout(demo_dataset)
    waiting = [
        (e.id, t.variant)
        for e in readout.experiments.values()
        for t in e.treatments
        if t.north_star_status == "inconclusive" and (t.north_star.days_needed or 0) > 0
    ]
    if not waiting:
        pytest.skip("no inconclusive dated experiment in the demo data")
    experiment, variant = waiting[0]
    at = open_app(PAGE, {**OPENED, "experiment": experiment, "variant": variant})
    assert "more days at current traffic to detect" in texts(at)


def test_segment_view(open_app: AppOpener, demo_copy: Path) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders"})
    assert at.selectbox(key="segment").value is None
    assert at.selectbox(key="segment").options == ["platform"]
    assert len(at.dataframe) == 2  # the metric table of each treatment

    at.selectbox(key="segment").select("platform").run()
    assert at.query_params["segment"] == "platform"
    sr = segment_readout(
        load_dataset(demo_copy / "push_reminders.parquet", segment="platform"),
        Settings(),
        "push_reminders",
    )
    frame = segment_frame(sr, "push_reminders", "daily")
    assert frame["segment"].to_list() == ["android", "ios", "web"]
    assert pl.from_pandas(at.dataframe[2].value).equals(segment_table(frame, Settings()))
    het = heterogeneity_row(sr, "push_reminders", "daily")
    assert het is not None
    assert any("Cochran's Q across 3 segments" in a.value for a in [*at.info, *at.warning])
    charts_drawn = at.get("vega_lite_chart")
    assert len(charts_drawn) == 3
    segment_spec = json.loads(charts_drawn[-1].proto.spec)
    assert segment_spec["height"] >= 3 * 30 + 60  # a row per segment and the axis, not ~60 px
    assert "segment=platform" in at.code[0].value

    at.selectbox(key="experiment").select("dark_mode").run()  # summary data: no segments
    assert "segment" not in at.query_params
    assert "segment" not in [s.key for s in at.selectbox]


def test_bad_segment_warns(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "segment": "country"})
    assert not at.exception
    said = md_escape("The link asks for segment = 'country', which is not a segment column of")
    assert any(said in w.value and "one of platform" in w.value for w in at.warning)
    assert at.selectbox(key="segment").value is None
    assert "segment" not in at.query_params


def test_live_and_pinned_markdown(
    open_app: AppOpener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real = markdown.experiment_markdown

    def record(*args: Any, **kwargs: Any) -> str:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(markdown, "experiment_markdown", record)
    data = copy_demo(tmp_path / "data")
    at = open_app(PAGE, {**OPENED, "experiment": "dark_mode", "engine": "bayesian"}, data=data)
    at.button(key="pin_readout").click().run()
    live = made[-1]
    assert live.startswith("# Experiment readout — North Star: Lessons completed")
    assert "are vanity only" not in live and "is vanity only" not in live
    assert "Bayesian engine" in live and "chance to beat control" in live

    (pin,) = pins.list_pins(data)
    assert pin.settings == Settings(engine="bayesian").to_dict()
    made.clear()
    next(b for b in at.button if b.label == "Open the pinned readout").click().run()
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download CSV", "Download Markdown", "Download the pin (JSON)"]
    assert "Holm step-down (family-wise error rate), the Bayesian engine;" in at.info[0].value
    # the pin renders the same text from its frozen JSON, with its own link back
    assert [drop_link(m) for m in made] == [drop_link(live)]
    assert f"View in nsexp: </readout?pin={pin.id}>" in made[0]

    next(b for b in at.button if b.label == "Open the live readout").click().run()
    assert dict(at.query_params) == {
        "experiment": "dark_mode",
        "variant": "dark",
        "engine": "bayesian",
    }


def test_experiment_markdown_equals_the_cli_markdown(demo_copy_dataset: Dataset) -> None:
    """One experiment's Markdown, live and read back from its JSON (as a pin keeps it), is the
    CLI's Markdown of that experiment alone."""
    dataset = demo_copy_dataset
    for settings in (Settings(), Settings(sequential=True, engine="bayesian", cuped=False)):
        one = build_readout(dataset, settings, experiment="hearts_system")
        (e,) = one.experiments.values()
        for view in (e, experiment_from_dict(experiment_dict(e), e.settings)):
            text = markdown.experiment_markdown(
                view, methods(settings), fingerprint=one.fingerprint
            )
            assert text == markdown.to_markdown(one)
            assert "of 1 experiment" not in text
    assert "experiments are vanity only" in markdown.to_markdown(build_readout(dataset))


def test_portfolio_follows_the_methods_and_links_carry_them(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    query = {"sequential": "true", "cuped": "false", "engine": "bayesian"}
    at = open_app("pages/portfolio.py", query)
    assert not at.exception and not at.warning
    links = portfolio_links(at)
    assert links and all(all(f"{k}={v}" in u for k, v in query.items()) for u in links)
    settings = Settings(sequential=True, cuped=False, engine="bayesian")
    table = portfolio_table(build_readout(demo_copy_dataset, settings))
    counts = portfolio_counts(filter_portfolio(table, [], None, "", "running"))
    shown = portfolio_count_line(at)
    assert shown["Won the North Star"] == str(counts["north_star_win"])


def test_bootstrap_runs_only_on_request(open_app: AppOpener, demo_copy_dataset: Dataset) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "variant": "three_a_day"})
    tables_before = len(at.dataframe)
    at.button(key="bootstrap").click().run()
    assert not at.exception
    assert len(at.dataframe) == tables_before + 1
    settings = Settings(bootstrap=loaders.BOOTSTRAP_RESAMPLES)
    results = build_readout(demo_copy_dataset, settings, experiment="push_reminders")
    treatment = results.experiments["push_reminders"].treatment("three_a_day")
    expected = bootstrap_table(treatment.metrics, Settings())
    assert expected.height > 0
    assert pl.from_pandas(at.dataframe[-1].value).equals(expected)
    at.run()  # the check stays on view for this experiment and settings
    assert len(at.dataframe) == tables_before + 1

    at.selectbox(key="experiment").select("dark_mode").run()  # summary data: no units
    assert "bootstrap" not in [b.key for b in at.button]


def test_no_bootstrap_past_the_unit_resamples_limit(
    open_app: AppOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An experiment with more units than one request may resample gets a sentence, no button,
    and a link asking for the bootstrap resamples nothing."""
    monkeypatch.setattr(loaders, "_limits", lambda data: Limits(unit_resamples=10**8))

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("resampled past the limit")

    monkeypatch.setattr(loaders, "bootstrap", fail)
    query = {"experiment": "push_reminders", "variant": "daily", "bootstrap": "2000"}
    at = open_app(PAGE, query)
    assert not at.exception
    assert "bootstrap" not in [b.key for b in at.button]
    assert [i.value for i in at.info if i.value.startswith("No bootstrap here")] == [
        "No bootstrap here: a bootstrap of 2,000 resamples of 100,000 units draws up to "
        "200,000,000 weights, more than the limit of 100,000,000 per request; run `nsexp "
        "readout --bootstrap N` on the data, where it has no limit."
    ]
