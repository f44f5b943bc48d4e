"""The Readout page in AppTest: deep links, controls that change the figures, pins, bad links."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_helpers import OPENED, PAGE, expected_table, shown_table, texts, unescape
from helpers import AppOpener, copy_demo
from streamlit.testing.v1 import AppTest

from nsexp import format as fmt
from nsexp.analysis.methods import methods
from nsexp.analysis.priors import prior_sentence
from nsexp.analysis.readout import build_readout
from nsexp.analysis.reasons import HISTORY_DEFINITION
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.io import Dataset, load_dataset
from nsexp.learning.history import learned_readout, readout_learning
from nsexp.report.figures import metric_table
from nsexp.report.text import md_escape
from nsexp.store import pins


def at_data(at: AppTest) -> Path:
    """The data directory an AppTest run reads."""
    return Path(os.environ["NSEXP_DATA_DIR"])


def test_deep_link_opens_the_experiment(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"experiment": "push_reminders"})
    assert not at.exception
    assert at.title[0].value == "Practice reminder frequency"
    assert "control arm `control`" in at.caption[0].value
    assert at.selectbox(key="experiment").value == "push_reminders"
    assert [a.proto.title for a in at.success] == [VERDICT_LABELS["north_star_win"]]
    assert [a.proto.title for a in at.error] == [VERDICT_LABELS["guardrail_breach"]]
    assert not at.warning
    said = "The North Star Lessons completed improved significantly (adjusted p < 0.001)"
    assert unescape(at.success[0].value).startswith(
        said
    )  # the reason that decided, under the verdict
    # a fresh link draws the header and the cards: the plot, the table and the timeline wait
    # to be opened
    assert not at.get("vega_lite_chart") and not at.dataframe
    assert [e.label for e in at.expander][-3:] == [
        "Every metric, as a plot",
        "Every figure, as a table",
        "The North Star over time",
    ]
    assert at.code[0].value == "/readout?experiment=push_reminders&variant=daily"


def test_opened_parts_are_drawn_and_kept_in_the_link(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {"experiment": "push_reminders", **OPENED})
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 2  # forest plot and the North Star over time
    expected = expected_table(demo_copy_dataset, "push_reminders", "daily")
    assert shown_table(at).equals(expected)
    link = "/readout?experiment=push_reminders&variant=daily&plot=true&table=true&timeline=true"
    assert at.code[0].value == link
    at.query_params["table"] = "open"  # not a state: one warning, the table stays closed
    at.run()
    assert [w.value for w in at.warning] == [
        "The link asks for table = 'open', which is not an opened state (one of true): it is "
        "closed."
    ]
    assert len(at.dataframe) == 0 and len(at.get("vega_lite_chart")) == 2


def test_a_cards_details_and_all_columns_are_kept_in_the_link(open_app: AppOpener) -> None:
    """A card's "More on this comparison" and the table's "All columns" open from the link and
    stay in it; a card's details are drawn only once opened, and a bad value gets one warning."""
    at = open_app(PAGE, {"experiment": "push_reminders"})
    closed = [x for x in at.expander if x.label == "More on this comparison"]
    assert len(closed) == 2 and not any(x.markdown or x.caption for x in closed)
    query = {"experiment": "push_reminders", "table": "true", "more": "three_a_day"}
    at = open_app(PAGE, {**query, "all_columns": "true"})
    assert not at.exception and not at.warning
    daily, three = [x for x in at.expander if x.label == "More on this comparison"]
    assert not daily.markdown and three.markdown[0].value.startswith("- ")
    assert at.toggle(key="all_columns").value is True
    every = list(at.dataframe[0].value.columns)
    assert not at.dataframe[0].proto.column_order  # every column, in the table's order
    link = "/readout?experiment=push_reminders&variant=daily&table=true&all_columns=true"
    assert at.code[0].value == link + "&more=three_a_day"
    at.toggle(key="all_columns").set_value(False).run()
    assert "all_columns" not in at.query_params
    shown = list(at.dataframe[0].proto.column_order)
    assert shown and set(shown) < set(every)  # the key columns only
    assert at.code[0].value == link.replace("all_columns=true", "more=three_a_day")
    at = open_app(PAGE, {**query, "more": ["daily", "nope"], "all_columns": "yes"})
    assert sorted(w.value for w in at.warning) == [
        "The link asks for all_columns = 'yes', which is not a table view (one of true): "
        "showing the key columns.",
        "The link asks for more = 'nope', which is not a treatment of push_reminders (one of "
        "daily, three_a_day): it is closed.",
    ]
    daily, three = [x for x in at.expander if x.label == "More on this comparison"]
    assert daily.markdown and not three.markdown
    assert at.code[0].value.endswith("&table=true&more=daily")


