"""What the app may keep on the server's disk: a total quota, and clean-up of interrupted saves.

Every byte the app writes lives under `<data_root>/workspaces/` (uploads, each workspace's own
pins) and `<data_root>/pins/` (pins of the bundled data). Their total is capped by
NSEXP_MAX_STORAGE_MB (megabytes of 1,000,000 bytes, the unit of every size the app states;
default DEFAULT_MAX_STORAGE_MB): a save that would pass it, or would not fit on the disk, is
refused with one message before a byte is written. Staging directories left by a save that was
interrupted (a killed server) are removed when the app starts and before each save.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from pathlib import Path

from nsexp.errors import InputError

MB = 1_000_000  # one unit for every size the app states: Streamlit's uploader counts in 10^6
STORAGE_ENV = "NSEXP_MAX_STORAGE_MB"
DEFAULT_MAX_STORAGE_MB = 1_000
WORKSPACES_DIR = "workspaces"
PINS_DIR = "pins"
STAGING_PREFIX = ".staging-"
STALE_STAGING_SECONDS = 3600
DISK_HEADROOM_BYTES = 10 * MB  # left free on the disk, so the server itself can still write
DISK_FULL_FIX = (
    "the server's disk is full: ask whoever runs nsexp to free space or raise its disk, or delete "
    "old workspaces on the Data page"
)


def mb(size: int) -> str:
    """A size in the app's one unit: '57.3 MB' means 57,300,000 bytes (rounded up)."""
    tenths = -(-size * 10 // MB)
    return f"{tenths / 10:.1f} MB"


def max_storage_bytes() -> int:
    """The quota in bytes, from NSEXP_MAX_STORAGE_MB (default DEFAULT_MAX_STORAGE_MB)."""
    raw = os.environ.get(STORAGE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_STORAGE_MB * MB
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise InputError(
            f"{STORAGE_ENV}={raw!r} is not a size in megabytes",
            fix=f"set {STORAGE_ENV} to a positive number, e.g. {DEFAULT_MAX_STORAGE_MB}",
        )
    return int(value * MB)


def used_bytes(data_root: Path) -> int:
    """Bytes of every file the app wrote under the data root (workspaces and pins)."""
    total = 0
    for top in (Path(data_root) / WORKSPACES_DIR, Path(data_root) / PINS_DIR):
        if not top.is_dir():
            continue
        for folder, _, names in os.walk(top):
            for name in names:
                try:
                    total += (Path(folder) / name).lstat().st_size
                except OSError:
                    continue
    return total


def check_room(data_root: Path, incoming: int) -> None:
    """Refuse a write of `incoming` bytes that would pass the quota or not fit on the disk."""
    quota = max_storage_bytes()
    used = used_bytes(data_root)
    if used + incoming > quota:
        raise InputError(
            f"saving {mb(incoming)} would bring the app's storage to {mb(used + incoming)}, over "
            f"its quota of {mb(quota)} ({STORAGE_ENV})",
            fix="delete old workspaces on the Data page, or ask whoever runs nsexp to raise "
            f"{STORAGE_ENV}",
        )
    probe = Path(data_root)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if incoming + DISK_HEADROOM_BYTES > free:
        raise InputError(f"no room to save {mb(incoming)} ({mb(free)} free)", fix=DISK_FULL_FIX)


def write_error(exc: OSError, what: str) -> InputError:
    """An OSError met while saving, as the one message a person can act on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(f"cannot save {what}: no space left on the disk", fix=DISK_FULL_FIX)
    reason = exc.strerror or type(exc).__name__
    return InputError(
        f"cannot save {what} ({reason})",
        fix="try again; if it persists, ask whoever runs nsexp to check the data directory",
    )


def staging_name() -> str:
    """The prefix of a new staging directory: it names the process that owns it."""
    return f"{STAGING_PREFIX}{os.getpid()}-"


def clean_staging(root: Path, *, on_start: bool = False) -> int:
    """Remove staging directories of interrupted saves under a workspaces root; how many.

    A staging directory is stale once its process is gone, or after STALE_STAGING_SECONDS. On
    start (`on_start`) this process owns none yet, so every one of its own pid is stale too
    (a pid reused after a restart)."""
    removed = 0
    if not Path(root).is_dir():
        return 0
    cutoff = time.time() - STALE_STAGING_SECONDS
    for entry in Path(root).glob(STAGING_PREFIX + "*"):
        try:
            if not entry.is_dir():
                continue
            pid = _owner(entry.name)
            gone = pid is not None and (not _alive(pid) or (on_start and pid == os.getpid()))
            if not gone and entry.stat().st_mtime >= cutoff:
                continue
        except OSError:
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed += not entry.exists()
    return removed


def clean_pin_temps(data_root: Path, older_than: float = 60.0) -> int:
    """Remove the temporary files of pin writes a killed server left (`pins/.tmp-*`, older than
    `older_than` seconds: a live write lasts milliseconds); how many. Pins themselves are
    written by rename, so a kill leaves each one whole or absent."""
    root = Path(data_root)
    folders = [root / PINS_DIR, *(root / WORKSPACES_DIR).glob(f"*/{PINS_DIR}")]
    cutoff, removed = time.time() - older_than, 0
    for folder in folders:
        for entry in folder.glob(".tmp-*"):
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except OSError:
                continue
    return removed


def _owner(name: str) -> int | None:
    """The pid in `.staging-<pid>-<random>`; None for older names without one."""
    head = name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
