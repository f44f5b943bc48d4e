"""The quota holds across processes: two saves started at the same instant by two processes
(as by two app servers, or the app and `nsexp workspaces`) never store more than the quota,
because each checks and renames into place under the data root's one lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import REPO

from nsexp.errors import InputError
from nsexp.store import storage
from nsexp.store import workspaces as ws

SAVER = """
import sys, time
from pathlib import Path
from nsexp.errors import InputError
from nsexp.store import workspaces as ws
root, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
files = {n: (root / d / n).read_bytes() for d, n in (("upload", name), (".", "metrics.toml"))}
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
try:
    print("saved", ws.create_workspace(root, files).id, flush=True)
except InputError as exc:
    print("refused", exc.message, flush=True)
"""
CATALOG = '[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'


def upload_csv(path: Path, size: int, seed: int) -> None:
    """A valid unit-level CSV of about `size` bytes (two arms, one metric)."""
    rows, n, i = ["variant,lessons"], 0, seed
    while n < size:
        i = (i * 1103515245 + 12345) % 2**31
        row = f"{'control' if i % 2 else 'treat'},{i % 97}"
        rows.append(row)
        n += len(row) + 1
    path.write_text("\n".join(rows) + "\n")


def race(root: Path, names: list[str]) -> list[str]:
    """Start one saving process per upload, release them at once; what each one printed."""
    go = root / f"go-{time.monotonic_ns()}"
    env = os.environ | {"PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVER, str(root), str(go), name],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in names
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    outcomes = [proc.communicate(timeout=300)[0].strip() for proc in procs]
    go.unlink()
    return outcomes


def run_trials(root: Path, size: int, quota_mb: float, trials: int, monkeypatch) -> list[int]:
    """Race two saves of `size` bytes each under a quota that fits one; bytes stored each time."""
    (root / "metrics.toml").write_text(CATALOG)
    (root / "upload").mkdir()
    for k, name in enumerate(("a.csv", "b.csv")):
        upload_csv(root / "upload" / name, size, seed=k)
    monkeypatch.setenv(storage.STORAGE_ENV, str(quota_mb))
    stored = []
    for _ in range(trials):
        outcomes = race(root, ["a.csv", "b.csv"])
        kinds = sorted(o.split()[0] for o in outcomes)
        assert kinds == ["refused", "saved"], outcomes
        assert "over its quota of" in next(o for o in outcomes if o.startswith("refused"))
        stored.append(storage.used_bytes(root))
        assert stored[-1] <= quota_mb * storage.MB
        for info in ws.list_workspaces(root):
            ws.delete_workspace(root, info.id, operator=True)
    return stored


def test_two_simultaneous_saves_never_pass_the_quota(tmp_path: Path, monkeypatch) -> None:
    stored = run_trials(tmp_path, 300_000, 0.5, 3, monkeypatch)
    assert all(0 < s <= 500_000 for s in stored)


@pytest.mark.slow
def test_two_simultaneous_48_mb_saves_under_a_60_mb_quota(tmp_path: Path, monkeypatch) -> None:
    stored = run_trials(tmp_path, 48_000_000, 60, 6, monkeypatch)
    assert all(48_000_000 < s <= 60_000_000 for s in stored)


def test_two_sessions_of_one_server_never_pass_the_quota(tmp_path: Path, monkeypatch) -> None:
    """The app's sessions are threads of one process: the lock (one open file each) holds
    between them too."""
    (tmp_path / "metrics.toml").write_text(CATALOG)
    (tmp_path / "upload").mkdir()
    for k, name in enumerate(("a.csv", "b.csv")):
        upload_csv(tmp_path / "upload" / name, 300_000, seed=k)
    monkeypatch.setenv(storage.STORAGE_ENV, "0.5")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def save(name: str) -> None:
        files = {name: (tmp_path / "upload" / name).read_bytes(), "metrics.toml": CATALOG.encode()}
        start.wait()
        try:
            outcomes.append(ws.create_workspace(tmp_path, files).id)
        except InputError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=save, args=(n,)) for n in ("a.csv", "b.csv")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(ws.list_workspaces(tmp_path)) == 1
    assert sum("over its quota of" in o for o in outcomes) == 1
    assert storage.used_bytes(tmp_path) <= 500_000