def test_verdict_card_names_its_interval_level(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "animated_onboarding", "alpha": "0.1"})
    assert not at.exception
    # the card's one North Star figure is the interval that decides (adjusted, at 1 - alpha),
    # named; the flat test's (1 - 2 alpha) interval only appears in the sentence about flatness
    e = build_readout(load_dataset(at_data(at)), Settings(alpha=0.1)).experiments[
        "animated_onboarding"
    ]
    ns = e.treatments[0].north_star
    tests = ns.family_size or 0
    adjusted = f", adjusted for {tests} tests (Holm)" if tests > 1 else ""  # one needs none
    (figure,) = at.metric
    assert figure.delta == fmt.pct_ci(*ns.decision_interval)
    # what the figure is: said once, in the page's "How the cards read", not a help per card
    assert not figure.help
    said = f"its 90% confidence interval{adjusted}: the interval that decides"
    assert texts(at).count(said) == 1
    assert figure.proto.delta_description == ("Adjusted CI (90%, Holm)" if adjusted else "CI (90%)")
    flat = f"80% confidence interval {fmt.pct_ci(ns.equivalence_ci_low, ns.equivalence_ci_high)}"
    assert [s for s in texts(at).split("\n") if flat in s] == [
        s for s in texts(at).split("\n") if flat in s and ("flat" in s or "inconclusive" in s)
    ]
    assert flat in texts(at)


def card_parts(column: Any) -> list[tuple[str, str]]:
    """A verdict card's elements, in order, as (type, text): its expander's content left out,
    since the card shows only the expander's label until it is opened. The card is the
    bordered column itself."""
    return [
        (type(el).__name__, unescape(str(getattr(el, "value", ""))))
        for el in column.children.values()
        if type(el).__name__ != "Expander"
    ]


