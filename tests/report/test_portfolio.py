"""nsexp.report.portfolio: the Portfolio page's table, filters and counts."""

from __future__ import annotations

import polars as pl
import pytest

from nsexp import format as fmt
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.io import Dataset
from nsexp.report.portfolio import (
    filter_portfolio,
    portfolio_counts,
    portfolio_table,
    readout_url,
    tiles_note,
    vanity_sentence,
)


@pytest.fixture(scope="module")
def demo(demo_dataset: Dataset) -> Readout:
    """The bundled demo data read out with the default settings."""
    return build_readout(demo_dataset)


def test_portfolio_table_one_row_per_treatment_worst_first(demo: Readout) -> None:
    table = portfolio_table(demo)
    assert table.height == sum(len(e.treatments) for e in demo.experiments.values())
    assert table["rank"].is_sorted()
    push = table.filter(pl.col("experiment") == "push_reminders")
    assert push["variant"].to_list() == ["daily", "three_a_day"]
    assert push["verdict"].to_list() == ["north_star_win", "guardrail_breach"]
    assert push["badge"].to_list() == ["North Star win", "Guardrail breach"]
    assert set(push["rank"]) == {VERDICTS.index("guardrail_breach")}  # the experiment's worst
    assert set(push["days"]) == {demo.experiments["push_reminders"].days}
    assert set(push["units"]) == {demo.experiments["push_reminders"].units}
    dark = table.filter(pl.col("experiment") == "dark_mode").row(0, named=True)
    ns = demo.experiments["dark_mode"].treatments[0].north_star
    assert dark["badge"] == VERDICT_LABELS["flat"]
    low, high = ns.decision_interval
    assert dark["north_star"] == f"{fmt.pct(ns.rel_effect)} {fmt.pct_ci(low, high)}"
    invalid = table.filter(pl.col("verdict") == "invalid")
    assert invalid.height and set(invalid["north_star"]) == {"—"}  # nothing to read


def test_status_splits_the_showcase_from_the_history(demo: Readout) -> None:
    table = portfolio_table(demo)
    running = filter_portfolio(table, [], None, "", "running")
    concluded = filter_portfolio(table, [], None, "", "concluded")
    assert running["experiment"].n_unique() == 11
    assert concluded["experiment"].n_unique() == 44
    assert all(n.startswith("Past:") for n in concluded["name"])
    assert vanity_sentence(running, "running").endswith(
        "of 11 running experiments are vanity only: metrics improved, the North Star did not move."
    )


def test_filter_portfolio(demo: Readout) -> None:
    table = portfolio_table(demo)
    vanity = filter_portfolio(table, ["vanity_only"], None, "")
    expected = {
        e.id
        for e in demo.experiments.values()
        if any(t.verdict == "vanity_only" for t in e.treatments)
    }
    assert set(vanity["experiment"]) == expected
    both = filter_portfolio(table, ["vanity_only", "north_star_win"], None, "")
    assert both.height > vanity.height
    owner = filter_portfolio(table, [], "Dana Okafor (Growth)", "")
    assert set(owner["owner"]) == {"Dana Okafor (Growth)"}
    found = filter_portfolio(table, [], None, "  REMINDER ")
    assert "push_reminders" in set(found["experiment"])
    assert filter_portfolio(table, [], None, "(.*").height == 0
    assert filter_portfolio(table, [], None, "").height == table.height


def test_portfolio_counts(demo: Readout) -> None:
    counts = portfolio_counts(portfolio_table(demo))
    verdicts = [{t.verdict for t in e.treatments} for e in demo.experiments.values()]
    assert counts["experiments"] == len(demo.experiments)
    assert counts["vanity_only"] == sum("vanity_only" in v for v in verdicts)
    assert counts["attention"] == sum(
        bool(v & {"invalid", "north_star_loss", "guardrail_breach"}) for v in verdicts
    )


def test_tiles_note_names_overlaps_and_the_leading_wins_no_tile_counts() -> None:
    table = pl.DataFrame(
        {
            "experiment": ["a", "a", "b", "c"],
            "name": ["Alpha", "Alpha", "Beta", "Gamma"],
            "verdict": ["north_star_win", "guardrail_breach", "leading_win", "flat"],
        }
    )
    note = tiles_note(table)
    assert "Alpha (won, needs attention)" in note
    assert note.endswith(
        "Leading win, counted under none: Beta (a validated input improved "
        "while the North Star cannot tell yet)."
    )
    assert "Leading win" not in tiles_note(table.filter(pl.col("experiment") != "b"))


def test_readout_url_encodes_the_query() -> None:
    url = readout_url({"experiment": "a b", "workspace": "0123456789ab"})
    assert url == "readout?experiment=a+b&workspace=0123456789ab"
