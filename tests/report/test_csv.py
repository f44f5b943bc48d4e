"""The CSV export neutralises formulas for any spreadsheet locale (issue 19 item 9): a text cell
that starts a formula, or holds one after a `;`, `,` or tab (where a semicolon-locale
spreadsheet starts a new cell), gets an apostrophe; numbers stay numbers, at full precision,
behind the columns a reader needs first (issue 20 item 13)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from helpers import copy_demo

from nsexp.analysis.readout import ExperimentReadout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.report.csv import inert, readout_csv

FORMULA = ("=", "+", "-", "@")
CELLS = [
    "x;=1+1",
    'x,=HYPERLINK("http://a.invalid")',
    "x\t@SUM(A1)",
    "a; -2+3",
    "=1+1",
    "-1+1",
    "x;;=1",
    "a\n=1+1",
]


def spreadsheet_cells(text: str, delimiter: str) -> list[str]:
    """Every cell a spreadsheet splitting on `delimiter` (quotes honoured) would see."""
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_no_cell_starts_a_formula_in_any_locale(delimiter: str) -> None:
    frame = pl.DataFrame({"label": CELLS, "effect": [-0.5] * len(CELLS)})
    text = frame.with_columns(inert("label")).write_csv()
    for cell in spreadsheet_cells(text, delimiter):
        first = cell.lstrip(" \r\n")
        if first.startswith(FORMULA):
            float(first)  # only the numbers of the numeric column may start with "-"


def test_text_is_kept_and_numbers_stay_numbers() -> None:
    frame = pl.DataFrame({"label": [*CELLS, "plain, text; here", "p = 0.03"], "n": range(10)})
    got = frame.with_columns(inert("label"))
    assert got["label"].to_list()[:4] == [
        "x;'=1+1",
        'x,\'=HYPERLINK("http://a.invalid")',
        "x\t'@SUM(A1)",
        "a; '-2+3",
    ]
    assert got["label"].to_list()[-2:] == ["plain, text; here", "p = 0.03"]
    assert got["n"].to_list() == list(range(10))
    negative = pl.DataFrame({"effect": [-0.25]}).write_csv()
    assert negative.splitlines()[1] == "-0.25"


FORMULA_LABEL = '=HYPERLINK("http://a.invalid") -7'


@pytest.fixture(scope="module")
def push_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, ExperimentReadout]:
    """The CSV of push_reminders with a metric label that starts a formula, and its readout."""
    data = copy_demo(tmp_path_factory.mktemp("csv") / "data")
    catalog = data / "metrics.toml"
    text = catalog.read_text(encoding="utf-8")
    label = FORMULA_LABEL.replace('"', '\\"')
    catalog.write_text(text.replace('"Day-7 retention"', f'"{label}"'), encoding="utf-8")
    readout = build_readout(load_dataset(Path(data)), Settings(), experiment="push_reminders")
    e = readout.experiments["push_reminders"]
    return readout_csv(e, "http://nsexp/readout"), e


def test_the_columns_a_reader_needs_come_first(push_csv: tuple[str, ExperimentReadout]) -> None:
    header = push_csv[0].splitlines()[0].split(",")
    assert header[:11] == [
        "experiment",
        "variant",
        "label",
        "role",
        "rel_effect",
        "rel_ci_adj_low",
        "rel_ci_adj_high",
        "p_adjusted",
        "outcome",
        "verdict",
        "north_star_status",
    ]
    assert header[-1] == "view" and len(header) == len(set(header))


def test_figures_keep_full_precision_and_negatives_stay_numbers(
    push_csv: tuple[str, ExperimentReadout],
) -> None:
    text, e = push_csv
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(t.metrics) for t in e.treatments)
    negatives = 0
    for t in e.treatments:
        for m in t.metrics:
            row = next(r for r in rows if r["variant"] == t.variant and r["metric"] == m.metric)
            for field in ("rel_effect", "rel_ci_adj_low", "rel_ci_adj_high", "p_adjusted"):
                want = getattr(m, field)
                assert (row[field] == "") if want is None else float(row[field]) == want
                negatives += want is not None and want < 0
            assert row["outcome"] == m.outcome and row["verdict"] == t.verdict
    assert negatives > 0  # a negative lift is written as a number, no apostrophe


def test_a_formula_in_a_label_is_neutralised(push_csv: tuple[str, ExperimentReadout]) -> None:
    rows = list(csv.DictReader(io.StringIO(push_csv[0])))
    labels = {r["label"] for r in rows if r["metric"] == "day7_retention"}
    assert labels == {"'" + FORMULA_LABEL}
