"""The CSV export neutralises formulas for any spreadsheet locale (issue 19 item 9): a text cell
that starts a formula, or holds one after a `;`, `,` or tab (where a semicolon-locale
spreadsheet starts a new cell), gets an apostrophe; numbers stay numbers."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from nsexp.report.csv import inert

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
