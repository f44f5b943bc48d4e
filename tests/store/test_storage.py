"""Bounded storage: the quotas, a full disk, deleting workspaces with their delete code (pins
keep them) and the clean-up of interrupted saves."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DEMO_DATA

from nsexp.analysis.readout import build_readout
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.store import pins, storage
from nsexp.store import workspaces as ws

UNITS_CSV = b"variant,lessons,clicks\ncontrol,1,3\ncontrol,2,4\ncontrol,0,5\ntreat,3,5\ntreat,2,6\n"
CATALOG = b"""
[metrics.lessons]
role = "north_star"
type = "mean"

[metrics.clicks]
role = "vanity"
type = "mean"
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(storage.STORAGE_ENV, raising=False)
    (tmp_path / "metrics.toml").write_bytes(CATALOG)
    return tmp_path


def upload(n: int) -> dict[str, bytes]:
    """A distinct valid upload (its own id) of about len(UNITS_CSV) + n bytes."""
    return {"signup.csv": UNITS_CSV + b"treat,1,1\n" * n, "metrics.toml": CATALOG}


def leftovers(root: Path) -> list[str]:
    folder = root / "workspaces"
    names = (p.name for p in folder.iterdir()) if folder.is_dir() else ()
    return sorted(n for n in names if n != storage.LOCK_FILE)


def test_mb_is_one_unit_of_a_million_bytes() -> None:
    assert storage.MB == 1_000_000
    assert storage.mb(60_000_000) == "60.0 MB"
    assert storage.mb(57_300_001) == "57.4 MB"  # rounded up: never under-states a size
    assert storage.mb(1) == "0.1 MB"


def test_quota_refuses_a_save_that_would_pass_it(root: Path, monkeypatch) -> None:
    first = ws.create_workspace(root, upload(0))
    used = storage.used_bytes(root)
    assert used == ws.size_of(first.path) > 0
    monkeypatch.setenv(storage.STORAGE_ENV, str((used + 300) / storage.MB))
    with pytest.raises(InputError) as refused:
        ws.create_workspace(root, upload(100))
    message = refused.value.message
    assert "over its quota of" in message and "NSEXP_MAX_STORAGE_MB" in message
    assert "delete old workspaces on the Data page" in message
    assert leftovers(root) == [first.id]
    with pytest.raises(InputError, match="over its quota of"):
        ws.create_workspace(root, upload(0))  # a new workspace at every save, even of the same
    assert leftovers(root) == [first.id]


def test_quota_counts_pins_and_refuses_a_pin(root: Path, monkeypatch) -> None:
    for name in ("dark_mode.csv", "metrics.toml", "experiments.toml"):
        shutil.copy(DEMO_DATA / name, root / name)
    readout = build_readout(load_dataset(root))
    pins.pin_readout(root, readout, "dark_mode", None)
    assert storage.used_bytes(root) > 0  # data root pins count
    monkeypatch.setenv(storage.STORAGE_ENV, str(storage.used_bytes(root) / storage.MB))
    with pytest.raises(InputError, match="over its quota"):
        pins.pin_readout(root, build_readout(load_dataset(root)), "dark_mode", "dark")


@pytest.mark.parametrize("bad", ["lots", "-5", "0", "nan", "inf"])
def test_a_bad_quota_setting_is_one_message(root: Path, monkeypatch, bad: str) -> None:
    monkeypatch.setenv(storage.STORAGE_ENV, bad)
    with pytest.raises(InputError, match=r"NSEXP_MAX_STORAGE_MB=.* is not a number of megabytes"):
        ws.create_workspace(root, upload(0))


def test_a_full_disk_during_save_is_one_message_and_leaves_nothing(root: Path, monkeypatch) -> None:
    real = Path.write_bytes
    written: list[str] = []

    def full(self: Path, data: bytes) -> int:
        if written:  # the first file fits, the second meets a full disk
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        written.append(self.name)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(InputError) as refused:
        ws.create_workspace(root, upload(0))
    assert refused.value.message.startswith("cannot save the workspace: no space left on the disk")
    assert str(root) not in refused.value.message
    assert leftovers(root) == []
    assert ws.list_workspaces(root) == []


def test_other_write_errors_are_one_message_too(root: Path, monkeypatch) -> None:
    def denied(self: Path, data: bytes) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", denied)
    with pytest.raises(InputError, match=r"cannot save the workspace \(Permission denied\)"):
        ws.create_workspace(root, upload(0))
    assert leftovers(root) == []


def test_too_little_free_disk_is_refused_before_writing(root: Path, monkeypatch) -> None:
    usage = shutil.disk_usage(root)
    monkeypatch.setattr(
        storage.shutil, "disk_usage", lambda _: usage._replace(free=storage.DISK_HEADROOM_BYTES)
    )
    with pytest.raises(InputError, match=r"no room to save .* free.*disk is full"):
        ws.create_workspace(root, upload(0))
    assert leftovers(root) == []


