"""The Portfolio page in AppTest: counts, verdict badges, filters in the URL, links to readouts."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from app_helpers import portfolio_count_line
from app_helpers import portfolio_lines as table
from app_helpers import portfolio_links as links
from helpers import AppOpener, copy_demo
from streamlit.testing.v1 import AppTest

from nsexp.analysis.readout import Readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout
from nsexp.report.portfolio import (
    filter_portfolio,
    portfolio_counts,
    portfolio_table,
    vanity_sentence,
)
from nsexp.report.text import md_escape
from nsexp.store import workspaces as workspace

PAGE = "pages/portfolio.py"


@pytest.fixture(scope="module")
def readout(demo_copy_dataset: Dataset) -> Readout:
    """The demo copy read out with the default settings (and its history, as the app does),
    straight from the core."""
    return learned_readout(demo_copy_dataset, Settings())


def metrics(at: AppTest) -> dict[str, str]:
    """The counts by label (one Markdown line, once four st.metric tiles)."""
    return portfolio_count_line(at)


def rows(at: AppTest) -> list[str]:
    """The experiment ids of the table's rows (one per treatment), in order."""
    return [parse_qs(urlsplit(u).query)["experiment"][0] for u in links(at)]


def running(readout: Readout) -> pl.DataFrame:
    """The portfolio table of the running experiments, the page's default view."""
    return filter_portfolio(portfolio_table(readout), [], None, "", "running")


def with_verdict(readout: Readout, *verdicts: str) -> set[str]:
    """Running experiments with a treatment of any of these verdicts."""
    return {
        e.id
        for e in readout.experiments.values()
        if e.status == "running" and any(t.verdict in verdicts for t in e.treatments)
    }


def test_portfolio_counts_and_rows(open_app: AppOpener, readout: Readout) -> None:
    at = open_app(PAGE)
    assert not at.exception
    assert at.title[0].value == "Experiment portfolio"
    counts = portfolio_counts(running(readout))
    assert counts["experiments"] == 11  # the showcase; the 44 past experiments are history
    assert metrics(at) == {
        "Experiments": str(counts["experiments"]),
        "Won the North Star": str(counts["north_star_win"]),
        "Vanity only": str(counts["vanity_only"]),
        "Need attention": str(counts["attention"]),
    }
    assert vanity_sentence(running(readout), "running") in [s.value for s in at.subheader]
    assert rows(at) == running(readout)["experiment"].to_list()
    push = [line for line in table(at) if "experiment=push_reminders&" in line]
    assert ":green-badge[North Star win]" in push[0] and ":red-badge[Guardrail breach]" in push[1]
    assert [u for u in links(at) if "push_reminders" in u] == [
        "readout?experiment=push_reminders&variant=daily",
        "readout?experiment=push_reminders&variant=three_a_day",
    ]
    assert all(" · 21 days |" in line for line in push)
    history = open_app(PAGE, {"status": "concluded", "all_rows": "true"})
    undated = [line for line in table(history) if "experiment=past_" in line]
    assert len(undated) == 44 and not any("days" in line for line in undated)  # never "None"


def test_verdict_filter_from_the_url(open_app: AppOpener, readout: Readout) -> None:
    at = open_app(PAGE, {"verdict": ["vanity_only", "north_star_loss"]})
    assert at.multiselect(key="verdict").value == ["north_star_loss", "vanity_only"]
    assert set(rows(at)) == with_verdict(readout, "vanity_only", "north_star_loss")


def test_filters_change_the_rows_and_the_url(open_app: AppOpener, readout: Readout) -> None:
    at = open_app(PAGE)
    at.multiselect(key="verdict").select("north_star_win").run()
    assert at.query_params["verdict"] == "north_star_win"
    assert set(rows(at)) == with_verdict(readout, "north_star_win")

    at.selectbox(key="owner").select("Dana Okafor (Growth)").run()
    assert at.query_params["owner"] == "Dana Okafor (Growth)"
    owned = {
        e.id for e in readout.experiments.values() if e.experiment.info.owner.startswith("Dana")
    }
    assert set(rows(at)) == with_verdict(readout, "north_star_win") & owned

    at.multiselect(key="verdict").unselect("north_star_win").run()
    at.text_input(key="q").input("reminder").run()
    assert at.query_params["q"] == "reminder"
    assert "verdict" not in at.query_params
    assert rows(at) == ["push_reminders", "push_reminders"]  # its two treatments

    at.text_input(key="q").input("nothing matches this").run()
    assert not table(at)
    assert "No experiment matches" in at.info[0].value


def test_links_carry_workspace_and_settings(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"alpha": "0.01", "correction": "bh"})
    found = links(at)
    assert found and all("alpha=0.01" in u and "correction=bh" in u for u in found)


