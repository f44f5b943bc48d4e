"""Bounded pins and quotas per workspace: a pin is stored compactly and refused above
NSEXP_MAX_PIN_KB, its creator deletes it with its own delete code or its workspace's, and one
workspace's pins cannot take the room of everyone else's."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from helpers import DEMO_DATA

from nsexp.analysis.readout import Readout, build_readout
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.report.json import experiment_dict
from nsexp.store import pins, storage
from nsexp.store import workspaces as ws

FILES = ("dark_mode.csv", "metrics.toml", "experiments.toml")


@pytest.fixture
def saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ws.WorkspaceInfo:
    """A workspace of the dark_mode demo experiment, no limit set in the environment."""
    for env in (storage.STORAGE_ENV, storage.WORKSPACE_ENV, storage.PIN_ENV, ws.TTL_ENV):
        monkeypatch.delenv(env, raising=False)
    return ws.create_workspace(tmp_path, {n: (DEMO_DATA / n).read_bytes() for n in FILES})


def readout_of(info: ws.WorkspaceInfo) -> Readout:
    return build_readout(load_dataset(info.path))


def test_a_pin_is_stored_compactly_with_its_access_record(saved: ws.WorkspaceInfo) -> None:
    code, record = storage.new_delete_code()
    readout = readout_of(saved)
    pin = pins.pin_readout(saved.path, readout, "dark_mode", None, delete_code=record)
    text = (saved.path / "pins" / f"{pin.id}.json").read_text()
    stored = json.loads(text)
    assert text == json.dumps(stored, separators=(",", ":"))  # no indentation, no padding
    assert stored["owner"] is None and stored["delete_code"] == record
    assert code not in text
    assert stored["payload"] == json.loads(
        json.dumps(experiment_dict(readout.experiments["dark_mode"]))
    )
    assert pins.load_pin(saved.path, pin.id) == pin


def test_a_pin_over_the_limit_is_refused_with_one_message(
    saved: ws.WorkspaceInfo, monkeypatch
) -> None:
    readout = readout_of(saved)
    pin = pins.pin_readout(saved.path, readout, "dark_mode", None)
    assert (saved.path / "pins" / f"{pin.id}.json").stat().st_size > 1_000  # 1 KB: too small
    assert storage.max_pin_bytes() == 1_000_000  # the documented default: 1 MB
    monkeypatch.setenv(storage.PIN_ENV, "1")
    before = sorted((saved.path / "pins").iterdir())
    with pytest.raises(InputError) as refused:
        pins.pin_readout(saved.path, readout, "dark_mode", "dark")
    message = refused.value.message
    assert "over the limit of 0.1 MB per pin (NSEXP_MAX_PIN_KB)" in message
    assert "\n" not in message and "share the live readout's link" in message
    assert sorted((saved.path / "pins").iterdir()) == before


def test_one_workspace_cannot_take_everyone_s_room(saved: ws.WorkspaceInfo, monkeypatch) -> None:
    readout = readout_of(saved)
    first = pins.pin_readout(saved.path, readout, "dark_mode", None)
    held = ws.size_of(saved.path)
    pin_size = (saved.path / "pins" / f"{first.id}.json").stat().st_size
    monkeypatch.setenv(storage.WORKSPACE_ENV, str((held + pin_size // 2) / storage.MB))
    with pytest.raises(InputError) as refused:
        pins.pin_readout(saved.path, readout, "dark_mode", "dark")
    assert "over the quota of" in refused.value.message
    assert "per workspace (NSEXP_MAX_WORKSPACE_MB)" in refused.value.message
    other = ws.create_workspace(
        saved.path.parent.parent, {n: (DEMO_DATA / n).read_bytes() for n in FILES}
    )
    pins.pin_readout(other.path, build_readout(load_dataset(other.path)), "dark_mode", "dark")


def test_the_bundled_data_s_pins_have_one_quota_too(tmp_path: Path, monkeypatch) -> None:
    for name in FILES:
        shutil.copy(DEMO_DATA / name, tmp_path / name)
    readout = build_readout(load_dataset(tmp_path))
    pins.pin_readout(tmp_path, readout, "dark_mode", None)
    monkeypatch.setenv(storage.WORKSPACE_ENV, str(storage.used_bytes(tmp_path) / storage.MB))
    with pytest.raises(InputError, match="per workspace"):
        pins.pin_readout(tmp_path, readout, "dark_mode", "dark")


def test_a_pin_is_deleted_with_its_own_code_or_its_workspace_s(saved: ws.WorkspaceInfo) -> None:
    readout = readout_of(saved)
    own, record = storage.new_delete_code()
    mine = pins.pin_readout(saved.path, readout, "dark_mode", None, delete_code=record)
    theirs = pins.pin_readout(saved.path, readout, "dark_mode", "dark", delete_code=None)
    other, _ = storage.new_delete_code()
    for wrong in (None, "", other, own + "x"):
        with pytest.raises(InputError, match=f"that is not the delete code of pin {mine.id}"):
            pins.delete_pin(saved.path, mine.id, code=wrong)
    with pytest.raises(InputError, match=f"that is not the delete code of pin {theirs.id}"):
        pins.delete_pin(saved.path, theirs.id, code=own)  # one pin's code is not another's
    before = storage.used_bytes(saved.path.parent.parent)
    freed = pins.delete_pin(saved.path, mine.id, code=own)
    assert freed == before - storage.used_bytes(saved.path.parent.parent) > 0
    assert pins.delete_pin(saved.path, theirs.id, code=saved.delete_code) > 0
    assert pins.list_pins(saved.path) == [] and ws.pin_count(saved.path) == 0
    ws.delete_workspace(saved.path.parent.parent, saved.id, code=saved.delete_code)  # unpinned


def test_a_pin_into_a_workspace_deleted_meanwhile_is_refused(saved: ws.WorkspaceInfo) -> None:
    readout = readout_of(saved)
    root = saved.path.parent.parent
    ws.delete_workspace(root, saved.id, operator=True)
    with pytest.raises(InputError, match="the workspace was deleted meanwhile"):
        pins.pin_readout(saved.path, readout, "dark_mode", None)
    assert not saved.path.exists()


def test_unused_workspaces_expire_unless_pinned(saved: ws.WorkspaceInfo, monkeypatch) -> None:
    root = saved.path.parent.parent
    pinned = ws.create_workspace(root, {n: (DEMO_DATA / n).read_bytes() for n in FILES})
    pins.pin_readout(pinned.path, readout_of(pinned), "dark_mode", None)
    now = time.time()
    assert ws.ttl_seconds() == 90 * 86_400  # the documented default
    assert ws.expire_workspaces(root, now=now + 89 * 86_400) == []
    ws.mark_opened(saved.path, now=now + 89 * 86_400)  # opened on day 89: 90 more days
    assert ws.expire_workspaces(root, now=now + 170 * 86_400) == []
    assert ws.expire_workspaces(root, now=now + 180 * 86_400) == [saved.id]
    assert [w.id for w in ws.list_workspaces(root)] == [pinned.id]  # the pinned one stays
    monkeypatch.setenv(ws.TTL_ENV, "0.5")
    fresh = ws.create_workspace(root, {n: (DEMO_DATA / n).read_bytes() for n in FILES})
    assert ws.expire_workspaces(root, now=time.time() + 0.4 * 86_400) == []
    assert ws.expire_workspaces(root, now=time.time() + 0.6 * 86_400) == [fresh.id]


def test_an_opening_is_recorded_at_most_hourly(saved: ws.WorkspaceInfo) -> None:
    opened = ws.last_opened(saved.path)
    assert opened is not None
    ws.mark_opened(saved.path, now=opened + 60)
    assert ws.last_opened(saved.path) == opened
    ws.mark_opened(saved.path, now=opened + ws.OPENED_EVERY_SECONDS)
    assert ws.last_opened(saved.path) == opened + ws.OPENED_EVERY_SECONDS


@pytest.mark.parametrize("env", [storage.WORKSPACE_ENV, storage.PIN_ENV, ws.TTL_ENV])
@pytest.mark.parametrize("bad", ["lots", "-1", "0", "nan", "inf"])
def test_a_bad_limit_is_one_message(env: str, bad: str, monkeypatch) -> None:
    monkeypatch.setenv(env, bad)
    read = {
        storage.WORKSPACE_ENV: storage.max_workspace_bytes,
        storage.PIN_ENV: storage.max_pin_bytes,
        ws.TTL_ENV: ws.ttl_seconds,
    }[env]
    with pytest.raises(InputError) as refused:
        read()
    assert refused.value.message.startswith(f"{env}={bad!r} is not a number of")
