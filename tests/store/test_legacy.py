"""Links already pasted keep working: a workspace and a pin saved the way nsexp saved them
before capability links (12-hex content-hash ids, no delete code, no owner, no record of
openings, indented pin JSON) still open, are listed to nobody but the operator, can be deleted
only by the operator, and do not expire on the day of the upgrade."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import APP_FILE, DEMO_DATA, REPO
from streamlit.testing.v1 import AppTest

from nsexp.analysis.methods import methods
from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.report.json import experiment_dict
from nsexp.store import pins
from nsexp.store import workspaces as ws

FILES = ("dark_mode.csv", "metrics.toml", "experiments.toml")
RUN = {"capture_output": True, "text": True, "check": False, "cwd": REPO}


def old_workspace(root: Path) -> str:
    """A workspace as the code before capability links wrote it: id = the first 12 hex digits
    of SHA-256 over the sorted (name, NUL, 8-byte length, bytes) of its files."""
    files = {name: (DEMO_DATA / name).read_bytes() for name in FILES}
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + len(files[name]).to_bytes(8, "big") + files[name])
    wid = digest.hexdigest()[:12]
    folder = root / "workspaces" / wid
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    manifest = {
        "id": wid,
        "files": sorted(files),
        "created_at": "2025-01-02T03:04:05Z",
        "fingerprint": load_dataset(folder).fingerprint,
        "catalog_copied": False,
    }
    (folder / "workspace.json").write_text(json.dumps(manifest, indent=2))
    return wid


def old_pin(folder: Path) -> str:
    """A pin as the code before delete codes wrote it: the body's sorted JSON hashed for the
    id, the file the dataclass's fields with indent=2."""
    readout = build_readout(load_dataset(folder))
    body = {
        "experiment": "dark_mode",
        "variant": "dark",
        "created_at": "2025-01-02T04:00:00Z",
        "settings": Settings().to_dict(),
        "fingerprint": readout.fingerprint,
        "payload": experiment_dict(readout.experiments["dark_mode"]),
        "methods": methods(readout.settings),
    }
    pid = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    (folder / "pins").mkdir(exist_ok=True)
    (folder / "pins" / f"{pid}.json").write_text(json.dumps({"id": pid, **body}, indent=2))
    return pid


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(DEMO_DATA / name, tmp_path / name)
    return tmp_path


def test_an_old_workspace_and_its_pin_still_open(root: Path) -> None:
    wid = old_workspace(root)
    pid = old_pin(root / "workspaces" / wid)
    path = ws.resolve(root, wid)
    info = ws.read_workspace(root, wid)
    assert (info.id, info.owner, info.has_delete_code) == (wid, None, False)
    assert load_dataset(path).fingerprint == info.fingerprint
    pin = pins.load_pin(path, pid)
    assert (pin.experiment, pin.variant) == ("dark_mode", "dark")
    assert pin.readout().id == "dark_mode"
    assert [p.id for p in pins.list_pins(path)] == [pid]
    assert ws.pin_count(path) == 1


def test_the_pasted_links_still_open_in_the_app(root: Path, monkeypatch) -> None:
    wid = old_workspace(root)
    pid = old_pin(root / "workspaces" / wid)
    monkeypatch.setenv("NSEXP_DATA_DIR", str(root))
    at = AppTest.from_file(str(APP_FILE), default_timeout=30)
    at.query_params.update({"workspace": wid, "pin": pid})
    at.switch_page("pages/readout.py")
    at.run()
    assert not at.exception and not at.error and not at.warning
    assert at.info[0].proto.title == "Pinned readout: these figures do not move"
    assert at.title[0].value == "Dark mode by default"
    data = AppTest.from_file(str(APP_FILE), default_timeout=30)
    data.query_params["workspace"] = wid
    data.switch_page("pages/data.py")
    data.run()
    assert not data.exception and not data.error
    assert data.selectbox(key="workspace_pick").value == wid
    assert any("only whoever runs nsexp can delete it" in c.value for c in data.caption)


def test_an_old_pin_of_the_bundled_data_still_opens(root: Path) -> None:
    pid = old_pin(root)
    assert pins.load_pin(root, pid).experiment == "dark_mode"


def test_old_ones_are_deleted_only_by_the_operator(root: Path) -> None:
    wid = old_workspace(root)
    path = root / "workspaces" / wid
    pid = old_pin(path)
    with pytest.raises(InputError, match="saved before delete codes: only whoever runs nsexp"):
        ws.delete_workspace(root, wid, code="anything", with_pins=True)
    with pytest.raises(InputError, match="saved before delete codes: only whoever runs nsexp"):
        pins.delete_pin(path, pid, code="anything")
    cli = [sys.executable, "-m", "nsexp", "workspaces"]
    listed = subprocess.run([*cli, "list", str(root), "--format", "json"], **RUN)
    assert [r["id"] for r in json.loads(listed.stdout)] == [wid]
    kept = subprocess.run([*cli, "delete", str(root), wid], **RUN)
    assert kept.returncode == 2 and kept.stderr.startswith(f"error: workspace {wid} is kept")
    gone = subprocess.run([*cli, "delete", str(root), wid, "--pin", pid], **RUN)
    assert gone.returncode == 0 and ws.pin_count(path) == 0
    gone = subprocess.run([*cli, "delete", str(root), wid], **RUN)
    assert gone.returncode == 0 and gone.stdout.startswith(f"deleted workspace {wid}")
    assert ws.list_workspaces(root) == []


def test_an_upgrade_starts_the_expiry_clock_of_old_workspaces(root: Path) -> None:
    wid = old_workspace(root)
    assert ws.last_opened(root / "workspaces" / wid) is None
    assert ws.expire_workspaces(root) == []  # saved in 2025, but its openings were not recorded
    assert ws.last_opened(root / "workspaces" / wid) == pytest.approx(time.time(), abs=60)
    assert ws.expire_workspaces(root, now=time.time() + 91 * 86_400) == [wid]
