"""What the issue's attacks found held stays held, and what they broke is fixed: a process
killed (SIGKILL) while pinning leaves every pin whole or absent; the temporary file it leaves
counts against no quota, pins no workspace and is removed on start, whatever its age."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import DEMO_DATA

from nsexp.store import pins, storage
from nsexp.store import workspaces as ws

PINNER = """
import datetime as dt, sys
from pathlib import Path
from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.store import pins, storage
root = Path(sys.argv[1])
readout = build_readout(load_dataset(root))
start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
print("ready", flush=True)
for i in range(10**6):
    code, record = storage.new_delete_code()
    pins.pin_readout(root, readout, "dark_mode", None, now=start + dt.timedelta(seconds=i),
                     delete_code=record)
"""


def complete_pin_bytes(folder: Path) -> int:
    """Bytes of the whole pins in a pins folder, counted independently of nsexp.store."""
    return sum(p.stat().st_size for p in folder.glob("*.json") if not p.name.startswith("."))


def test_pins_survive_kill_9_mid_write(tmp_path: Path) -> None:
    for name in ("dark_mode.csv", "metrics.toml", "experiments.toml"):
        shutil.copy(DEMO_DATA / name, tmp_path / name)
    child = subprocess.Popen(
        [sys.executable, "-c", PINNER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(1.5)  # a few dozen pins written, one most likely in flight
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    folder = tmp_path / "pins"
    written = [p for p in folder.glob("*.json") if not p.name.startswith(".tmp-")]
    assert written, "the child wrote no pin before it was killed"
    for path in written:
        json.loads(path.read_text())  # whole JSON, never a torn file
        assert pins.load_pin(tmp_path, path.stem).id == path.stem
    assert len(pins.list_pins(tmp_path)) == len(written)
    assert storage.used_bytes(tmp_path) == complete_pin_bytes(folder)
    storage.clean_pin_temps(tmp_path)  # as the app does on start
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []
    assert len(pins.list_pins(tmp_path)) == len(written)


def test_a_killed_pin_write_counts_nowhere_and_is_cleaned_whatever_its_age(
    tmp_path: Path,
) -> None:
    info = ws.create_workspace(tmp_path, ws.directory_files(DEMO_DATA))
    folder = info.path / "pins"
    folder.mkdir()
    half = b'{"id":"0123456789ab","experiment":"dark_mo'  # what a killed write leaves
    (folder / ".tmp-k1ll3d.part").write_bytes(half * 1000)
    (folder / ".tmp-0ld3r.json").write_bytes(half)  # the name earlier versions used
    before = storage.used_bytes(tmp_path)
    assert before == ws.size_of(info.path) - 1001 * len(half)
    assert ws.pin_count(info.path) == 0 and pins.list_pins(info.path) == []
    assert ws.expire_workspaces(tmp_path, now=time.time() + 10**9) == [info.id]  # not pinned
    info = ws.create_workspace(tmp_path, ws.directory_files(DEMO_DATA))
    folder = info.path / "pins"
    folder.mkdir()
    (folder / ".tmp-fresh.part").write_bytes(half)  # seconds old: still a killed write
    assert storage.clean_pin_temps(tmp_path) == 1
    assert list(folder.iterdir()) == []
