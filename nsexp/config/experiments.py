"""Experiment metadata (experiments.toml): names, owners, the control arm and the planned split."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nsexp.errors import InputError

_KEYS = {"name", "control", "expected_split", "owner", "hypothesis", "start", "planned_units"}


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
    planned_units: int | None = None  # both arms of a comparison: tunes --sequential

    @property
    def title(self) -> str:
        """The human name, falling back to the id."""
        return self.name or self.id


def load_experiments(path: str | Path) -> dict[str, ExperimentInfo]:
    """Read experiments.toml if it exists (it is optional); validate every key."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML ({exc})", file=path, fix="fix the TOML syntax") from exc
    return parse_experiments(raw, source=str(path))


def parse_experiments(raw: dict, source: str = "experiments.toml") -> dict[str, ExperimentInfo]:
    """Validate an already-parsed experiments.toml document."""
    tables = raw.get("experiments", {})
    if not isinstance(tables, dict):
        raise InputError("[experiments] must hold [experiments.<id>] tables", file=source)
    return {eid: _parse_one(eid, spec, source) for eid, spec in tables.items()}


def _parse_one(eid: str, spec: object, source: str) -> ExperimentInfo:
    where = f"[experiments.{eid}]"
    if not isinstance(spec, dict):
        raise InputError(f"{where} must be a table", file=source)
    unknown = sorted(set(spec) - _KEYS)
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
    start = spec.get("start", "")
    return ExperimentInfo(
        id=eid,
        name=str(spec.get("name", "")),
        control=str(spec["control"]) if "control" in spec else None,
        expected_split={str(k): float(v) for k, v in split.items()},
        owner=str(spec.get("owner", "")),
        hypothesis=str(spec.get("hypothesis", "")),
        start=start.isoformat() if hasattr(start, "isoformat") else str(start),
        planned_units=planned,
    )
