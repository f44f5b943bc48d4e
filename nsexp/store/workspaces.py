"""Workspaces: uploaded data saved under the data root as capability links.

A workspace is a directory `<data_root>/workspaces/<id>/` holding the uploaded CSV / Parquet
files, a metrics.toml, an optional experiments.toml and a `workspace.json` manifest. The id is
128 random bits (32 hex digits), new at every save, so only whoever holds a link can open it;
the data's fingerprint (a hash of its content) is in the manifest. Deleting takes the delete
code shown once at save (stored salted and hashed) or the server's operator. The manifest has
an `owner` (None: anyone holding the link; an email once sign-in exists). A workspace unused
(unopened) for NSEXP_WORKSPACE_TTL_DAYS expires unless pinned readouts refer to it. Ids of 12
hex digits, content hashes saved before, keep opening: links already pasted keep working.

Limits (documented in docs/deployment.md and on the Data page):
- at most MAX_UPLOAD_BYTES (50 MB = 50,000,000 bytes: `server.maxUploadSize = 50` in
  .streamlit/config.toml, which Streamlit's uploader counts in megabytes of 10^6 bytes in the
  browser) per workspace, all files together, and at most MAX_FILES files;
- at least one CSV or Parquet file, and room under the storage quota (nsexp.store.storage);
- rows, cells and experiment × arm × metric figures within nsexp.io.limits.UPLOAD_LIMITS,
  checked from the files' metadata before a row is read, and again whenever a workspace is read;
- file names are plain base names of ASCII letters, digits, `.`, `_`, `-`, ending in .csv or
  .parquet (an upload's other characters become `_`: safe_name); the only TOML files are
  metrics.toml and experiments.toml;
- an upload without metrics.toml gets a copy of the current catalog (the data root's metrics.toml
  unless the caller names another), and the copy is part of the data fingerprint.

Nothing is ever written outside `<data_root>/workspaces/`: uploads are validated with the same
loader as the CLI in a private staging directory there, then renamed into place in one step.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from nsexp.config.catalog import Catalog, parse_catalog
from nsexp.config.toml import parse_toml
from nsexp.errors import InputError, echo
from nsexp.io import load_dataset
from nsexp.io.files import DATA_SUFFIXES, data_files
from nsexp.io.limits import UPLOAD_LIMITS
from nsexp.store.owners import may_delete, not_yours
from nsexp.store.storage import (
    MANIFEST,
    MB,
    PINS_DIR,
    STAGING_PREFIX,
    WORKSPACES_DIR,
    access_record,
    check_quota,
    check_room,
    clean_staging,
    code_matches,
    is_pin_file,
    mb,
    new_delete_code,
    setting,
    staging_name,
    store_lock,
    write_error,
)

MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * MB  # Streamlit's uploader: MB of 10^6 bytes in the browser
MAX_FILES = 200
MAX_NAME_LENGTH = 100
CATALOG = "metrics.toml"
TOML_NAMES = (CATALOG, "experiments.toml")
TTL_ENV = "NSEXP_WORKSPACE_TTL_DAYS"
DEFAULT_TTL_DAYS = 90
OPENED = ".opened"  # an empty file whose mtime is when the workspace was last opened
OPENED_EVERY_SECONDS = 3600  # record an opening at most hourly: one stat per page run
__all__ = ["MANIFEST", "STAGING_PREFIX", "WORKSPACES_DIR"]  # re-exported: where uploads live

_ID = re.compile(r"[0-9a-f]{32}|[0-9a-f]{12}")  # random ids, and the content hashes of before
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.(csv|parquet|toml)", re.IGNORECASE)
_PICK_FIX = "open the Data page to pick a workspace or upload the data again"


@dataclass(frozen=True)
class WorkspaceInfo:
    """One saved workspace: where it lives, what it holds and which data version it is."""

    id: str
    path: Path
    files: tuple[str, ...]
    created_at: str
    fingerprint: str
    owner: str | None = None  # None: capability mode, whoever holds the link
    has_delete_code: bool = False  # False for workspaces saved before delete codes
    delete_code: str | None = field(default=None, repr=False, compare=False)  # at save only


def workspaces_root(data_root: Path) -> Path:
    """The directory that holds every workspace of a data root."""
    return Path(data_root) / WORKSPACES_DIR


def check_name(name: str) -> None:
    """Refuse any upload name that is not a plain, safe base name of a file nsexp reads."""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise InputError(
            f"file name {name!r} is not allowed",
            fix="use a plain name of letters, digits, '.', '_' or '-' ending in "
            ".csv, .parquet or .toml (the catalog is metrics.toml)",
        )
    if name.lower().endswith(".toml") and name not in TOML_NAMES:
        raise InputError(
            f"file name {name!r} is not a file nsexp reads",
            fix="name the metric catalog metrics.toml and the experiment list experiments.toml",
        )


def safe_name(name: str) -> str:
    """A browser's file name as a plain base name check_name accepts: any folder part dropped,
    accents removed, every run of other characters one '_' ("export (1).csv" ->
    "export_1.csv"), the suffix kept. The result is a bare name inside its workspace, never a
    path; a name that is still not allowed (no data suffix, too long) is left to check_name."""
    base = re.split(r"[/\\]", str(name))[-1]
    plain = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem, dot, suffix = plain.rpartition(".")
    if not dot:
        stem, suffix = plain, ""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-") or "upload"
    suffix = re.sub(r"[^A-Za-z0-9]+", "", suffix)
    return f"{stem}.{suffix}" if suffix else stem


def new_workspace_id() -> str:
    """128 random bits as 32 hex digits: a link nobody can guess or compute from the data."""
    return secrets.token_hex(16)


def files_from_uploads(uploads: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """Uploaded (name, bytes) pairs as a dict by safe_name, refusing two files of one name."""
    files: dict[str, bytes] = {}
    for name, content in uploads:
        safe = safe_name(name)
        if safe in files:
            raise InputError(
                f"two uploaded files are named {safe!r}", fix="give every file a distinct name"
            )
        files[safe] = content
    return files


def check_upload(files: dict[str, bytes]) -> None:
    """Validate names, count and total size of an upload before anything touches the disk."""
    for name, content in files.items():
        if not isinstance(content, bytes | bytearray | memoryview):
            raise InputError("the upload is not file content", file=name)
    problem = upload_problem((name, len(content)) for name, content in files.items())
    if problem is not None:
        raise problem


def upload_problem(files: Iterable[tuple[str, int]]) -> InputError | None:
    """What is wrong with an upload of these (name, size) pairs, or None when it may be saved:
    the Data page keeps Save disabled, with this reason, until there is something valid."""
    files = list(files)
    if not files:
        return InputError("no files uploaded", fix="add CSV or Parquet files and a metrics.toml")
    if len(files) > MAX_FILES:
        return InputError(
            f"{len(files)} files uploaded, more than the limit of {MAX_FILES}",
            fix="combine experiments into fewer files (one file may hold many experiments)",
        )
    folded: set[str] = set()
    for name, _ in files:
        try:
            check_name(name)
        except InputError as exc:
            return exc
        if name.lower() in folded:
            return InputError(
                f"two files are named {name!r} apart from upper and lower case",
                file=name,
                fix="give every file a distinct name",
            )
        folded.add(name.lower())
    if not any(name.lower().endswith(DATA_SUFFIXES) for name, _ in files):
        return InputError(
            "no CSV or Parquet file in the upload",
            fix="add the experiment data (*.csv or *.parquet) beside the TOML files",
        )
    total = sum(size for _, size in files)
    if total > MAX_UPLOAD_BYTES:
        return InputError(
            f"the upload is {mb(total)} ({total:,} bytes), over the {MAX_UPLOAD_MB} MB limit "
            f"({MAX_UPLOAD_BYTES:,} bytes)",
            fix="upload Parquet (much smaller than CSV) or pre-aggregated summary rows",
        )
    return None


def create_workspace(
    data_root: Path,
    files: dict[str, bytes],
    *,
    catalog: Path | None = None,
    owner: str | None = None,
) -> WorkspaceInfo:
    """Validate an upload like the CLI would and save it as a new workspace with a new random
    id; the returned info carries the delete code, which is stored only hashed. A workspace
    with an `owner` (the signed-in creator's email) has no delete code: its owner deletes it.

    Without metrics.toml in `files`, `catalog` (default: the data root's metrics.toml) is copied
    in. The quotas are checked before the upload is read and again, under the store lock, when
    the validated workspace is renamed into place.
    """
    data_root = Path(data_root)
    check_upload(files)
    files = {name: bytes(content) for name, content in files.items()}
    copied = CATALOG not in files
    if copied:
        source = Path(catalog) if catalog is not None else data_root / CATALOG
        if not source.is_file():
            raise InputError(
                "no metrics.toml in the upload and no catalog to copy",
                fix="upload a metrics.toml with the data",
            )
        files[CATALOG] = source.read_bytes()
        check_upload(files)
    root = workspaces_root(data_root)
    target = root / new_workspace_id()
    check_room(data_root, sum(len(c) for c in files.values()), target, owner)
    if root.is_dir():
        expire_workspaces(data_root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        clean_staging(root)
        staging = Path(tempfile.mkdtemp(prefix=staging_name(), dir=root))
    except OSError as exc:
        raise write_error(exc, "the workspace") from None
    code, record = new_delete_code() if owner is None else (None, None)
    try:
        _stage(staging, target, files, copied, owner, record)
        with store_lock(data_root):  # the check and the rename as one step for every process
            check_quota(data_root, size_of(staging), target, owner)
            staging.rename(target)
    except OSError as exc:
        raise write_error(exc, "the workspace") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return replace(read_workspace(data_root, target.name), delete_code=code)


def _stage(
    staging: Path,
    target: Path,
    files: dict[str, bytes],
    copied: bool,
    owner: str | None,
    record: dict[str, str] | None,
) -> None:
    """Write and validate the upload, its manifest and its first opening in staging."""
    for name, content in files.items():
        (staging / name).write_bytes(content)
    try:
        dataset = load_dataset(staging, limits=UPLOAD_LIMITS)
    except InputError as exc:
        raise _relabel(exc, staging) from None
    manifest = {
        "id": target.name,
        "files": sorted(files),
        "created_at": _now(),
        "fingerprint": dataset.fingerprint,
        "catalog_copied": copied,
        "owner": owner,
        "delete_code": record,
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (staging / OPENED).touch()


def resolve(data_root: Path, workspace_id: str | None) -> Path:
    """The data directory for a workspace id: the data root itself for None or ""."""
    data_root = Path(data_root)
    if not workspace_id:
        return data_root
    if not isinstance(workspace_id, str) or not _ID.fullmatch(workspace_id):
        raise InputError(
            f"workspace {echo(workspace_id)} is not a workspace id (32 hex digits)", fix=_PICK_FIX
        )
    root = workspaces_root(data_root).resolve()
    path = (root / workspace_id).resolve()
    if not path.is_relative_to(root) or path.parent != root or not path.is_dir():
        raise InputError(f"no workspace {workspace_id}", fix=_PICK_FIX)
    return path


def read_workspace(data_root: Path, workspace_id: str) -> WorkspaceInfo:
    """The WorkspaceInfo of one saved workspace, from its manifest."""
    path = resolve(data_root, workspace_id)
    if path == Path(data_root):
        raise InputError("no workspace id given", fix=_PICK_FIX)
    try:
        raw = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        return WorkspaceInfo(
            id=workspace_id,
            path=path,
            files=tuple(str(f) for f in raw["files"]),
            created_at=str(raw["created_at"]),
            fingerprint=str(raw["fingerprint"]),
            owner=raw["owner"] if isinstance(raw.get("owner"), str) else None,
            has_delete_code=isinstance(raw.get("delete_code"), dict),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"workspace {workspace_id} has no readable {MANIFEST}", fix=_PICK_FIX
        ) from exc


def list_workspaces(data_root: Path) -> list[WorkspaceInfo]:
    """Every readable workspace under the data root, newest first: for the server's operator
    (`nsexp workspaces list`), never shown to visitors."""
    root = workspaces_root(data_root)
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        if not _ID.fullmatch(entry.name):
            continue
        try:
            found.append(read_workspace(data_root, entry.name))
        except InputError:
            continue
    return sorted(found, key=lambda w: (w.created_at, w.id), reverse=True)


def pin_count(path: Path) -> int:
    """How many complete pinned readouts a workspace directory holds (they keep it from
    deletion and expiry); a pin's temporary file left by a killed write is not one."""
    folder = Path(path) / PINS_DIR
    return sum(1 for p in folder.iterdir() if is_pin_file(p)) if folder.is_dir() else 0


def size_of(path: Path) -> int:
    """Bytes of every file in a workspace directory, its pins included."""
    return sum(p.lstat().st_size for p in Path(path).rglob("*") if p.is_file())


def check_delete_code(record_file: Path, code: str | None, what: str) -> None:
    """Refuse a visitor's delete unless `code` is the delete code stored in `record_file` (a
    manifest or a pin); things saved before delete codes only the operator deletes."""
    _, record = access_record(record_file)
    if record is None:
        raise InputError(
            f"{what} was saved before delete codes: only whoever runs nsexp can delete it",
            fix="ask them to run `nsexp workspaces delete` on the server",
        )
    if not code_matches(record, code or ""):
        raise InputError(
            f"that is not the delete code of {what}",
            fix="type the code shown once when it was saved; without it, ask whoever runs nsexp",
        )


def delete_workspace(
    data_root: Path,
    workspace_id: str,
    *,
    code: str | None = None,
    operator: bool = False,
    with_pins: bool = False,
    user: str | None = None,
    operators: Sequence[str] = (),
) -> int:
    """Delete one workspace (links to it stop working) and return the bytes freed. A workspace
    a signed-in `user` created, only they or one of the `operators` delete (owners.may_delete);
    an ownerless one takes its delete `code` or an operator; the server's operator (the CLI,
    `operator`) needs neither. Refused while it holds pinned readouts, unless `with_pins`
    deletes them too."""
    path = resolve(data_root, workspace_id)
    if path == Path(data_root):
        raise InputError("no workspace id given", fix=_PICK_FIX)
    owner = access_record(path / MANIFEST)[0]
    what = f"workspace {workspace_id}"
    if not (operator or may_delete(owner, user, operators)):
        if owner is not None:
            raise not_yours(what)
        check_delete_code(path / MANIFEST, code, what)
    with store_lock(data_root):
        pins = pin_count(path)
        if pins and not with_pins:
            raise InputError(
                f"workspace {workspace_id} is kept: {pins} pinned readout"
                f"{'s' if pins != 1 else ''} refer to it",
                fix="a pin keeps the data it was pinned from, so links to it keep working; "
                "delete its pins first, or the workspace with its pins",
            )
        return _remove(path)


def _remove(path: Path) -> int:
    """Remove a workspace directory (under the store lock) and return the bytes freed."""
    size = size_of(path)
    doomed = path.parent / f"{staging_name()}deleted-{path.name}"
    try:
        path.rename(doomed)  # gone for readers in one step; a killed delete is cleaned on start
    except OSError as exc:
        raise write_error(exc, f"the deletion of workspace {path.name}") from None
    shutil.rmtree(doomed, ignore_errors=True)
    return size


def ttl_seconds() -> float:
    """How long an unused workspace is kept, from NSEXP_WORKSPACE_TTL_DAYS (default 90)."""
    return setting(TTL_ENV, DEFAULT_TTL_DAYS, "days") * 86_400


def mark_opened(path: Path, *, now: float | None = None) -> None:
    """Record that a workspace was opened (its expiry clock restarts): the mtime of an empty
    marker file, touched at most every OPENED_EVERY_SECONDS; a read-only disk is ignored."""
    marker = Path(path) / OPENED
    now = time.time() if now is None else now
    try:
        if now - marker.stat().st_mtime < OPENED_EVERY_SECONDS:
            return
    except OSError:
        pass
    try:
        marker.touch()
        os.utime(marker, (now, now))
    except OSError:
        return


def last_opened(path: Path) -> float | None:
    """When a workspace was last opened (POSIX seconds), or None when never recorded."""
    try:
        return (Path(path) / OPENED).stat().st_mtime
    except OSError:
        return None


def expire_workspaces(data_root: Path, *, now: float | None = None) -> list[str]:
    """Delete the anonymous workspaces unopened for ttl_seconds() that no pin refers to; their
    ids. One saved before openings were recorded starts its clock now, so an upgrade never
    expires a link that was pasted yesterday."""
    root = workspaces_root(data_root)
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    cutoff, expired = now - ttl_seconds(), []
    with store_lock(data_root):
        for entry in sorted(root.iterdir()):
            if not _ID.fullmatch(entry.name) or not entry.is_dir():
                continue
            if access_record(entry / MANIFEST)[0] is not None or pin_count(entry):
                continue
            opened = last_opened(entry)
            if opened is None:
                mark_opened(entry, now=now)
            elif opened < cutoff:
                _remove(entry)
                expired.append(entry.name)
    return expired


def catalog_from_text(text: str) -> Catalog:
    """Validate metrics.toml text (e.g. typed into the Data page) with the CLI's messages."""
    return parse_catalog(parse_toml(text, CATALOG), source=CATALOG)


def directory_files(directory: Path) -> dict[str, bytes]:
    """The files nsexp reads from a data directory, by name: data files plus the TOML files."""
    directory = Path(directory)
    paths = [*data_files(directory), *(directory / n for n in TOML_NAMES)]
    return {p.name: p.read_bytes() for p in paths if p.is_file()}


def data_stamp(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, size, mtime) of each file nsexp reads there: a cheap cache key for its content."""
    directory = Path(directory)
    paths = [*data_files(directory), *(directory / n for n in TOML_NAMES)]
    return tuple(
        (p.name, st.st_size, st.st_mtime_ns) for p in paths if p.is_file() for st in [p.stat()]
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _relabel(exc: InputError, staging: Path) -> InputError:
    """The same error with staging paths shown as the uploaded file names."""

    def strip(text: str | None) -> str | None:
        if text is None:
            return None
        text = text.replace(str(staging) + os.sep, "")
        return text.replace(str(staging), "upload")

    return InputError(
        strip(exc.problem) or "", file=strip(exc.file), column=exc.column, fix=strip(exc.fix)
    )
