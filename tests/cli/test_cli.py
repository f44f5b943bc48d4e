"""`nsexp readout`: the JSON contract, the formats, the options, and the figures it prints."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import DEMO_DATA, REPO, CliRunner, make_units, write_frame, write_metrics
from scipy import stats

from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.cli.main import COMMANDS, build_parser
from nsexp.config.catalog import ROLES, TYPES

# Issue 2's JSON example: field -> the types its value may take (None only where a figure can be
# missing, e.g. a relative effect against a control of 0).
NUM = (float, int)
EXPERIMENT_FIELDS = {
    "experiment": (str,),
    "control": (str,),
    "srm": (dict,),
    "comparisons": (list,),
}
SRM_FIELDS = {"p_value": NUM, "mismatch": (bool,), "counts": (dict,)}
COMPARISON_FIELDS = {
    "variant": (str,),
    "verdict": (str,),
    "north_star_status": (str,),
    "reasons": (list,),
    "metrics": (list,),
}
METRIC_FIELDS = {
    "metric": (str,),
    "role": (str,),
    "type": (str,),
    "n_control": (int,),
    "n_treatment": (int,),
    "control_mean": NUM,
    "treatment_mean": NUM,
    "abs_effect": NUM,
    "abs_ci_low": NUM,
    "abs_ci_high": NUM,
    "rel_effect": NUM,
    "rel_ci_low": NUM,
    "rel_ci_high": NUM,
    "p_value": NUM,
    "p_adjusted": NUM,
    "significant": (bool,),
}


def check_fields(obj: dict[str, Any], fields: dict[str, tuple[type, ...]], where: str) -> None:
    """Every contract field is present with one of its types (bool is not a number here)."""
    for name, types in fields.items():
        assert name in obj, f"{where}: no field {name}"
        value = obj[name]
        if bool not in types:
            assert not isinstance(value, bool), f"{where}.{name} is a bool"
        assert isinstance(value, types), f"{where}.{name} = {value!r}"


def read_json(run_cli: CliRunner, *args: str | Path) -> dict[str, Any]:
    """Run the CLI with --format json; exit 0 and strict JSON (no NaN tokens)."""
    code, out, err = run_cli("readout", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out, parse_constant=lambda token: pytest.fail(f"{token} in JSON"))


def test_json_contract(data_dir: Path, run_cli: CliRunner) -> None:
    doc = read_json(run_cli, data_dir)
    assert isinstance(doc["experiments"], list) and len(doc["experiments"]) == 1
    for e in doc["experiments"]:
        check_fields(e, EXPERIMENT_FIELDS, "experiment")
        check_fields(e["srm"], SRM_FIELDS, "srm")
        assert all(isinstance(k, str) and type(v) is int for k, v in e["srm"]["counts"].items())
        assert e["srm"]["counts"] == {"alpha": 1400, "beta": 1600, "control": 1500}
        assert [c["variant"] for c in e["comparisons"]] == ["alpha", "beta"]
        for c in e["comparisons"]:
            check_fields(c, COMPARISON_FIELDS, "comparison")
            assert c["verdict"] in VERDICTS
            assert c["north_star_status"] in ("moved", "flat", "inconclusive")
            assert c["reasons"] and all(isinstance(r, str) and r for r in c["reasons"])
            assert c["metrics"][0]["metric"] == "lessons"  # North Star first
            for m in c["metrics"]:
                check_fields(m, METRIC_FIELDS, f"metric {m.get('metric')}")
                assert m["role"] in ROLES and m["type"] in TYPES


def test_json_figures_are_the_independent_ones(data_dir: Path, run_cli: CliRunner) -> None:
    """The North Star's JSON figures equal scipy's Welch test on the unit rows."""
    doc = read_json(run_cli, data_dir, "--correction", "none", "--alpha", "0.1")
    frame = pl.read_csv(data_dir / "checkout.csv")
    xc = frame.filter(pl.col("variant") == "control")["lessons"].to_numpy()
    for c in doc["experiments"][0]["comparisons"]:
        xt = frame.filter(pl.col("variant") == c["variant"])["lessons"].to_numpy()
        res = stats.ttest_ind(xt, xc, equal_var=False)
        ci = res.confidence_interval(0.9)
        ns = c["metrics"][0]
        got = [ns[k] for k in ("p_value", "p_adjusted", "abs_ci_low", "abs_ci_high")]
        np.testing.assert_allclose(got, [res.pvalue, res.pvalue, ci.low, ci.high], rtol=1e-9)
        assert ns["abs_effect"] == pytest.approx(xt.mean() - xc.mean(), rel=1e-9, abs=0)
        assert (ns["n_control"], ns["n_treatment"]) == (len(xc), len(xt))


def test_table_and_markdown(data_dir: Path, run_cli: CliRunner) -> None:
    doc = read_json(run_cli, data_dir)
    verdicts = [VERDICT_LABELS[c["verdict"]] for c in doc["experiments"][0]["comparisons"]]
    code, table, err = run_cli("readout", data_dir)  # table is the default
    assert code == 0 and not err
    assert "checkout" in table and all(v.upper() in table for v in verdicts)
    assert "`" not in table  # plain text for a terminal, no Markdown code marks
    code, md, err = run_cli("readout", data_dir, "--format", "markdown")
    assert code == 0 and not err
    assert md.startswith("# Experiment readout — North Star: lessons")
    assert "## checkout (`checkout`)" in md
    assert all(f"**{v}**" in md for v in verdicts)
    header = "| Metric | Role | Control | Treatment | Difference | Lift | Adjusted CI (95%, Holm) |"
    assert header + " Adjusted p |" in md
    assert "| clicks" in md and "## Methods" in md


def test_alpha_sets_the_interval_level(data_dir: Path, run_cli: CliRunner) -> None:
    code, md, _ = run_cli("readout", data_dir, "--format", "markdown", "--alpha", "0.1")
    assert code == 0 and "| Adjusted CI (90%, Holm) |" in md
    doc = read_json(run_cli, data_dir, "--alpha", "0.1", "--correction", "bh")
    assert (doc["settings"]["alpha"], doc["settings"]["correction"]) == (0.1, "bh")


def test_correction_none_leaves_p_values(data_dir: Path, run_cli: CliRunner) -> None:
    doc = read_json(run_cli, data_dir, "--correction", "none")
    for c in doc["experiments"][0]["comparisons"]:
        for m in c["metrics"]:
            assert m["p_adjusted"] == m["p_value"]
            assert m["significant"] == (m["p_value"] < 0.05)
    holm = read_json(run_cli, data_dir)
    pairs = [
        (a["p_value"], a["p_adjusted"])
        for c in holm["experiments"][0]["comparisons"]
        for a in c["metrics"]
    ]
    assert all(adj >= p for p, adj in pairs) and any(adj > p for p, adj in pairs)


def test_one_file_and_a_metrics_option(tmp_path: Path, run_cli: CliRunner) -> None:
    data, meta = tmp_path / "exports", tmp_path / "config"
    data.mkdir()
    meta.mkdir()
    write_frame(make_units(2, {"control": 300, "treatment": 300}), data / "pricing.parquet")
    write_frame(make_units(3, {"control": 300, "treatment": 300}), data / "other.csv")
    write_metrics(meta)
    doc = read_json(run_cli, data / "pricing.parquet", "--metrics", meta / "metrics.toml")
    assert [e["experiment"] for e in doc["experiments"]] == ["pricing"]
    write_metrics(data)  # beside the file: found without --metrics
    assert [e["experiment"] for e in read_json(run_cli, data / "other.csv")["experiments"]] == [
        "other"
    ]
    both = read_json(run_cli, data)
    assert [e["experiment"] for e in both["experiments"]] == ["other", "pricing"]
    only = read_json(run_cli, data, "--experiment", "pricing")
    assert [e["experiment"] for e in only["experiments"]] == ["pricing"]


def test_python_m_nsexp_on_the_demo_data() -> None:
    """The bundled demo: `python -m nsexp readout data/ --format json` works end to end."""
    proc = subprocess.run(
        [sys.executable, "-m", "nsexp", "readout", str(REPO / "data"), "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout, parse_constant=lambda token: pytest.fail(f"{token} in JSON"))
    seen = {c["verdict"] for e in doc["experiments"] for c in e["comparisons"]}
    assert seen == set(VERDICTS)  # the demo portfolio shows every verdict
    for e in doc["experiments"]:
        check_fields(e, EXPERIMENT_FIELDS, e["experiment"])


@pytest.mark.parametrize(
    "args",
    [
        ("readout", DEMO_DATA),
        ("tree", DEMO_DATA),
        ("proxies", DEMO_DATA),
        ("plan", "--proportion", "0.2", "--daily-units", "1000", "--effect", "0.05"),
    ],
)
def test_every_json_document_carries_its_schema_version(
    run_cli: CliRunner, args: tuple[str | Path, ...]
) -> None:
    code, out, err = run_cli(*args, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["schema_version"] == 1


def test_a_named_commands_parser_reads_as_the_full_one(capsys: pytest.CaptureFixture[str]) -> None:
    # `nsexp CMD ...` builds CMD's parser alone; COMMANDS names every command of the full parser
    # in its order, and each command's help is the same from either parser
    full = build_parser()
    assert full.format_usage().split("{")[1].split("}")[0] == ",".join(COMMANDS)

    def help_of(parser: argparse.ArgumentParser, name: str) -> str:
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])
        return capsys.readouterr().out

    for name in COMMANDS:
        assert help_of(build_parser([name, "x"]), name) == help_of(full, name)
    line = ["readout", "data", "--format", "json", "--alpha", "0.1"]
    assert build_parser(line).parse_args(line) == full.parse_args(line)
