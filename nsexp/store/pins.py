"""Pinned readouts: frozen snapshots of one experiment's figures for a sprint review.

A live readout moves as data arrives; a pin keeps the numbers everyone discussed. Each pin is one
JSON file `<workspace_dir>/pins/<id>.json` (the bundled demo data pins under `<data_root>/pins/`)
holding the experiment's readout as `nsexp.report.json.experiment_dict` gives it, the settings
and methods that produced it, the data fingerprint, the time it was pinned (UTC) and the
`schema_version` of its shape, written as compact JSON and refused above NSEXP_MAX_PIN_KB.
Beside the pin the file stores who may delete it: an `owner` (None in capability mode) and its
delete code, salted and hashed. `load_pin` is the one reader of every version: a pin written
before the version was recorded (version 0) is brought to today's shape as it is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nsexp.analysis.methods import methods
from nsexp.analysis.readout import ExperimentReadout, Readout
from nsexp.analysis.settings import DEFAULT, Settings
from nsexp.errors import InputError, echo
from nsexp.report.json import SCHEMA_VERSION, experiment_dict, experiment_from_dict
from nsexp.store.storage import (
    MANIFEST,
    PIN_ENV,
    PIN_ID,
    PINS_DIR,
    TEMP_PREFIX,
    WORKSPACES_DIR,
    access_record,
    check_room,
    code_matches,
    max_pin_bytes,
    mb,
    store_lock,
    write_error,
)

__all__ = ["PINS_DIR", "Pin", "delete_pin", "list_pins", "load_pin", "pin_readout", "pins_dir"]


@dataclass(frozen=True)
class Pin:
    """A frozen readout of one experiment: its figures, settings, data version and time."""

    id: str
    experiment: str
    variant: str | None
    created_at: str
    settings: dict[str, Any]
    fingerprint: str
    payload: dict[str, Any]
    methods: list[str]
    schema_version: int

    @property
    def analysis_settings(self) -> Settings:
        """The Settings that produced the pinned figures."""
        return Settings.from_dict(self.settings)

    def readout(self) -> ExperimentReadout:
        """The pinned experiment as the readout model the live page renders."""
        return experiment_from_dict(self.payload, self.analysis_settings)


def pins_dir(workspace_dir: Path) -> Path:
    """Where the pins of one data directory (a workspace or the data root) live."""
    return Path(workspace_dir) / PINS_DIR


def pin_readout(
    workspace_dir: Path,
    readout: Readout,
    experiment_id: str,
    variant: str | None,
    *,
    now: dt.datetime | None = None,
    delete_code: dict[str, str] | None = None,
    owner: str | None = None,
) -> Pin:
    """Freeze one experiment's readout (variant: the treatment on view) as a pin file.

    `delete_code` is the record storage.new_delete_code made (its code shown to the creator);
    without one, only the workspace's code or the operator deletes the pin."""
    if experiment_id not in readout.experiments:
        known = ", ".join(sorted(readout.experiments)) or "none"
        raise InputError(
            f"no experiment {experiment_id!r} in the readout", fix=f"use one of: {known}"
        )
    exp = readout.experiments[experiment_id]
    treatments = [t.variant for t in exp.treatments]
    if variant is not None and variant not in treatments:
        raise InputError(
            f"experiment {experiment_id} has no treatment variant {variant!r}",
            fix=f"use one of: {', '.join(treatments)}",
        )
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    body: dict[str, Any] = {
        "experiment": experiment_id,
        "variant": variant,
        "created_at": stamp.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "settings": _frozen_settings(readout, exp),
        "fingerprint": readout.fingerprint,
        "payload": experiment_dict(exp),
        "methods": methods(readout.settings),
        "schema_version": SCHEMA_VERSION,
    }
    text = json.dumps(body, sort_keys=True, allow_nan=False)
    pin = Pin(id=hashlib.sha256(text.encode()).hexdigest()[:12], **body)
    folder = pins_dir(workspace_dir)
    stored = asdict(pin) | {"owner": owner, "delete_code": delete_code}
    data = json.dumps(stored, separators=(",", ":"), allow_nan=False).encode()
    limit = max_pin_bytes()
    if len(data) > limit:
        raise InputError(
            f"this readout is {mb(len(data))} as a pin, over the limit of {mb(limit)} per pin "
            f"({PIN_ENV})",
            fix="share the live readout's link instead, or pin a catalog with fewer metrics",
        )
    root = _data_root(Path(workspace_dir))
    in_workspace = root != Path(workspace_dir)
    with store_lock(root):  # the quota check and the write as one step for every process
        if in_workspace and not (Path(workspace_dir) / MANIFEST).is_file():
            raise InputError("the workspace was deleted meanwhile", fix="upload the data again")
        check_room(root, len(data), Path(workspace_dir) if in_workspace else folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(folder / f"{pin.id}.json", data)
        except OSError as exc:
            raise write_error(exc, "the pin") from None
    return pin


def delete_pin(
    workspace_dir: Path, pin_id: str, *, code: str | None = None, operator: bool = False
) -> int:
    """Delete one pin and return the bytes freed. A visitor needs the pin's own delete code or
    its workspace's; the operator (the CLI on the server) needs none, even for a corrupt pin."""
    path = pins_dir(workspace_dir) / f"{pin_id}.json"
    if not (operator and isinstance(pin_id, str) and PIN_ID.fullmatch(pin_id) and path.is_file()):
        load_pin(workspace_dir, pin_id)  # refuses a malformed id, an unknown pin, a corrupt file
    if not operator:
        records = [access_record(path)[1], access_record(Path(workspace_dir) / MANIFEST)[1]]
        if all(r is None for r in records):
            raise InputError(
                f"pin {pin_id} was saved before delete codes: only whoever runs nsexp can "
                "delete it",
                fix="ask them to run `nsexp workspaces delete --pin` on the server",
            )
        if not any(code_matches(r, code or "") for r in records):
            raise InputError(
                f"that is not the delete code of pin {pin_id} or of its workspace",
                fix="type the code shown once when it was pinned (or when its workspace was "
                "saved); without it, ask whoever runs nsexp",
            )
    with store_lock(_data_root(Path(workspace_dir))):
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise write_error(exc, f"the deletion of pin {pin_id}") from None
    return size


def _frozen_settings(readout: Readout, exp: ExperimentReadout) -> dict[str, Any]:
    """The settings a pin records; with --sequential, the planned sample its boundary was
    tuned to for this experiment (planned_units, --sequential-n or the default), so a later
    look is read against the same boundary."""
    settings = readout.settings.to_dict()
    if readout.settings.sequential:
        planned = {m.sequential_n for t in exp.treatments for m in t.metrics} - {None}
        if len(planned) == 1:
            settings["sequential_n"] = int(planned.pop() or 0)
    return settings


def _data_root(workspace_dir: Path) -> Path:
    """The data root a workspace directory (or the data root itself) belongs to."""
    parent = workspace_dir.parent
    return parent.parent if parent.name == WORKSPACES_DIR else workspace_dir


def load_pin(workspace_dir: Path, pin_id: str | None) -> Pin:
    """Read one pin by id; InputError for a malformed id, an unknown pin or a corrupt file."""
    fix = "open the live readout and pin it again, or pick a pin from the list"
    if not isinstance(pin_id, str) or not PIN_ID.fullmatch(pin_id):
        raise InputError(f"pin {echo(pin_id)} is not a pin id (12 hex digits)", fix=fix)
    folder = pins_dir(workspace_dir).resolve()
    path = (folder / f"{pin_id}.json").resolve()
    if path.parent != folder or not path.is_file():
        raise InputError(f"no pinned readout {pin_id} here", fix=fix)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        version = raw.get("schema_version", 0)
        if version in UPGRADES:
            raw = UPGRADES[version](raw)
        elif version != SCHEMA_VERSION:
            raise InputError(
                f"pinned readout {pin_id} has schema version {version!r}, which this nsexp "
                f"does not know (it reads up to {SCHEMA_VERSION})",
                file=path.name,
                fix="open it with the nsexp that pinned it, or pin the live readout again",
            )
        pin = Pin(
            id=str(raw["id"]),
            experiment=str(raw["experiment"]),
            variant=None if raw["variant"] is None else str(raw["variant"]),
            created_at=str(raw["created_at"]),
            settings=dict(raw["settings"]),
            fingerprint=str(raw["fingerprint"]),
            payload=dict(raw["payload"]),
            methods=[str(m) for m in raw["methods"]],
            schema_version=SCHEMA_VERSION,
        )
    except InputError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(
            f"pinned readout {pin_id} cannot be read", file=path.name, fix=fix
        ) from exc
    if pin.id != pin_id:
        raise InputError(f"pinned readout {pin_id} holds pin {pin.id}", file=path.name, fix=fix)
    return pin


def _from_version_0(raw: dict[str, Any]) -> dict[str, Any]:
    """A pin written before `schema_version` in today's shape: settings added since take their
    defaults; each metric gets the engine of the pin's settings (the JSON carries it per metric
    since), the Bayesian prior of the time where it records none, and, where it lacks them, the
    better/worse the readout decides from significance and the effect's sign in the metric's
    good direction."""
    settings = DEFAULT.to_dict() | dict(raw["settings"])
    engine = settings["engine"]
    payload = dict(raw["payload"])
    payload["comparisons"] = [
        c | {"metrics": [_metric_from_version_0(m, engine) for m in c["metrics"]]}
        for c in payload["comparisons"]
    ]
    return raw | {"settings": settings, "payload": payload}


def _metric_from_version_0(metric: dict[str, Any], engine: str) -> dict[str, Any]:
    out = {"engine": engine} | _VERSION_0_PRIOR | metric
    significant, effect = metric.get("significant"), metric.get("abs_effect")
    if "better" not in metric and significant is not None and effect is not None:
        good = -effect if metric.get("direction") == "decrease" else effect
        out |= {"better": significant and good > 0, "worse": significant and good < 0}
    return out


# The Bayesian engine's prior before each result recorded its own: Normal(0, 0.3²) on the lift.
_VERSION_0_PRIOR = {
    "prior_mean": 0.0,
    "prior_sd": 0.3,
    "prior_source": "default",
    "prior_comparisons": None,
}
# How a pin of each older schema version is brought to today's shape, as it is read.
UPGRADES = {0: _from_version_0}


def list_pins(workspace_dir: Path) -> list[Pin]:
    """Every readable pin of a data directory, newest first (unreadable files are skipped)."""
    folder = pins_dir(workspace_dir)
    if not folder.is_dir():
        return []
    pins = []
    for path in folder.glob("*.json"):
        try:
            pins.append(load_pin(workspace_dir, path.stem))
        except InputError:
            continue
    return sorted(pins, key=lambda p: (p.created_at, p.id), reverse=True)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and os.replace, so a reader never sees half a pin."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