def test_alpha_changes_the_verdicts(open_app: AppOpener, demo_copy_dataset: Dataset) -> None:
    at = open_app(PAGE)
    at.button_group(key="alpha").set_value("0.01").run()
    strict = learned_readout(demo_copy_dataset, Settings(alpha=0.01))
    counts = portfolio_counts(running(strict))
    assert metrics(at)["Won the North Star"] == str(counts["north_star_win"])
    assert metrics(at)["Vanity only"] == str(counts["vanity_only"])
    assert vanity_sentence(running(strict), "running") in [s.value for s in at.subheader]


def test_bad_filters_warn_and_are_ignored(open_app: AppOpener, readout: Readout) -> None:
    at = open_app(PAGE, {"verdict": ["bogus", "flat"], "owner": "Nobody"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "'bogus'" in warnings and "'Nobody'" in warnings
    assert at.selectbox(key="owner").value is None
    assert set(rows(at)) == with_verdict(readout, "flat")
    assert at.query_params["verdict"] == "flat"
    assert "owner" not in at.query_params


def test_a_rejected_link_value_is_named_cut_short_and_shown_inert(open_app: AppOpener) -> None:
    payload = "![x](https://host.invalid/a.png) [sign in](https://host.invalid)" + "x" * 200
    at = open_app(PAGE, {"status": payload, "verdict": ["flat", "**bold**"]})
    assert not at.exception
    status, verdict = (w.value for w in at.warning)  # one warning per parameter
    assert status.startswith("The link asks for status = ")
    assert "(one of running, concluded, all)" in status
    assert "![" not in status and "](" not in status  # no image, no link can form
    assert md_escape(payload[:40] + "…") in status and "x" * 41 not in status
    assert md_escape("verdict = '**bold**', which is not a verdict (one of invalid,") in verdict
    assert "status" not in at.query_params and at.query_params["verdict"] == "flat"
    assert at.button_group(key="status").value == "running"


def test_bad_workspace_falls_back_to_the_bundled_data(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"workspace": "../../etc"})
    assert not at.exception
    assert "Showing the bundled data" in at.warning[0].value
    assert at.warning[0].value.startswith("Workspace '")
    assert rows(at)


def test_workspace_parameter_reads_that_workspace_and_links_carry_it(
    open_app: AppOpener, tmp_path: Path
) -> None:
    root = copy_demo(tmp_path / "data")
    names = ("dark_mode.csv", "push_reminders.parquet", "metrics.toml", "experiments.toml")
    info = workspace.create_workspace(root, {n: (root / n).read_bytes() for n in names})
    at = open_app(PAGE, {"workspace": info.id}, data=root)
    assert not at.exception
    assert sorted(set(rows(at))) == ["dark_mode", "push_reminders"]
    assert all(f"workspace={info.id}" in u for u in links(at))
    assert f"workspace {info.id}" in at.caption[0].value

    readout = open_app(
        "pages/readout.py", {"workspace": info.id, "experiment": "hearts_system"}, data=root
    )
    said = f"experiment = 'hearts_system', which is not an experiment in workspace {info.id}"
    assert md_escape(said) in readout.warning[0].value


def test_broken_data_shows_the_message_not_a_traceback(open_app: AppOpener, tmp_path: Path) -> None:
    root = copy_demo(tmp_path / "data")
    (root / "metrics.toml").unlink()
    at = open_app(PAGE, data=root)
    assert not at.exception
    assert "metric catalog not found" in at.error[0].value
    assert "Check the data on the Data page" in [p.value for p in at.page_link]


def test_each_name_links_to_its_readout_with_the_view_in_the_url(
    open_app: AppOpener, demo_copy_dataset: Dataset
) -> None:
    at = open_app(PAGE, {"alpha": "0.01"})
    shown = running(learned_readout(demo_copy_dataset, Settings(alpha=0.01)))
    queries = [parse_qs(urlsplit(u).query) for u in links(at)]
    assert queries == [
        {"experiment": [e], "variant": [v], "alpha": ["0.01"]}
        for e, v in shown.select("experiment", "variant").iter_rows()
    ]
    name = shown["name"][1]
    assert table(at)[1].startswith(f"| [{md_escape(name)}](readout?")
    # and the readout that link opens names the experiment
    page = open_app("pages/readout.py", {k: v[0] for k, v in queries[1].items()})
    assert name in [t.value for t in page.title]


def test_a_long_list_shows_its_first_rows_until_show_all(open_app: AppOpener) -> None:
    """The first ROWS_SHOWN comparisons, most serious first; "Show all" (`all_rows=true`)
    lists every one, and its state is in the URL."""
    at = open_app(PAGE, {"status": "concluded"})
    every = open_app(PAGE, {"status": "concluded", "all_rows": "true"})
    assert len(rows(every)) > 20 and rows(at) == rows(every)[:20]
    show = at.toggle(key="all_rows")
    assert show.label == f"Show all {len(rows(every))} comparisons" and not show.value
    show.set_value(True).run()
    assert at.query_params["all_rows"] == "true" and rows(at) == rows(every)
    assert "all_rows" not in [t.key for t in open_app(PAGE).toggle]  # a short list is whole
