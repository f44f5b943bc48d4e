"""What the app may keep on the server's disk: quotas, one lock, delete codes and clean-up.

Every byte the app writes lives under `<data_root>/workspaces/` (uploads, each workspace's own
pins) and `<data_root>/pins/` (pins of the bundled data). Sizes are in megabytes of 1,000,000
bytes, the unit of every size the app states. Three limits, each refused with one message:
- NSEXP_MAX_STORAGE_MB (default DEFAULT_MAX_STORAGE_MB): everything together;
- NSEXP_MAX_WORKSPACE_MB (default DEFAULT_MAX_WORKSPACE_MB): one creator's share: a workspace
  with its pins (the bundled data's pins count as one more workspace);
- NSEXP_MAX_PIN_KB (default DEFAULT_MAX_PIN_KB): one pin.
Only complete files count: a staging directory or a pin's temporary file is a write in flight.
The check and the write happen under one exclusive lock (`store_lock`: fcntl.flock on
`<data_root>/workspaces/.lock`), so two processes (the app's sessions, `nsexp workspaces`)
never both fit into the same room. Staging directories and temporary files left by an
interrupted save (a killed server) are removed when the app starts and before each save.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nsexp.errors import InputError

MB = 1_000_000  # one unit for every size the app states: Streamlit's uploader counts in 10^6
STORAGE_ENV = "NSEXP_MAX_STORAGE_MB"
DEFAULT_MAX_STORAGE_MB = 1_000
WORKSPACE_ENV = "NSEXP_MAX_WORKSPACE_MB"
DEFAULT_MAX_WORKSPACE_MB = 100  # a full 50 MB upload plus 50 pins of the largest size
PIN_ENV = "NSEXP_MAX_PIN_KB"
DEFAULT_MAX_PIN_KB = 1_000  # kilobytes of 1,000 bytes: 1 MB
KB = 1_000
WORKSPACES_DIR = "workspaces"
PINS_DIR = "pins"
MANIFEST = "workspace.json"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".staging-"
TEMP_PREFIX = ".tmp-"  # a pin being written; renamed to `<id>.json` once whole
PIN_ID = re.compile(r"[0-9a-f]{12}")
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


def setting(env: str, default: float, unit: str) -> float:
    """A positive number from the environment variable `env` (default when unset or blank)."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise InputError(
            f"{env}={raw!r} is not a number of {unit}",
            fix=f"set {env} to a positive number, e.g. {default:g}",
        )
    return value


def max_storage_bytes() -> int:
    """The total quota in bytes, from NSEXP_MAX_STORAGE_MB (default DEFAULT_MAX_STORAGE_MB)."""
    return int(setting(STORAGE_ENV, DEFAULT_MAX_STORAGE_MB, "megabytes") * MB)


def max_workspace_bytes() -> int:
    """One workspace's quota (its upload and pins) in bytes, from NSEXP_MAX_WORKSPACE_MB."""
    return int(setting(WORKSPACE_ENV, DEFAULT_MAX_WORKSPACE_MB, "megabytes") * MB)


def max_pin_bytes() -> int:
    """The largest pin in bytes, from NSEXP_MAX_PIN_KB (default DEFAULT_MAX_PIN_KB)."""
    return int(setting(PIN_ENV, DEFAULT_MAX_PIN_KB, "kilobytes") * KB)


def complete_bytes(top: Path) -> int:
    """Bytes of the complete files under `top`: writes in flight (staging directories, pin
    temporary files) and the lock file are not stored data yet."""
    total = 0
    if not Path(top).is_dir():
        return 0
    for folder, dirs, names in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        for name in names:
            if name.startswith(TEMP_PREFIX) or name == LOCK_FILE:
                continue
            try:
                total += (Path(folder) / name).lstat().st_size
            except OSError:
                continue
    return total


def used_bytes(data_root: Path) -> int:
    """Bytes of every complete file the app wrote under the data root (workspaces and pins)."""
    return sum(complete_bytes(Path(data_root) / top) for top in (WORKSPACES_DIR, PINS_DIR))


def check_room(data_root: Path, incoming: int, scope: Path | None = None) -> None:
    """Refuse a write of `incoming` bytes that would pass a quota (check_quota) or not fit on
    the disk, before a byte is written."""
    check_quota(data_root, incoming, scope)
    probe = Path(data_root)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if incoming + DISK_HEADROOM_BYTES > free:
        raise InputError(f"no room to save {mb(incoming)} ({mb(free)} free)", fix=DISK_FULL_FIX)


