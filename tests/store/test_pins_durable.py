"""What held in the issue's attack stays held: a server killed (SIGKILL) while pinning leaves
every pin whole or absent, never half a file."""

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
    pins.pin_readout(root, readout, "dark_mode", None, now=start + dt.timedelta(seconds=i))
"""


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
    written = [p for p in (tmp_path / "pins").glob("*.json") if not p.name.startswith(".tmp-")]
    assert written, "the child wrote no pin before it was killed"
    for path in written:
        json.loads(path.read_text())  # whole JSON, never a torn file
        assert pins.load_pin(tmp_path, path.stem).id == path.stem
    assert len(pins.list_pins(tmp_path)) == len(written)
    storage.clean_pin_temps(tmp_path, older_than=0)  # as the app does on start
    assert not list((tmp_path / "pins").glob(".tmp-*"))
    assert len(pins.list_pins(tmp_path)) == len(written)
