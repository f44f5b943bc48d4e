"""`nsexp workspaces list|delete DATA_DIR`: the operator sees every workspace and deletes
without a delete code; bad input is exit 2 with one `error:` line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import DEMO_DATA, CliRunner

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.store import pins
from nsexp.store import workspaces as ws

FILES = ("dark_mode.csv", "metrics.toml", "experiments.toml")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A data root with two saved workspaces, the older one pinned."""
    for _ in range(2):
        ws.create_workspace(tmp_path, {n: (DEMO_DATA / n).read_bytes() for n in FILES})
    return tmp_path


def test_list_shows_every_workspace(root: Path, run_cli: CliRunner) -> None:
    infos = ws.list_workspaces(root)
    pins.pin_readout(infos[1].path, build_readout(load_dataset(infos[1].path)), "dark_mode", None)
    code, out, err = run_cli("workspaces", "list", str(root), "--format", "json")
    assert (code, err) == (0, "")
    listed = json.loads(out)
    assert [r["id"] for r in listed] == [i.id for i in infos]
    assert [r["pins"] for r in listed] == [0, 1]
    assert [r["bytes"] for r in listed] == [ws.size_of(i.path) for i in infos]
    assert all(r["owner"] is None and r["delete_code"] for r in listed)
    assert listed[0]["files"] == ["dark_mode.csv", "experiments.toml"]
    code, out, _ = run_cli("workspaces", "list", str(root))
    assert code == 0 and out.splitlines()[0].split()[:2] == ["id", "created"]
    assert [line.split()[0] for line in out.splitlines()[1:]] == [i.id for i in infos]


def test_list_of_an_empty_data_dir(tmp_path: Path, run_cli: CliRunner) -> None:
    assert run_cli("workspaces", "list", str(tmp_path))[:2] == (0, "no workspaces saved\n")


def test_delete_without_a_code_and_with_pins(root: Path, run_cli: CliRunner) -> None:
    newer, older = ws.list_workspaces(root)
    pin = pins.pin_readout(older.path, build_readout(load_dataset(older.path)), "dark_mode", None)
    code, out, _ = run_cli("workspaces", "delete", str(root), newer.id)
    assert code == 0 and out.startswith(f"deleted workspace {newer.id} (")
    code, _, err = run_cli("workspaces", "delete", str(root), older.id)
    assert code == 2 and err.startswith(f"error: workspace {older.id} is kept: 1 pinned")
    code, out, _ = run_cli("workspaces", "delete", str(root), older.id, "--pin", pin.id)
    assert code == 0 and out.startswith(f"deleted pin {pin.id}")
    pins.pin_readout(older.path, build_readout(load_dataset(older.path)), "dark_mode", None)
    code, out, _ = run_cli("workspaces", "delete", str(root), older.id, "--with-pins")
    assert code == 0 and ws.list_workspaces(root) == []


def test_delete_a_pin_of_the_bundled_data(tmp_path: Path, run_cli: CliRunner) -> None:
    for name in FILES:
        (tmp_path / name).write_bytes((DEMO_DATA / name).read_bytes())
    pin = pins.pin_readout(tmp_path, build_readout(load_dataset(tmp_path)), "dark_mode", None)
    code, out, _ = run_cli("workspaces", "delete", str(tmp_path), "--pin", pin.id)
    assert code == 0 and out.startswith(f"deleted pin {pin.id}") and pins.list_pins(tmp_path) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "{missing}"], "not a directory"),
        (["delete", "{root}"], "no workspace id given"),
        (["delete", "{root}", "../../etc"], "is not a workspace id"),
        (["delete", "{root}", "0" * 32], f"no workspace {'0' * 32}"),
        (["delete", "{root}", "--pin", "nope"], "is not a pin id"),
        (["delete", "{root}", "--pin", "0" * 12], "no pinned readout"),
        (["delete", "{root}", "{id}", "--pin", "0" * 12, "--with-pins"], "--with-pins deletes"),
        (["list"], "the following arguments are required"),
        (["purge", "{root}"], "invalid choice"),
    ],
)
def test_bad_input_is_one_error_line(
    root: Path, run_cli: CliRunner, args: list[str], message: str
) -> None:
    wid = ws.list_workspaces(root)[0].id
    filled = [a.format(root=root, missing=root / "missing", id=wid) for a in args]
    code, out, err = run_cli("workspaces", *filled)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert len(ws.list_workspaces(root)) == 2


def test_the_operator_deletes_a_corrupt_pin(root: Path, run_cli: CliRunner) -> None:
    info = ws.list_workspaces(root)[0]
    (info.path / "pins").mkdir()
    (info.path / "pins" / "0123456789ab.json").write_text('{"id": "0123')  # torn by hand
    code, _, err = run_cli("workspaces", "delete", str(root), info.id, "--pin", "0123456789ab")
    assert (code, err) == (0, "")
    assert list((info.path / "pins").iterdir()) == []
