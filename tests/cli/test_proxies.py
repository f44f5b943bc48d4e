"""`nsexp proxies` on the demo history and bad input; history quoted by `nsexp readout`."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from frozen import FROZEN, differences
from helpers import DEMO_DATA, CliRunner, make_units, write_frame, write_metrics

from nsexp.cli import main
from nsexp.demo.history import history_ids

DATA = DEMO_DATA
FIELDS = {
    "metric",
    "role",
    "n_comparisons",
    "n_moved",
    "sign_agreement",
    "corrected_correlation",
    "correlation_ci_low",
    "correlation_ci_high",
    "label",
    "within_covariance",
}


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def report() -> dict:
    """`nsexp proxies data/ --format json`, parsed."""
    code, text = _run("proxies", str(DATA), "--format", "json")
    assert code == 0
    return json.loads(text)


def test_json_fields_and_demo_labels(report: dict) -> None:
    rows = {r["metric"]: r for r in report["metrics"]}
    assert "lessons_completed" not in rows  # the North Star is not its own proxy
    for metric, row in rows.items():
        assert set(row) >= FIELDS
        # the demo's summary rows carry cross sums, except for the ratio metric (its parts
        # would need more columns): its covariance with the North Star is assumed zero there
        ratio = metric == "minutes_per_session"
        assert row["within_covariance"] == ("assumed_zero" if ratio else "computed"), metric
        if metric != "first_day_lesson":  # measured only in the current experiments
            assert row["n_comparisons"] >= len(history_ids())
    assert rows["first_day_lesson"]["label"] == "too_few"
    # the demo history is built so day7_retention's true effects track the North Star's (0.9)
    # and page_views' do not (0.0) although page_views moves often
    assert rows["day7_retention"]["label"] == "predictive"
    assert rows["page_views"]["label"] == "vanity"
    assert rows["page_views"]["n_moved"] >= 20


def test_cumulative_impact_is_shrunk(report: dict) -> None:
    impact = report["cumulative_impact"]
    assert impact["metric"] == "lessons_completed"
    assert impact["n_wins"] == len(impact["wins"]) > 0
    assert 0 < impact["shrunk_total"] < impact["naive_total"]
    for win in impact["wins"]:
        assert win["verdict"] == "north_star_win"
        assert win["shrunk_effect"] < win["rel_effect"]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_text_formats(fmt: str) -> None:
    code, text = _run("proxies", str(DATA), "--format", fmt)
    assert code == 0
    assert "day7_retention" in text and "predictive" in text
    assert "winner's curse" in text
    assert "assumed zero" in text


def test_small_data_is_too_few(data_dir: Path, run_cli: CliRunner) -> None:
    code, out, err = run_cli("proxies", data_dir, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)["metrics"]
    assert rows and all(r["label"] == "too_few" for r in rows)
    assert all(r["comparisons_needed"] == 20 - r["n_comparisons"] for r in rows)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["proxies", "no/such/dir"], "no such file"),
        (["proxies", str(DATA), "--alpha", "0.7"], "alpha"),
        (["proxies", str(DATA), "--format", "html"], "invalid choice"),
        (["proxies"], "required"),
    ],
)
def test_bad_input_exits_2(args: list[str], needle: str, run_cli: CliRunner) -> None:
    code, out, err = run_cli(*args)
    assert code == 2
    assert out == ""
    assert err.startswith("error:") and err.count("\n") == 1
    assert needle in err


def test_readout_quotes_the_history(run_cli: CliRunner) -> None:
    code, out, err = run_cli(
        "readout", DATA, "--experiment", "animated_onboarding", "--format", "json"
    )
    assert code == 0, err
    (comparison,) = json.loads(out)["experiments"][0]["comparisons"]
    kinds = comparison["reason_kinds"]
    assert len(kinds) == len(comparison["reasons"])
    history = [r for r, k in zip(comparison["reasons"], kinds, strict=True) if k == "history"]
    assert all(r.startswith("History:") for r in history)
    assert any(
        "when Page views moved in other experiments, the North Star followed" in r for r in history
    )
    assert any("Page views → Lessons completed: vanity" in r for r in history)


def test_no_valid_comparisons_is_said(tmp_path: Path, run_cli: CliRunner) -> None:
    write_frame(make_units(1, {"control": 300, "t": 500}), tmp_path / "srm.csv")  # SRM: invalid
    write_metrics(tmp_path)
    for fmt in ("table", "markdown"):
        code, out, _ = run_cli("proxies", tmp_path, "--format", fmt)
        assert code == 0 and "No valid comparisons" in out
    code, out, _ = run_cli("proxies", tmp_path, "--format", "json")
    assert code == 0 and json.loads(out)["metrics"] == []


def test_the_alias_prints_the_json_it_always_printed(report: dict) -> None:
    """`nsexp proxies` is an alias over the tree's North Star edges: its JSON is the one frozen
    before the tree became the one edge vocabulary, figures to 1e-12, no field lost and none
    added but the `schema_version` every JSON output carries."""
    frozen = json.loads((FROZEN / "demo_proxies.json").read_text())
    assert differences(frozen, report) == []
    assert report["schema_version"] == 1
    assert differences({k: v for k, v in report.items() if k != "schema_version"}, frozen) == []


def test_tree_north_star_edges_are_what_the_alias_reports(report: dict, run_cli: CliRunner) -> None:
    code, out, err = run_cli("tree", DATA, "--north-star-edges", "--format", "json")
    assert code == 0, err
    tree = json.loads(out)
    assert {e["parent"] for e in tree["edges"]} == {tree["north_star"]}
    edges = {e["child"]: e for e in tree["edges"]}
    assert set(edges) == {r["metric"] for r in report["metrics"]}
    for row in report["metrics"]:
        edge = edges[row["metric"]]
        assert row["n_ns_followed"] == edge["n_parent_followed"]
        assert row["ns_followed_share"] == edge["parent_followed"]
        same = ("n_comparisons", "n_moved", "corrected_correlation", "slope", "label")
        assert {k: row[k] for k in same} == {k: edge[k] for k in same}


def test_tree_takes_the_control_arm(data_dir: Path, run_cli: CliRunner) -> None:
    def moved(*extra: str) -> dict[str, int]:
        code, out, err = run_cli("tree", data_dir, "--format", "json", *extra)
        assert code == 0, err
        return {e["child"]: e["n_moved"] for e in json.loads(out)["edges"]}

    # beta raised errors against control; as the control, both other arms differ from it there
    assert moved()["errors"] == 1
    assert moved("--control", "beta")["errors"] == 2
    code, out, err = run_cli("tree", data_dir, "--control", "nosuch")
    assert code == 2 and out == "" and err.count("\n") == 1 and "nosuch" in err
