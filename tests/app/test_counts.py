"""Counts mean one thing per word on every page: the Portfolio's tiles, the North Star page's
health line and scoreboard and Insights' wins, read off the pages in AppTest, reconcile with
counts made here straight from the readout JSON (`nsexp readout --format json`) by the
definitions of docs/glossary.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from app_helpers import popover_text, portfolio_count_line, unescape
from frozen import cli_json
from helpers import AppOpener
from streamlit.testing.v1 import AppTest

from nsexp.report import glossary

ATTENTION = {"invalid", "north_star_loss", "guardrail_breach"}
DECISIVE = {"north_star_win", "north_star_loss", "guardrail_breach", "flat"}


@pytest.fixture(scope="module")
def counted(demo_copy: Path) -> dict[str, Any]:
    """The counts by hand from the readout JSON."""
    doc = cli_json("readout", demo_copy)
    experiments = doc["experiments"]
    valid = [(e, c) for e in experiments for c in e["comparisons"] if c["verdict"] != "invalid"]
    ns = [(c, next(m for m in c["metrics"] if m["role"] == "north_star")) for _, c in valid]
    placed = [(c, m) for c, m in ns if m["rel_effect"] is not None]
    better = Counter(c["verdict"] for c, m in placed if m["significant"] and m["better"])
    verdicts = {e["experiment"]: {c["verdict"] for c in e["comparisons"]} for e in experiments}
    teams: dict[str, list[set[str]]] = {}
    for e in experiments:
        teams.setdefault(e["owner"], []).append(verdicts[e["experiment"]])
    return {
        "experiments": len(experiments),
        "valid": len(valid),
        "moved": sum(m["significant"] for _, m in ns),
        "better": sum(better.values()),
        "worse": sum(m["significant"] and m["worse"] for _, m in placed),
        "better_by_verdict": better,
        "win_comparisons": sum(c["verdict"] == "north_star_win" for _, c in valid),
        "won": sum("north_star_win" in v for v in verdicts.values()),
        "vanity": sum("vanity_only" in v for v in verdicts.values()),
        "attention": sum(bool(v & ATTENTION) for v in verdicts.values()),
        "several": sorted(
            e["name"]
            for e in experiments
            if sum(
                (
                    "north_star_win" in verdicts[e["experiment"]],
                    "vanity_only" in verdicts[e["experiment"]],
                    bool(verdicts[e["experiment"]] & ATTENTION),
                )
            )
            > 1
        ),
        "teams": {
            owner: (
                len(vs),
                sum("north_star_win" in v for v in vs),
                sum("invalid" not in v and bool(v & DECISIVE) for v in vs),
            )
            for owner, vs in teams.items()
        },
    }


def page_text(at: AppTest) -> str:
    """Markdown and captions of a page, Markdown escapes removed."""
    text = " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def test_the_counts_reconcile_by_hand(counted: dict[str, Any]) -> None:
    """The demo's story: the North Star got better in 19 comparisons, 17 of them wins and 2
    guardrail breaches, and each won experiment won in one comparison."""
    assert counted["better_by_verdict"] == {"north_star_win": 17, "guardrail_breach": 2}
    assert counted["better"] == counted["win_comparisons"] + 2 == 19
    assert counted["won"] == counted["win_comparisons"] == 17
    assert counted["moved"] == counted["better"] + counted["worse"]


def test_portfolio_tiles_count_experiments_and_say_which_count_twice(
    open_app: AppOpener, counted: dict[str, Any]
) -> None:
    at = open_app("pages/portfolio.py", {"status": "all"})
    assert not at.exception
    assert portfolio_count_line(at) == {
        "Experiments": str(counted["experiments"]),
        "Won the North Star": str(counted["won"]),
        "Vanity only": str(counted["vanity"]),
        "Need attention": str(counted["attention"]),
    }
    # what each count means: the glossary's words, in the page's legend popover
    legend = popover_text(at, "What the counts and verdicts mean")
    for word in ("won", "needs attention"):
        assert unescape(glossary.help_text(word)) in legend
    text = page_text(at)
    assert counted["several"] and all(name in text for name in counted["several"])
    assert "can count under several" in text


def test_north_star_health_and_scoreboard(open_app: AppOpener, counted: dict[str, Any]) -> None:
    at = open_app("pages/north_star.py")
    assert not at.exception
    health = next(m.value for m in at.markdown if m.value.startswith("**Health.**"))
    assert f"in {counted['moved']} of {counted['valid']} valid comparisons" in health
    assert f"{counted['better']} better, {counted['worse']} worse" in health
    assert (
        f"The {counted['better']} better are {counted['win_comparisons']} North Star wins and "
        f"{counted['better_by_verdict']['guardrail_breach']} guardrail breaches" in health
    )
    # the scoreboard, found by its columns (the targets table comes first)
    board = pl.from_pandas(next(d.value for d in at.dataframe if "Won" in d.value.columns))
    for row in board.iter_rows(named=True):
        n, won, decisive = counted["teams"][row["Team"]]
        assert row["Experiments"] == str(n)
        assert row["Won"].startswith(f"{won} of {n} ")
        assert row["Concluded with a result"].startswith(f"{decisive} of {n} ")
        assert row["Per win (median)"].endswith(f"({won} wins)")
    assert sum(t[1] for t in counted["teams"].values()) == counted["won"]
    assert "never added up" in page_text(at)


def test_insights_counts_the_same_wins(open_app: AppOpener, counted: dict[str, Any]) -> None:
    at = open_app("pages/insights.py")
    assert not at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["North Star wins (comparisons)"] == str(counted["win_comparisons"])
    text = page_text(at)
    assert f"{counted['win_comparisons']} North Star wins" in text
    assert "sum of" not in text and "not a sum" in text