def test_card_leads_with_one_north_star_figure(open_app: AppOpener) -> None:
    """Streak Society: the verdict with the reason that decided it, then the one North Star
    figure (the adjusted interval), the decision slot, and the prediction in small print as a
    model estimate with its basis; the equivalence interval only inside the sentence that says
    inconclusive; no second North Star tile; every quoted p an adjusted p."""
    at = open_app(PAGE, {**OPENED, "experiment": "streak_society", "more": "club"})
    assert not at.exception
    dataset = load_dataset(at_data(at))
    learning = readout_learning(dataset, Settings())
    e = learned_readout(dataset, Settings(), learning=learning).experiments["streak_society"]
    (t,) = e.treatments
    ns, predicted = t.north_star, t.learned.prediction
    parts = card_parts(at.columns[0])
    # verdict, figure, the decision slot (what it can detect, then the decision panel's block),
    # the model estimate
    kinds = ["Markdown", "Info", "Metric", "Caption", "Block", "Caption"]
    assert [kind for kind, _ in parts] == kinds
    verdict, figure, slot, estimate = parts[1][1], at.metric[0], parts[3][1], parts[5][1]
    assert at.info[0].proto.title == "Leading win"
    assert verdict.startswith("Day-7 retention +7.5%") and "a validated input" in verdict
    assert "predictive" in verdict  # the edge's evidence; the prediction is the estimate's
    decision = fmt.pct_ci(*ns.decision_interval)
    equivalence = fmt.pct_ci(ns.equivalence_ci_low, ns.equivalence_ci_high)
    assert figure.label == "North Star: Lessons completed" and figure.value == "+2.1%"
    assert figure.delta == decision == "[−0.2%, +4.3%]"
    card = "\n".join(text for _, text in parts)
    assert card.count(decision) == 0  # in the figure's delta only, which is no text part
    assert verdict.count(equivalence) == 1 and "is inconclusive (adjusted p = 0.066)" in verdict
    assert "The predicted North Star" not in verdict  # said once, by the model estimate
    assert card.count(equivalence) == 1
    assert slot.startswith("Detectable today") and "more days at current traffic" in slot
    assert estimate.startswith("**Model estimate** (not a test of this experiment): Day-7")
    assert f"from {predicted.n_history} past comparisons" in estimate
    assert fmt.pct_ci(predicted.rel_ci_low, predicted.rel_ci_high) in estimate
    assert "Predicted North Star" not in [m.label for m in at.metric]
    (more,) = [x for x in at.expander if x.label == "More on this comparison"]
    assert any(m.value.startswith("- History") for m in more.markdown)
    reasons = card + "\n".join(unescape(m.value) for m in more.markdown)
    quoted = re.findall(r"(\w+ )?p [=<] ", reasons)
    assert quoted and all(q == "adjusted " for q in quoted)
    # how history lines read: once, in a popover, not on every card
    assert texts(at).count(HISTORY_DEFINITION) == 1


