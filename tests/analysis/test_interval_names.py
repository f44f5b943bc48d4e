"""Words that claim no more than the test: every interval is named for what it is (adjusted for
how many tests by which correction, always-valid, credible), the Methods footer says so under
each engine, a small win says what its test shows, and the false-positive risk states its α."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import CliRunner, make_units, result, write_frame, write_metrics
from statsmodels.stats.multitest import multipletests

from nsexp.analysis.intervals import interval_name
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import build_readout
from nsexp.analysis.reasons import explain
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset, load_dataset
from nsexp.learning.history import learned_readout
from nsexp.report.json import experiment_dict, experiment_from_dict

HOLM, BH, NONE = Settings(), Settings(correction="bh"), Settings(correction="none")
SEQ, BAYES = Settings(sequential=True), Settings(engine="bayesian")


@pytest.mark.parametrize(
    ("settings", "kind", "tests", "name"),
    [
        (HOLM, "decision", 7, "95% confidence interval, adjusted for 7 tests (Holm)"),
        (HOLM, "adjusted", None, "95% confidence interval, adjusted for multiple testing (Holm)"),
        (HOLM, "decision", 1, "95% confidence interval"),  # one test: nothing to adjust
        (BH, "decision", 3, "95% confidence interval, adjusted for 3 tests (Benjamini–Hochberg)"),
        (NONE, "decision", 7, "95% confidence interval, not adjusted for the 7 tests"),
        (NONE, "decision", None, "95% confidence interval, not adjusted for multiple testing"),
        (SEQ, "decision", 7, "95% always-valid interval, adjusted for 7 tests (Holm)"),
        (SEQ, "plain", 7, "95% always-valid interval"),
        (HOLM, "plain", 7, "95% confidence interval"),
        # the plain interval named beside an adjusted one (the bootstrap check, issue 20)
        (HOLM, "unadjusted", 7, "95% confidence interval, not adjusted for the 7 tests"),
        (HOLM, "unadjusted", None, "95% confidence interval, not adjusted for multiple testing"),
        (HOLM, "unadjusted", 1, "95% confidence interval"),
        (SEQ, "unadjusted", 7, "95% always-valid interval, not adjusted for the 7 tests"),
        (
            Settings(alpha=0.1),
            "decision",
            2,
            "90% confidence interval, adjusted for 2 tests (Holm)",
        ),
        (HOLM, "flat", None, "90% confidence interval"),
        (SEQ, "flat", None, "90% always-valid interval"),
        (BAYES, "decision", 7, "95% credible interval"),  # no correction under the posterior
        (Settings(engine="bayesian", sequential=True), "decision", 7, "95% credible interval"),
        (BAYES, "flat", None, "90% credible interval"),
        (BAYES, "plain", None, "95% confidence interval"),  # the frequentist figure beside it
        (BAYES, "adjusted", 4, "95% confidence interval, adjusted for 4 tests (Holm)"),
    ],
)
def test_interval_name_under_each_setting(
    settings: Settings, kind: str, tests: int | None, name: str
) -> None:
    assert interval_name(settings, kind, tests) == name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "kind", "header"),
    [
        (HOLM, "adjusted", "Adjusted CI (95%, Holm)"),
        (BH, "decision", "Adjusted CI (95%, Benjamini–Hochberg)"),
        (NONE, "adjusted", "Adjusted CI (95%, no correction)"),
        (SEQ, "adjusted", "Always-valid adjusted CI (95%, Holm)"),
        (HOLM, "plain", "CI (95%)"),
        (SEQ, "plain", "Always-valid CI (95%)"),
        (HOLM, "unadjusted", "Unadjusted CI (95%)"),
        (SEQ, "unadjusted", "Unadjusted always-valid CI (95%)"),
        (HOLM, "flat", "Flat-test CI (90%)"),
        (BAYES, "decision", "Credible interval (95%)"),
    ],
)
def test_short_names_head_the_tables(settings: Settings, kind: str, header: str) -> None:
    assert interval_name(settings, kind, short=True) == header  # type: ignore[arg-type]


def test_no_setting_combination_names_an_interval_for_more_than_it_is() -> None:
    kinds = ("decision", "plain", "unadjusted", "adjusted", "flat", "credible")
    grid = itertools.product(
        ("frequentist", "bayesian"), ("holm", "bh", "none"), (False, True), (None, 1, 5), kinds
    )
    for engine, correction, sequential, tests, kind in grid:
        s = Settings(engine=engine, correction=correction, sequential=sequential)  # type: ignore[arg-type]
        name = interval_name(s, kind, tests)  # type: ignore[arg-type]
        credible = kind == "credible" or (engine == "bayesian" and kind in ("decision", "flat"))
        assert ("credible" in name) == credible, name
        assert ("always-valid" in name) == (sequential and not credible), name
        adjusted = kind == "adjusted" or (kind == "decision" and engine == "frequentist")
        claims = ", adjusted for" in name
        assert claims == (adjusted and correction != "none" and tests != 1), name
        assert ("not adjusted" in name) == (
            tests != 1 and (kind == "unadjusted" or (adjusted and correction == "none"))
        ), name
        assert name.startswith("90%" if kind == "flat" else "95%"), name


def test_the_methods_footer_names_each_interval_for_what_it_is() -> None:
    footer = {
        key: methods(s)[0]
        for key, s in {"holm": HOLM, "none": NONE, "seq": SEQ, "bayes": BAYES}.items()
    }
    assert "adjusted for multiple testing (Holm)" in footer["holm"]
    assert "credible" not in footer["holm"] and "always-valid" not in footer["holm"]
    assert "not adjusted for multiple testing" in footer["none"]
    assert "95% always-valid interval, adjusted" in footer["seq"]
    assert "confidence interval" not in footer["seq"]
    bayes = footer["bayes"]
    assert "decides each metric (rel_cred_low/high) is its 95% credible interval" in bayes
    assert "90% credible interval" in bayes and "adjusted for" not in bayes


def test_the_terminal_footer_under_the_bayesian_engine(tmp_path: Path, run_cli: CliRunner) -> None:
    write_metrics(tmp_path)
    write_frame(make_units(3, {"control": 400, "t": 400}), tmp_path / "e.csv")
    code, out, err = run_cli("readout", tmp_path, "--engine", "bayesian", "--format", "table")
    assert code == 0, err
    last = out.rstrip().splitlines()[-1]
    assert "95% credible interval" in last and "confidence interval, adjusted" not in last


def test_family_size_counts_the_tests_holm_adjusts_together(tmp_path: Path) -> None:
    """Per experiment, the North Star across treatments and every other metric: the count and
    the adjusted p-values against statsmodels' Holm over the same hand-built families."""
    write_metrics(tmp_path)
    for seed, name in enumerate(("e1", "e2")):
        units = make_units(seed, {"control": 500, "t1": 500, "t2": 500}, {"t1": {"clicks": 1.2}})
        write_frame(units, tmp_path / f"{name}.csv")
    frame = build_readout(load_dataset(tmp_path), HOLM).results
    tested = frame.filter(pl.col("p_value").is_not_null() & pl.col("p_value").is_finite())
    for (experiment, role), group in tested.group_by("experiment", pl.col("role") == "north_star"):
        assert (group["family_size"] == group.height).all(), (experiment, role)
        holm = multipletests(group["p_value"].to_numpy(), method="holm")[1]
        np.testing.assert_allclose(group["p_adjusted"].to_numpy(), holm, rtol=1e-12)
    ns = tested.filter(pl.col("role") == "north_star")["family_size"]
    assert ns.to_list() == [2] * 4  # two treatments in each experiment
    assert tested["family_size"].max() > 2


