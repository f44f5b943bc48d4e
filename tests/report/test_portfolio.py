"""nsexp.report.portfolio: the Portfolio page's table, filters and counts."""

from __future__ import annotations

import polars as pl
import pytest
from helpers import DEMO_DATA

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.io import load_dataset
from nsexp.report.portfolio import (
    badge_verdicts,
    filter_portfolio,
    portfolio_counts,
    portfolio_table,
    readout_url,
)


@pytest.fixture(scope="module")
def demo() -> Readout:
    """The bundled demo data read out with the default settings."""
    return build_readout(load_dataset(DEMO_DATA))


def test_portfolio_table_one_row_per_experiment_worst_first(demo: Readout) -> None:
    table = portfolio_table(demo)
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
    assert dark["north_star"].startswith(f"{ns.rel_effect * 100:+.1f}%".replace("-", "−"))


def test_badge_verdicts_maps_each_badge_to_its_verdict(demo: Readout) -> None:
    badges = badge_verdicts(portfolio_table(demo))
    assert badges["three_a_day: Guardrail breach"] == "guardrail_breach"
    assert badges["Vanity only"] == "vanity_only"
    assert list(badges) == sorted(badges)


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
    counts = portfolio_counts(demo)
    verdicts = [{t.verdict for t in e.treatments} for e in demo.experiments.values()]
    assert counts["experiments"] == len(demo.experiments)
    assert counts["vanity_only"] == sum("vanity_only" in v for v in verdicts)
    assert counts["attention"] == sum(
        bool(v & {"invalid", "north_star_loss", "guardrail_breach"}) for v in verdicts
    )


def test_readout_url_encodes_the_query() -> None:
    url = readout_url({"experiment": "a b", "workspace": "0123456789ab"})
    assert url == "readout?experiment=a+b&workspace=0123456789ab"
