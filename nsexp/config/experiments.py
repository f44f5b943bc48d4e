"""Experiment metadata (experiments.toml): names, owners, the control arm and the planned split,
and how long an experiment may run before a decision is due (`[decision]` defaults, each
experiment's overrides: nsexp.analysis.decision reads them)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nsexp.config.toml import read_toml, toml_key
from nsexp.errors import InputError

_KEYS = {
    "name",
    "control",
    "expected_split",
    "owner",
    "hypothesis",
    "start",
    "status",
    "planned_units",
    "end",
    "max_days",
    "ship_on",
}
ShipOn = Literal["north_star", "predicted"]
SHIP_ON: tuple[ShipOn, ...] = ("north_star", "predicted")
DEFAULT_MAX_DAYS = 28
DEFAULT_SHIP_ON: ShipOn = "north_star"
Status = Literal["running", "concluded"]
STATUSES: tuple[Status, ...] = ("running", "concluded")
# Variant names read as the control when experiments.toml names none, in order of precedence
# (case, spaces, "-" and "_" ignored). Nothing else is ever guessed: with no match, the readout
# asks which arm is the control.
CONTROL_NAMES = (
    "control",
    "ctrl",
    "baseline",
    "base",
    "default",
    "original",
    "holdout",
    "champion",
    "statusquo",
    "a",
    "v0",
)


def usual_control(variants: tuple[str, ...]) -> str | None:
    """The variant with the first usual control name (CONTROL_NAMES, in that order of
    precedence: 'control' beats 'a'), or None when no variant has one or two share it."""
    names = {v: "".join(v.lower().replace("-", "").replace("_", "").split()) for v in variants}
    for name in CONTROL_NAMES:
        found = [v for v, n in names.items() if n == name]
        if found:
            return found[0] if len(found) == 1 else None
    return None


@dataclass(frozen=True)
class ExperimentInfo:
    """What experiments.toml says about one experiment; every field optional."""

    id: str
    name: str = ""
    control: str | None = None
    expected_split: dict[str, float] = field(default_factory=dict)
    owner: str = ""
    hypothesis: str = ""
    start: str = ""
    status: Status | None = None
    planned_units: int | None = None  # both arms of a comparison: tunes --sequential
    end: str = ""  # ISO date the experiment ended ("" while it runs, or not said)
    max_days: int | None = None  # overrides [decision] max_days
    ship_on: ShipOn | None = None  # overrides [decision] ship_on

    @property
    def title(self) -> str:
        """The human name, falling back to the id."""
        return self.name or self.id


@dataclass(frozen=True)
class DecisionDefaults:
    """experiments.toml's `[decision]` table: how many days an experiment may run before a
    decision is due, and whether a leading_win out of time ships on the predicted North Star."""

    max_days: int = DEFAULT_MAX_DAYS
    ship_on: ShipOn = DEFAULT_SHIP_ON


def load_plan(path: str | Path) -> tuple[dict[str, ExperimentInfo], DecisionDefaults]:
    """experiments.toml's experiments and its `[decision]` table (none and the built-in
    defaults without the file), from one parse: a portfolio's file is thousands of lines."""
    path = Path(path)
    if not path.is_file():
        return {}, DecisionDefaults()
    raw = read_toml(path)
    return parse_experiments(raw, str(path)), parse_decision_defaults(raw, str(path))


def parse_decision_defaults(raw: dict, source: str = "experiments.toml") -> DecisionDefaults:
    """Validate the `[decision]` table of an already-parsed experiments.toml."""
    table = raw.get("decision", {})
    if not isinstance(table, dict):
        raise InputError("[decision] must be a table", file=source)
    unknown = sorted(set(table) - {"max_days", "ship_on"})
    if unknown:
        raise InputError(
            f"[decision] has unknown key '{unknown[0]}'", file=source, fix="use max_days, ship_on"
        )
    return DecisionDefaults(
        max_days=_max_days(table.get("max_days"), "[decision]", source) or DEFAULT_MAX_DAYS,
        ship_on=_ship_on(table.get("ship_on"), "[decision]", source) or DEFAULT_SHIP_ON,
    )