def _north_star(**fields: object) -> MetricResult:
    """A significant North Star win of +0.6% with a ±1% threshold, overridden by `fields`."""
    base = dict(
        role="north_star",
        label="Lessons",
        practical_threshold=0.01,
        abs_effect=0.6,
        rel_effect=0.006,
        p_value=0.001,
        p_adjusted=0.002,
        significant=True,
        better=True,
        worse=False,
        engine="frequentist",
        family_size=1,
    )
    return result(**(base | fields))


def test_a_small_win_says_what_its_test_shows() -> None:
    short = _north_star(rel_ci_adj_low=0.002, rel_ci_adj_high=0.008)
    (said,) = [
        r.text for r in explain("north_star_win", [short], HOLM, []) if r.kind == "north_star"
    ]
    assert said == (
        "The lift is significant, but at +0.6% it is smaller than the ±1% the team set as worth "
        "acting on; its 95% confidence interval [+0.2%, +0.8%] lies short of ±1%: the test "
        "shows a lift too small to act on."
    )
    wide = _north_star(rel_ci_adj_low=0.001, rel_ci_adj_high=0.013, family_size=2)
    (said,) = [
        r.text for r in explain("north_star_win", [wide], HOLM, []) if r.kind == "north_star"
    ]
    assert said.endswith(
        "its 95% confidence interval, adjusted for 2 tests (Holm) [+0.1%, +1.3%] reaches past "
        "±1%, so the true lift may or may not be worth acting on."
    )
    assert "real but" not in said
    # lower is better: the interval's far end in the good direction is its low end
    down = _north_star(
        direction="decrease",
        rel_effect=-0.006,
        abs_effect=-0.6,
        rel_ci_adj_low=-0.012,
        rel_ci_adj_high=-0.001,
    )
    (said,) = [
        r.text for r in explain("north_star_win", [down], HOLM, []) if r.kind == "north_star"
    ]
    assert "reaches past ±1%" in said
    big = _north_star(rel_effect=0.02, rel_ci_adj_low=0.01, rel_ci_adj_high=0.03)
    assert not [r for r in explain("north_star_win", [big], HOLM, []) if r.kind == "north_star"]


def test_the_false_positive_risk_states_its_one_sided_alpha(demo_dataset: Dataset) -> None:
    dataset = demo_dataset
    readout = learned_readout(dataset, HOLM)
    wins = [
        (e, t)
        for e in readout.experiments.values()
        for t in e.treatments
        if t.verdict == "north_star_win"
    ]
    assert wins
    for e, t in wins:
        r = t.learned.false_positive_risk
        assert r is not None and r.risk is not None and r.power is not None
        assert r.prior_null is not None
        # by hand: P(null | win) with the one-sided α/2 = 0.025 (Kohavi, Deng & Vermeer 2022)
        pi, power = r.prior_null, r.power
        assert r.risk == pytest.approx(0.025 * pi / (0.025 * pi + power * (1 - pi)), rel=1e-12)
        published = next(c for c in experiment_dict(e)["comparisons"] if c["variant"] == t.variant)[
            "false_positive_risk"
        ]
        assert published["alpha_one_sided"] == 0.025 and published["alpha"] == 0.05
        back = experiment_from_dict(json.loads(json.dumps(experiment_dict(e))), HOLM)
        assert back.treatment(t.variant).learned.false_positive_risk == r
        (said,) = [x.text for x in t.reasons if x.kind == "risk"]
        assert "a model estimate from this portfolio's history" in said
        assert f"{r.n_wins} of {r.n_history} comparisons in other experiments" in said
        assert "one-sided α/2 = 0.025" in said and "ideas change nothing" not in said