def test_every_treatment_is_in_the_plot_and_the_table(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    """push_reminders with daily on view: the three_a_day card speaks of a guardrail breach,
    and its line and row are on view too, after daily's."""
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders"})
    breach = "Guardrail got worse: Turned off notifications +"
    assert unescape(at.error[0].value).startswith(breach)
    forest = at.get("vega_lite_chart")[0].proto
    point = json.loads(forest.spec)["layer"][3]["encoding"]
    assert point["shape"]["scale"]["domain"] == ["daily", "three_a_day"]
    # a table per treatment, the one on view first
    daily, three = (pl.from_pandas(d.value) for d in at.dataframe[:2])
    assert daily.equals(expected_table(demo_copy_dataset, "push_reminders", "daily"))
    assert three.equals(expected_table(demo_copy_dataset, "push_reminders", "three_a_day"))
    guard = pl.col("Metric") == "Turned off notifications"
    assert three.filter(guard)["Result"].to_list() == ["Worse"]
    assert "**`three_a_day`** vs `control`" in [m.value for m in at.markdown]
    assert [len(card_parts(c)) > 0 for c in at.columns[:2]] == [True, True]


def test_the_treatment_on_view_leads_the_plot_and_table(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", "variant": "three_a_day"})
    forest = at.get("vega_lite_chart")[0].proto.spec
    assert '"layer"' in forest and "row_label" in forest and '"facet"' not in forest
    point = json.loads(forest)["layer"][3]["encoding"]
    assert point["shape"]["scale"]["domain"] == ["three_a_day", "daily"]
    heading = "Every metric: `three_a_day` vs `control`, with `daily`"
    assert heading in [s.value for s in at.subheader]
    expected = expected_table(demo_copy_dataset, "push_reminders", "three_a_day")
    assert shown_table(at).equals(expected)


def test_controls_change_the_figures_and_the_url(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders"})
    before = shown_table(at)

    at.button(key="show_three_a_day").click().run()
    assert at.query_params["variant"] == "three_a_day"
    assert shown_table(at).equals(
        expected_table(demo_copy_dataset, "push_reminders", "three_a_day")
    )

    at.button_group(key="alpha").set_value("0.01").run()
    assert at.query_params["alpha"] == "0.01"
    table = shown_table(at)
    assert "CI (99%)" in table.columns
    assert table.equals(
        expected_table(demo_copy_dataset, "push_reminders", "three_a_day", alpha=0.01)
    )

    at.button_group(key="correction").set_value("none").run()
    table = shown_table(at)
    assert table["p"].to_list() == table["Adjusted p"].to_list()
    assert not table.equals(before)
    assert "alpha=0.01" in at.code[0].value and "correction=none" in at.code[0].value

    at.selectbox(key="experiment").select("dark_mode").run()
    assert at.query_params["experiment"] == "dark_mode"
    assert "variant" not in at.query_params  # three_a_day belonged to the other experiment
    assert at.title[0].value == "Dark mode by default"
    assert not at.warning
    assert not at.exception


def test_unknown_experiment_gets_a_message_and_a_way_back(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "no_such_test"})
    assert not at.exception
    said = "The link asks for experiment = 'no_such_test', which is not an experiment in"
    assert md_escape(said) in at.warning[0].value
    assert "Back to the portfolio" in [p.value for p in at.page_link]
    assert at.selectbox(key="experiment").value is None
    assert "experiment" not in at.query_params


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"variant": "control"}, "variant = 'control', which is not a treatment of experiment"),
        ({"alpha": "0.9"}, "not a significance level"),
        ({"alpha": "abc"}, "not a significance level"),
        ({"correction": "bonferroni"}, "not one of holm, bh, none"),
        ({"sequential": "yes"}, "sequential = 'yes', which is not true or false"),
        ({"cuped": "maybe"}, "cuped = 'maybe', which is not true or false"),
        ({"engine": "magic"}, "engine = 'magic', which is not one of frequentist, bayesian"),
        ({"bootstrap": "100000"}, "bootstrap = '100000', which is not one of the resamples"),
    ],
)
def test_bad_values_warn_and_fall_back_to_the_default(
    open_app: AppOpener, demo_copy_dataset: Dataset, query: dict[str, str], message: str
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "push_reminders", **query})
    assert not at.exception
    assert any(md_escape(message) in w.value for w in at.warning)
    assert shown_table(at).equals(expected_table(demo_copy_dataset, "push_reminders", "daily"))
    assert not set(query) & set(at.query_params)


def test_a_valid_uncommon_alpha_is_offered_and_used(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "dark_mode", "alpha": "0.02"})
    assert not at.warning
    assert at.button_group(key="alpha").value == "0.02"
    assert shown_table(at).equals(
        expected_table(demo_copy_dataset, "dark_mode", "dark", alpha=0.02)
    )


def test_sample_ratio_mismatch_is_said_once_on_the_card(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "referral_banner"})
    (card,) = at.error
    assert card.proto.title == VERDICT_LABELS["invalid"]
    said = unescape(card.value)
    assert said.startswith("Sample ratio mismatch: banner 20,912 / control 19,326 units")
    assert said.endswith("no effect in this experiment can be trusted.")
    assert not at.metric  # an invalid comparison's card quotes no figure
    assert sum("Sample ratio mismatch" in t for _, t in card_parts(at.columns[0])) == 1


def test_no_experiment_asks_for_one(open_app: AppOpener) -> None:
    at = open_app(PAGE)
    assert not at.exception
    assert "Choose an experiment" in at.info[0].value
    assert len(at.get("vega_lite_chart")) == 0


def test_downloads_and_methods(open_app: AppOpener) -> None:
    at = open_app(PAGE, {**OPENED, "experiment": "streak_freeze"})
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download CSV", "Download Markdown"]
    popover = next(p for p in at.get("popover") if p.proto.popover.label == "Methods")
    shown = "\n".join(m.value for m in popover.markdown)
    for line in methods(Settings()):
        assert line in shown


