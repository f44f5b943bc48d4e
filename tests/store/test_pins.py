"""Pinned readouts: frozen figures that survive new data, read back exactly as written."""

from __future__ import annotations

import datetime as dt
import errno
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import DEMO_DATA

from nsexp.analysis import priors
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.report.json import experiment_dict
from nsexp.store import pins

DATA = DEMO_DATA
PRIOR_FIELDS = ("mean", "sd", "source", "comparisons")
WHEN = dt.datetime(2026, 11, 20, 14, 30, 5, tzinfo=dt.UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the dark_mode demo experiment with its catalog, free to change."""
    for name in ("dark_mode.csv", "metrics.toml", "experiments.toml"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def readout_of(directory: Path, settings: Settings | None = None) -> Readout:
    """A fresh readout of a data directory."""
    return build_readout(load_dataset(directory), settings)


def test_pin_round_trip(workspace: Path) -> None:
    readout = readout_of(workspace, Settings(alpha=0.1, correction="bh"))
    pin = pins.pin_readout(workspace, readout, "dark_mode", "dark", now=WHEN)
    assert re.fullmatch(r"[0-9a-f]{12}", pin.id)
    assert pin.experiment == "dark_mode" and pin.variant == "dark"
    assert pin.created_at == "2026-11-20T14:30:05Z"
    assert pin.settings == Settings(alpha=0.1, correction="bh").to_dict()
    assert pin.fingerprint == readout.fingerprint != ""
    assert pin.methods == methods(readout.settings)
    assert pin.payload == json.loads(json.dumps(experiment_dict(readout.experiments["dark_mode"])))
    assert (workspace / "pins" / f"{pin.id}.json").is_file()
    assert pins.load_pin(workspace, pin.id) == pin
    assert pins.list_pins(workspace) == [pin]
    assert [p.name for p in (workspace / "pins").iterdir()] == [f"{pin.id}.json"]


def test_pin_payload_survives_new_data(workspace: Path) -> None:
    pin = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    frozen = json.loads(json.dumps(pin.payload))
    csv = workspace / "dark_mode.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[: len(lines) // 2]) + "\n")  # half the units: new figures
    live = readout_of(workspace)
    assert live.fingerprint != pin.fingerprint
    assert experiment_dict(live.experiments["dark_mode"])["units"] != frozen["units"]
    again = pins.load_pin(workspace, pin.id)
    assert again.payload == frozen
    assert again.fingerprint == pin.fingerprint


def test_pin_ids_differ_by_time_and_content(workspace: Path) -> None:
    readout = readout_of(workspace)
    first = pins.pin_readout(workspace, readout, "dark_mode", None, now=WHEN)
    same = pins.pin_readout(workspace, readout, "dark_mode", None, now=WHEN)
    later = pins.pin_readout(
        workspace, readout, "dark_mode", None, now=WHEN + dt.timedelta(minutes=1)
    )
    other = pins.pin_readout(workspace, readout, "dark_mode", "dark", now=WHEN)
    assert first == same
    assert len({first.id, later.id, other.id}) == 3
    listed = pins.list_pins(workspace)
    assert len(listed) == 3 and listed[0].id == later.id


def test_pin_time_defaults_to_now_in_utc(workspace: Path) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    pin = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None)
    stamp = dt.datetime.fromisoformat(pin.created_at.replace("Z", "+00:00"))
    assert before <= stamp <= dt.datetime.now(dt.UTC)
    assert pin.created_at.endswith("Z")


def test_unknown_experiment_or_variant_is_refused(workspace: Path) -> None:
    readout = readout_of(workspace)
    with pytest.raises(InputError, match="no experiment 'nope' in the readout"):
        pins.pin_readout(workspace, readout, "nope", None)
    with pytest.raises(InputError, match="has no treatment variant 'control'"):
        pins.pin_readout(workspace, readout, "dark_mode", "control")
    assert not (workspace / "pins").exists()


@pytest.mark.parametrize(
    "pin_id", ["../../etc/passwd", "..", "ABCDEF123456", "0" * 11, "0" * 13, "", None, "a/b"]
)
def test_malformed_pin_ids_are_refused(workspace: Path, pin_id: str | None) -> None:
    with pytest.raises(InputError, match="is not a pin id"):
        pins.load_pin(workspace, pin_id)


def test_unknown_pin_is_refused(workspace: Path) -> None:
    with pytest.raises(InputError, match="no pinned readout 000000000000 here"):
        pins.load_pin(workspace, "0" * 12)


def test_corrupt_pins_are_refused_and_skipped_in_lists(workspace: Path) -> None:
    good = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    folder = workspace / "pins"
    (folder / "aaaaaaaaaaaa.json").write_text("{not json")
    (folder / "bbbbbbbbbbbb.json").write_text(json.dumps({"id": "bbbbbbbbbbbb"}))
    moved = json.loads((folder / f"{good.id}.json").read_text())
    (folder / "cccccccccccc.json").write_text(json.dumps(moved))
    for bad in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"):
        with pytest.raises(InputError, match=f"pinned readout {bad}"):
            pins.load_pin(workspace, bad)
    assert pins.list_pins(workspace) == [good]


def test_pin_symlinked_out_of_the_folder_is_refused(workspace: Path, tmp_path_factory) -> None:
    good = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    outside = tmp_path_factory.mktemp("outside") / f"{good.id}.json"
    (workspace / "pins" / f"{good.id}.json").rename(outside)
    (workspace / "pins" / f"{good.id}.json").symlink_to(outside)
    with pytest.raises(InputError, match="no pinned readout"):
        pins.load_pin(workspace, good.id)


def test_failed_write_leaves_no_temporary_file(workspace: Path, monkeypatch) -> None:
    def broken(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pins.os, "replace", broken)
    with pytest.raises(InputError, match="cannot save the pin: no space left on the disk"):
        pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    assert list((workspace / "pins").iterdir()) == []


def test_no_pins_yet(tmp_path: Path) -> None:
    assert pins.list_pins(tmp_path) == []


def test_pins_do_not_change_the_data(workspace: Path) -> None:
    before = load_dataset(workspace)
    pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    (workspace / "pins" / "stray.csv").write_text("not,data\n")
    after = load_dataset(workspace)
    assert after.fingerprint == before.fingerprint
    assert list(after.experiments) == ["dark_mode"]


def test_pins_carry_their_schema_version(workspace: Path) -> None:
    pin = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    assert pin.schema_version == 1
    assert json.loads((workspace / "pins" / f"{pin.id}.json").read_text())["schema_version"] == 1


def as_version_0(raw: dict[str, Any]) -> dict[str, Any]:
    """A pin file as nsexp wrote it before schema_version: no version, the settings of the time
    (alpha and correction), no engine nor better/worse per metric."""
    old = {k: v for k, v in raw.items() if k != "schema_version"}
    old["settings"] = {k: raw["settings"][k] for k in ("alpha", "correction")}
    dropped = ("engine", "better", "worse", *(f"prior_{k}" for k in PRIOR_FIELDS))
    old["payload"] = raw["payload"] | {
        "comparisons": [
            c
            | {"metrics": [{k: v for k, v in m.items() if k not in dropped} for m in c["metrics"]]}
            for c in raw["payload"]["comparisons"]
        ]
    }
    return old


def test_a_pin_without_schema_version_is_version_0_and_still_opens(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(DATA / "push_reminders.parquet", workspace)  # metrics that moved both ways
    monkeypatch.setattr(priors, "PRIOR_SD", 0.3)  # the default prior of version 0's time
    readout = readout_of(workspace, Settings(alpha=0.1, correction="bh"))
    pin = pins.pin_readout(workspace, readout, "push_reminders", None, now=WHEN)
    path = workspace / "pins" / f"{pin.id}.json"
    path.write_text(json.dumps(as_version_0(json.loads(path.read_text()))))
    old = pins.load_pin(workspace, pin.id)
    assert old == pin  # read into today's shape: settings, engines, better and worse as pinned
    moved = {(t.variant, m.metric): m.moved for t in old.readout().treatments for m in t.metrics}
    live = readout.experiments["push_reminders"]
    assert moved == {(t.variant, m.metric): m.moved for t in live.treatments for m in t.metrics}
    assert {"better", "worse", None} == set(moved.values())
    assert pins.list_pins(workspace) == [pin]


def test_a_pin_of_a_newer_schema_is_refused(workspace: Path) -> None:
    pin = pins.pin_readout(workspace, readout_of(workspace), "dark_mode", None, now=WHEN)
    path = workspace / "pins" / f"{pin.id}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"schema_version": 2}))
    with pytest.raises(InputError, match="has schema version 2, which this nsexp does not know"):
        pins.load_pin(workspace, pin.id)