def check_quota(data_root: Path, incoming: int, scope: Path | None = None) -> None:
    """Refuse `incoming` more bytes that would pass the total quota or the quota of the
    workspace they go to (`scope`: its directory, or the bundled data's pins directory).
    Call it under `store_lock` together with the write, so the answer still holds."""
    quota = max_storage_bytes()
    used = used_bytes(data_root)
    if used + incoming > quota:
        raise InputError(
            f"saving {mb(incoming)} would bring the app's storage to {mb(used + incoming)}, over "
            f"its quota of {mb(quota)} ({STORAGE_ENV})",
            fix="delete old workspaces on the Data page, or ask whoever runs nsexp to raise "
            f"{STORAGE_ENV}",
        )
    if scope is None:
        return
    share, held = max_workspace_bytes(), complete_bytes(scope)
    if held + incoming > share:
        raise InputError(
            f"saving {mb(incoming)} would bring this workspace to {mb(held + incoming)}, over "
            f"the quota of {mb(share)} per workspace ({WORKSPACE_ENV})",
            fix="delete pins of it you no longer need (with their delete code), or ask whoever "
            f"runs nsexp to raise {WORKSPACE_ENV}",
        )


@contextmanager
def store_lock(data_root: Path) -> Iterator[None]:
    """Hold the data root's store lock: an exclusive fcntl.flock on `workspaces/.lock`, which
    every quota check with its write, every delete and every clean-up takes. It is held by the
    open file, so it serialises threads of one server as well as processes, and the kernel
    releases it when a holder dies. Not re-entrant: never take it twice in one call chain."""
    folder = Path(data_root) / WORKSPACES_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a")  # noqa: SIM115 - closed below, after the unlock
    except OSError as exc:
        raise write_error(exc, "to the data directory") from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def new_delete_code() -> tuple[str, dict[str, str]]:
    """A delete code to show its creator once (96 random bits, URL-safe) and the record to
    store: a random salt and the SHA-256 of salt + code. A slow hash buys nothing against a
    code this random; the salt keeps two records of one code apart."""
    code = secrets.token_urlsafe(12)
    salt = secrets.token_hex(16)
    return code, {"salt": salt, "sha256": _digest(salt, code)}


def code_matches(record: Any, code: str) -> bool:
    """Whether a typed code is the one a stored record was made from (constant-time)."""
    if not isinstance(record, dict) or not isinstance(code, str) or not code.strip():
        return False
    salt, digest = record.get("salt"), record.get("sha256")
    if not isinstance(salt, str) or not isinstance(digest, str):
        return False
    return hmac.compare_digest(_digest(salt, code.strip()), digest)


def access_record(path: Path) -> tuple[str | None, Any]:
    """The creator (None in capability mode) and delete-code record a JSON file (a workspace
    manifest or a pin) stores; (None, None) for files saved before either existed."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    if not isinstance(raw, dict):
        return None, None
    owner = raw.get("owner")
    return (owner if isinstance(owner, str) else None), raw.get("delete_code")


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


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


def clean_pin_temps(data_root: Path) -> int:
    """Remove the temporary files of pin writes a killed process left (`pins/.tmp-*`, whatever
    their age); how many. Pins are written under the store lock, held here too, so no live
    write has a temporary file now; a pin itself is renamed into place whole, never torn."""
    root = Path(data_root)

    def temps() -> list[Path]:
        folders = [root / PINS_DIR, *(root / WORKSPACES_DIR).glob(f"*/{PINS_DIR}")]
        return [entry for folder in folders for entry in folder.glob(TEMP_PREFIX + "*")]

    if not temps():  # nothing to do: do not create a lock file in a read-only deployment
        return 0
    removed = 0
    with store_lock(root):
        for entry in temps():
            try:
                entry.unlink()
                removed += 1
            except OSError:
                continue
    return removed


def is_pin_file(path: Path) -> bool:
    """Whether a path names a complete pin (`<12 hex>.json`), not a write in flight."""
    path = Path(path)
    return path.suffix == ".json" and PIN_ID.fullmatch(path.stem) is not None


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