def _max_days(value: object, where: str, source: str) -> int | None:
    """`max_days` as a positive whole number of days (None when left out)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"{where} max_days = {value!r} is not a number of days",
            file=source,
            fix="give a whole number of days, e.g. max_days = 28",
        )
    return value


def _ship_on(value: object, where: str, source: str) -> ShipOn | None:
    """`ship_on` as one of SHIP_ON (None when left out)."""
    if value is None:
        return None
    if value not in SHIP_ON:
        raise InputError(
            f"{where} ship_on = {value!r} is not known",
            file=source,
            fix='use "north_star" (ship on the North Star\'s own test) or "predicted" (a '
            "leading win out of time ships when the predicted North Star clears zero)",
        )
    return value


def load_experiments(path: str | Path) -> dict[str, ExperimentInfo]:
    """Read experiments.toml if it exists (it is optional); validate every key."""
    path = Path(path)
    if not path.is_file():
        return {}
    return parse_experiments(read_toml(path), source=str(path))


def parse_experiments(raw: dict, source: str = "experiments.toml") -> dict[str, ExperimentInfo]:
    """Validate an already-parsed experiments.toml document."""
    tables = raw.get("experiments", {})
    if not isinstance(tables, dict):
        raise InputError("[experiments] must hold [experiments.<id>] tables", file=source)
    return {eid: _parse_one(eid, spec, source) for eid, spec in tables.items()}


def _dotted_id(eid: str, spec: dict) -> str:
    """The id a dotted table key meant: [experiments.a.03.20] reads as a > 03 > 20."""
    parts = [eid]
    while True:
        tables = [k for k, v in spec.items() if isinstance(v, dict) and k not in _KEYS]
        if len(tables) != 1:
            return ".".join(parts)
        parts.append(tables[0])
        spec = spec[tables[0]]


def _parse_one(eid: str, spec: object, source: str) -> ExperimentInfo:
    where = f"[experiments.{eid}]"
    if not isinstance(spec, dict):
        raise InputError(f"{where} must be a table", file=source)
    unknown = sorted(set(spec) - _KEYS)
    if unknown and isinstance(spec[unknown[0]], dict):
        dotted = _dotted_id(eid, spec)
        raise InputError(
            f"{where} holds a table '{unknown[0]}': TOML read the dots of the id {dotted!r} "
            "as nested tables",
            file=source,
            fix=f"quote the id: [experiments.{toml_key(dotted)}]",
        )
    if unknown:
        raise InputError(
            f"{where} has unknown key '{unknown[0]}'",
            file=source,
            fix=f"use only {', '.join(sorted(_KEYS))}",
        )
    split = spec.get("expected_split", {})
    if not isinstance(split, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        for v in split.values()
    ):
        raise InputError(
            f"{where} expected_split must map each variant to a positive share",
            file=source,
            fix="e.g. expected_split = { control = 0.5, treatment = 0.5 }",
        )
    planned = spec.get("planned_units")
    if planned is not None and (
        isinstance(planned, bool) or not isinstance(planned, int) or planned < 2
    ):
        raise InputError(
            f"{where} planned_units = {planned!r} is not a number of units",
            file=source,
            fix="give the units a treatment and the control will have together at the planned "
            "end, a whole number, e.g. planned_units = 40000",
        )
    start = _start(spec.get("start", ""), where, source)
    end = _start(spec.get("end", ""), where, source, key="end")
    status = spec.get("status")
    if status is not None and status not in STATUSES:
        raise InputError(
            f"{where} status = {status!r} is not known",
            file=source,
            fix='use "running" or "concluded" (or leave it out: the dates decide)',
        )
    return ExperimentInfo(
        id=eid,
        name=str(spec.get("name", "")),
        control=str(spec["control"]) if "control" in spec else None,
        expected_split={str(k): float(v) for k, v in split.items()},
        owner=str(spec.get("owner", "")),
        hypothesis=str(spec.get("hypothesis", "")),
        start=start,
        status=status,
        planned_units=planned,
        end=end,
        max_days=_max_days(spec.get("max_days"), where, source),
        ship_on=_ship_on(spec.get("ship_on"), where, source),
    )


def _start(value: object, where: str, source: str, key: str = "start") -> str:
    """`start` (or `end`) as ISO text: a TOML date or date-time, or text that reads as one (""
    if left out); anything else is refused, not ignored."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and value:
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                parse(value)
                return value
            except ValueError:
                continue
    if value == "":
        return ""
    raise InputError(
        f"{where} {key} = {value!r} is not a date",
        file=source,
        fix=f"write the {key} as an ISO date, e.g. {key} = 2026-01-31",
    )