def test_list_and_delete_old_workspaces(root: Path) -> None:
    old, new = ws.create_workspace(root, upload(1)), ws.create_workspace(root, upload(2))
    assert {w.id for w in ws.list_workspaces(root)} == {old.id, new.id}
    before = storage.used_bytes(root)
    for wrong in (None, "", "x", new.delete_code, (old.delete_code or "") + "x"):
        with pytest.raises(InputError, match=f"that is not the delete code of workspace {old.id}"):
            ws.delete_workspace(root, old.id, code=wrong)
    assert storage.used_bytes(root) == before
    freed = ws.delete_workspace(root, old.id, code=f" {old.delete_code} ")  # pasted with spaces
    assert freed == before - storage.used_bytes(root) > 0
    assert [w.id for w in ws.list_workspaces(root)] == [new.id]
    assert leftovers(root) == [new.id]
    with pytest.raises(InputError, match=f"no workspace {old.id}"):
        ws.resolve(root, old.id)


def test_a_pinned_workspace_is_kept(root: Path) -> None:
    files = {name: (DEMO_DATA / name).read_bytes() for name in ("dark_mode.csv", "metrics.toml")}
    info = ws.create_workspace(root, files)
    pins.pin_readout(info.path, build_readout(load_dataset(info.path)), "dark_mode", None)
    assert ws.pin_count(info.path) == 1
    with pytest.raises(InputError) as kept:
        ws.delete_workspace(root, info.id, code=info.delete_code)
    assert f"workspace {info.id} is kept: 1 pinned readout refer to it" in kept.value.message
    assert "a pin keeps the data it was pinned from" in kept.value.message
    assert ws.read_workspace(root, info.id).id == info.id
    assert ws.delete_workspace(root, info.id, code=info.delete_code, with_pins=True) > 0
    assert leftovers(root) == []


@pytest.mark.parametrize("bad", ["", "../../etc", "ABCDEF012345", "0" * 12])
def test_delete_takes_only_real_workspace_ids(root: Path, bad: str) -> None:
    ws.create_workspace(root, upload(0))
    with pytest.raises(InputError):
        ws.delete_workspace(root, bad)
    assert len(ws.list_workspaces(root)) == 1


def dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_staging_of_dead_processes_is_cleaned(root: Path) -> None:
    folder = root / "workspaces"
    dead = folder / f".staging-{dead_pid()}-abc"
    mine = folder / f"{storage.staging_name()}live"
    for d in (dead, mine):
        d.mkdir(parents=True)
        (d / "x.csv").write_bytes(b"1")
    assert storage.clean_staging(folder) == 1
    assert not dead.exists() and mine.exists()
    assert storage.clean_staging(folder, on_start=True) == 1  # at start nothing is in flight
    assert not mine.exists()


def test_a_save_killed_mid_write_is_cleaned_and_the_upload_saves_again(root: Path) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from nsexp.store import workspaces as ws\n"
        "real = Path.write_bytes\n"
        "def die(self, data):\n"
        "    real(self, data[: len(data) // 2])\n"
        "    os._exit(9)\n"
        "Path.write_bytes = die\n"
        f"ws.create_workspace(Path({str(root)!r}), {upload(0)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False, cwd=Path.cwd())
    assert proc.returncode == 9
    (left,) = leftovers(root)
    assert left.startswith(storage.STAGING_PREFIX)
    assert ws.list_workspaces(root) == []
    info = ws.create_workspace(root, upload(0))
    assert leftovers(root) == [info.id]


def test_upload_problem_keeps_save_disabled_until_valid() -> None:
    assert ws.upload_problem([]) is not None
    only_toml = ws.upload_problem([("metrics.toml", 10)])
    assert only_toml is not None and "no CSV or Parquet file" in only_toml.message
    nul = ws.upload_problem([("a\x00b.csv", 10)])
    assert nul is not None and "file name 'a\\x00b.csv' is not allowed" in nul.message
    big = ws.upload_problem([("x.csv", 60_000_000)])
    assert big is not None
    assert "the upload is 60.0 MB (60,000,000 bytes), over the 50 MB limit" in big.message
    assert ws.upload_problem([("x.csv", ws.MAX_UPLOAD_BYTES)]) is None
    assert ws.upload_problem([("x.csv", 49_000_000), ("metrics.toml", 900)]) is None


def test_no_file_is_written_outside_the_workspaces_root(root: Path) -> None:
    before = {p for p in root.rglob("*")}
    info = ws.create_workspace(root, upload(3))
    ws.delete_workspace(root, info.id, code=info.delete_code)
    after = {p for p in root.rglob("*")}
    assert {p for p in after - before if "workspaces" not in p.relative_to(root).parts} == set()
    assert os.listdir(root / "workspaces") == [storage.LOCK_FILE]