def test_pin_freezes_the_readout_and_the_pinned_view_shows_it(
    open_app: AppOpener, tmp_path: Path
) -> None:
    data = copy_demo(tmp_path / "data")
    at = open_app(
        PAGE, {**OPENED, "experiment": "push_reminders", "variant": "three_a_day"}, data=data
    )
    at.button(key="pin_readout").click().run()
    assert not at.exception
    (pin,) = pins.list_pins(data)
    assert (pin.experiment, pin.variant) == ("push_reminders", "three_a_day")
    assert f"Pinned as {pin.id}" in at.success[-1].value
    assert any(c.value.endswith(f"readout?pin={pin.id}") for c in at.code)

    next(b for b in at.button if b.label == "Open the pinned readout").click().run()
    assert dict(at.query_params) == {"pin": pin.id}
    at.query_params["table"] = "true"  # the pin's table, opened
    at.run()
    assert at.info[0].proto.title == "Pinned readout: these figures do not move"
    assert "The data has not changed since" in at.info[0].value
    assert at.title[0].value == "Practice reminder frequency"
    frozen = metric_table(pin.readout().treatments[1].metrics, pin.analysis_settings)
    assert shown_table(at).equals(frozen)
    assert "Earlier pins" not in [e.label for e in at.expander]
    downloads = [d.proto.label for d in at.get("download_button")]
    assert downloads == ["Download CSV", "Download Markdown", "Download the pin (JSON)"]

    next(b for b in at.button if b.label == "Open the live readout").click().run()
    assert dict(at.query_params) == {"experiment": "push_reminders", "variant": "three_a_day"}
    assert not at.info
    assert any(e.label == "Earlier pins of this experiment (1)" for e in at.expander)


def test_pinned_link_opens_the_frozen_figures_after_the_data_changed(
    open_app: AppOpener, tmp_path: Path
) -> None:
    data = copy_demo(tmp_path / "data")
    readout = build_readout(load_dataset(data))
    pin = pins.pin_readout(data, readout, "dark_mode", "dark")
    (data / "dark_mode.csv").unlink()
    at = open_app(PAGE, {**OPENED, "pin": pin.id}, data=data)
    assert not at.exception
    assert "The data has changed since" in at.info[0].value
    assert at.title[0].value == "Dark mode by default"


def test_bad_pin_id_gets_a_message(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"pin": "../../etc"})
    assert not at.exception
    assert "is not a pin id" in at.error[0].value
    assert at.error[0].value.startswith("Pin '") and at.error[0].value.endswith(".")
    assert "Back to the portfolio" in [p.value for p in at.page_link]


@pytest.mark.parametrize(
    ("browser_url", "expected"),
    [
        ("http://review.example:8501/readout", "http://review.example:8501/readout?"),
        ("http://review.example:8501/", "http://review.example:8501/readout?"),
        ("https://tools.example/nsexp/north_star", "https://tools.example/nsexp/readout?"),
    ],
)
def test_copy_link_is_the_full_address(
    open_app: AppOpener, browser_url: str, expected: str
) -> None:
    at = open_app(PAGE, {"experiment": "dark_mode"})
    at.context = {"url": browser_url}
    at.run()
    assert at.code[0].value == expected + "experiment=dark_mode&variant=dark"


def test_bayesian_card_names_the_prior_it_rests_on(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    more = {"more": ["daily", "three_a_day"]}  # the prior is said in a card's details
    at = open_app(PAGE, {**OPENED, **more, "experiment": "push_reminders", "engine": "bayesian"})
    assert not at.exception
    dataset, settings = demo_copy_dataset, Settings(engine="bayesian")
    priors = readout_learning(dataset, settings).priors
    e = build_readout(dataset, settings, priors=priors).experiments["push_reminders"]
    for t in e.treatments:
        said = prior_sentence(t.north_star)
        assert said is not None and said.startswith("Prior from ")
        assert said in texts(at)
