"""InputError as a viewer of the app sees it: no server paths."""

from __future__ import annotations

from pathlib import Path

from nsexp.errors import InputError, echo


def test_paths_become_relative_to_the_data_directory(tmp_path: Path) -> None:
    root = tmp_path / "data"
    ws = root / "workspaces" / "0123456789ab"
    error = InputError(
        f"experiment e is in {ws / 'a.csv'} and {root / 'b.csv'}",
        file=f"{ws / 'a.csv'}, {root / 'b.csv'}",
        column="variant",
        fix=f"see {root}",
    )
    shown = error.shown_under(ws, root)
    assert shown.file == "a.csv, b.csv"
    assert shown.problem == "experiment e is in a.csv and b.csv"
    assert shown.column == "variant"
    assert str(tmp_path) not in shown.message


def test_the_directory_itself_and_paths_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert InputError("no CSV files", file=root).shown_under(root).message == "data: no CSV files"
    elsewhere = InputError("cannot read", file="/srv/warehouse/events.parquet")
    assert elsewhere.shown_under(root).file == "events.parquet"
    relative = InputError("bad", file="data/x.csv")
    assert relative.shown_under(root).file == "data/x.csv"


def test_echo_quotes_a_value_cut_short() -> None:
    assert echo("bogus") == "'bogus'"
    long = "Your session expired: sign in again at " + "x" * 100
    assert echo(long) == repr(long[:40] + "…")
    assert echo(None) == "None"
    assert echo(list(range(100))) == repr(list(range(100)))[:40] + "…"
