"""The Portfolio page in AppTest: counts, verdict badges, filters in the URL, links to readouts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers import AppOpener, copy_demo
from streamlit.proto.Dataframe_pb2 import Dataframe
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
    """The st.metric cards by label."""
    return {m.label: m.value for m in at.metric}


def rows(at: AppTest) -> list[str]:
    """The experiment ids of the table's rows (one per treatment), in order."""
    link = at.dataframe[0].value["readout"]
    return [u.split("experiment=")[1].split("&")[0] for u in link]


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
    shown = at.dataframe[0].value
    push = shown[shown["experiment"] == "push_reminders"]
    assert [list(b) for b in push["badge"]] == [["North Star win"], ["Guardrail breach"]]
    assert list(push["readout"]) == [
        "readout?experiment=push_reminders&variant=daily",
        "readout?experiment=push_reminders&variant=three_a_day",
    ]
    assert set(push["days"]) == {"21"}
    history = open_app(PAGE, {"status": "concluded"}).dataframe[0].value
    undated = history[history["experiment"].str.startswith("past_")]
    assert len(undated) == 44 and set(undated["days"]) == {"—"}  # a dash, never "None"


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
    assert not at.dataframe
    assert "No experiment matches" in at.info[0].value


def test_links_carry_workspace_and_settings(open_app: AppOpener) -> None:
    at = open_app(PAGE, {"alpha": "0.01", "correction": "bh"})
    links = at.dataframe[0].value["readout"].tolist()
    assert all("alpha=0.01" in u and "correction=bh" in u for u in links)


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
    assert at.dataframe[0].value.shape[0] > 0


def test_workspace_parameter_reads_that_workspace_and_links_carry_it(
    open_app: AppOpener, tmp_path: Path
) -> None:
    root = copy_demo(tmp_path / "data")
    names = ("dark_mode.csv", "push_reminders.parquet", "metrics.toml", "experiments.toml")
    info = workspace.create_workspace(root, {n: (root / n).read_bytes() for n in names})
    at = open_app(PAGE, {"workspace": info.id}, data=root)
    assert not at.exception
    assert sorted(set(rows(at))) == ["dark_mode", "push_reminders"]
    assert all(f"workspace={info.id}" in u for u in at.dataframe[0].value["readout"])
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


def test_a_click_on_a_row_opens_its_readout_with_the_view_in_the_url(
    open_app: AppOpener,
) -> None:
    at = open_app(PAGE, {"alpha": "0.01"})
    (table,) = at.dataframe
    assert list(table.proto.selection_mode) == [Dataframe.SelectionMode.SINGLE_CELL]  # no checkbox
    shown = table.value
    at.session_state["portfolio_table"] = {
        "selection": {"rows": [], "columns": [], "cells": [[1, "owner"]]}
    }
    at.run()
    assert not at.exception
    assert at.query_params["experiment"] == shown["experiment"].iloc[1]
    assert at.query_params["variant"] == shown["variant"].iloc[1]
    assert at.query_params["alpha"] == "0.01"
    assert shown["name"].iloc[1] in [t.value for t in at.title]  # its readout page ran
