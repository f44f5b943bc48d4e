"""A set-up chosen on the Data page, written as the metrics.toml and experiments.toml the CLI
reads too: the same files, whichever way the data was described.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nsexp.config.catalog import DIRECTIONS, ROLES, TYPES, parse_catalog
from nsexp.config.experiments import parse_experiments
from nsexp.config.toml import parse_toml, toml_key, toml_table
from nsexp.errors import InputError

SKIP = "skip"
_HEADER = "# Written by the nsexp Data page; edit freely, the CLI reads it the same way.\n"


@dataclass(frozen=True)
class MetricChoice:
    """One data column read as a metric (or left out with role "skip")."""

    column: str
    role: str
    type: str
    direction: str = "increase"
    label: str = ""
    practical_threshold: float | None = None  # relative; None: the catalog's default

    @property
    def id(self) -> str:
        """The metric id: the column name in lower case, other characters as underscores."""
        return re.sub(r"[^a-z0-9]+", "_", self.column.lower()).strip("_") or "metric"


@dataclass(frozen=True)
class Setup:
    """Which column holds the arms, which arm is the control, the optional unit id and date
    columns, the experiments the file holds, and a role and type for each metric column."""

    experiments: tuple[str, ...]
    variant: str
    control: str
    metrics: tuple[MetricChoice, ...]
    unit_id: str | None = None
    date: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    split: dict[str, float] = field(default_factory=dict)  # planned shares; empty: equal

    def chosen(self) -> list[MetricChoice]:
        """The metric columns that are read (not skipped)."""
        return [m for m in self.metrics if m.role != SKIP]


def missing_step(setup: Setup) -> str | None:
    """What the set-up still waits for before it can be saved (a hint, not an error), or None:
    today only the North Star, which no column has until someone chooses it."""
    if not any(m.role == "north_star" for m in setup.chosen()):
        return (
            "Give one column the role North Star: the value customers get, which every "
            "verdict is about."
        )
    return None


def type_problem(choice: MetricChoice, zero_one: bool, largest: float | None) -> str | None:
    """Why a metric column cannot be read as the type chosen for it, in the set-up's words
    (None when it can): a proportion counts units with a 1, so its values are 0 and 1."""
    if choice.role == SKIP or choice.type != "proportion" or zero_one:
        return None
    top = f" (up to {largest:g})" if largest is not None else ""
    return (
        f"{choice.column} has values other than 0 and 1{top}, so it is not a proportion: "
        "choose mean as its type."
    )


def check_setup(setup: Setup) -> None:
    """Refuse a set-up no readout can use, with the Data page's words for the fix."""
    chosen = setup.chosen()
    stars = [m.column for m in chosen if m.role == "north_star"]
    if len(stars) != 1:
        found = ", ".join(stars) if stars else "none"
        raise InputError(
            f"exactly one metric must be the North Star (found {found})",
            file="metrics.toml",
            fix="give the one column that measures the value customers get the role North Star",
        )
    for m in chosen:
        _check_choice(m, setup)
    ids = [m.id for m in chosen]
    clash = next((i for i in ids if ids.count(i) > 1), None)
    if clash is not None:
        raise InputError(
            f"two metric columns read as the same id {clash!r}",
            file="metrics.toml",
            fix="skip one of them, or rename a column in the export",
        )


def _check_choice(m: MetricChoice, setup: Setup) -> None:
    if m.role not in ROLES or m.type not in TYPES or m.direction not in DIRECTIONS:
        raise InputError(
            f"metric column {m.column!r}: role {m.role!r}, type {m.type!r}, direction "
            f"{m.direction!r}",
            file="metrics.toml",
            fix=f"roles: {', '.join(ROLES)}; types: proportion, mean; directions: increase, "
            "decrease",
        )
    if m.practical_threshold is not None and not 0 < m.practical_threshold < 1:
        raise InputError(
            f"metric column {m.column!r}: a practical threshold of "
            f"{m.practical_threshold:.2%} is not a relative effect",
            file="metrics.toml",
            fix="give a lift between 0% and 100%, e.g. 1%",
        )
    if m.type == "ratio":
        raise InputError(
            f"metric column {m.column!r} cannot be a ratio on its own",
            file="metrics.toml",
            fix="ratio metrics need a numerator and a denominator column: write them in "
            "metrics.toml by hand",
        )
    if m.column in (setup.variant, setup.unit_id, setup.date):
        raise InputError(
            f"column {m.column!r} is chosen both as a metric and as the variant, unit id or date",
            file="metrics.toml",
            fix="skip it as a metric",
        )


def catalog_toml(setup: Setup) -> str:
    """metrics.toml for the set-up: the [columns] mapping and one table per chosen metric."""
    check_setup(setup)
    mapping: dict[str, str | None] = {
        "variant": setup.variant if setup.variant != "variant" else None,
        "unit_id": setup.unit_id if setup.unit_id not in (None, "unit_id") else None,
        "date": setup.date if setup.date not in (None, "date") else None,
    }
    tables = []
    if any(mapping.values()):
        tables.append(toml_table("columns", mapping))
    order: dict[str, int] = {role: i for i, role in enumerate(ROLES)}
    for m in sorted(setup.chosen(), key=lambda m: order[m.role]):
        tables.append(
            toml_table(
                f"metrics.{toml_key(m.id)}",
                {
                    "label": m.label or m.column,
                    "role": m.role,
                    "type": m.type,
                    "column": m.column,
                    "direction": m.direction,
                    "practical_threshold": m.practical_threshold,
                },
            )
        )
    text = _HEADER + "\n" + "\n".join(tables)
    parse_catalog(parse_toml(text, "metrics.toml"))  # the CLI's own checks, once more
    return text


def experiments_toml(setup: Setup) -> str:
    """experiments.toml for the set-up: the control (and any planned split) of every
    experiment the file holds."""
    tables = [
        toml_table(
            f"experiments.{toml_key(eid)}",
            {
                "name": setup.names.get(eid) or None,
                "control": setup.control,
                "expected_split": setup.split or None,
            },
        )
        for eid in setup.experiments
    ]
    text = _HEADER + "\n" + "\n".join(tables)
    parse_experiments(parse_toml(text, "experiments.toml"))
    return text


def declare_splits(text: str, splits: Mapping[str, Mapping[str, float]]) -> str:
    """experiments.toml `text` with the planned split of some experiments declared (the other
    keys kept; comments are not): what the Data page saves when a person says a split was
    unequal by design. Shares are relative weights (10/80/10 and 0.1/0.8/0.1 agree)."""
    doc = parse_toml(text, "experiments.toml") if text.strip() else {}
    parse_experiments(doc)  # a malformed file is refused as the CLI would, not rewritten
    tables = {**doc.get("experiments", {})}
    for eid, split in splits.items():
        tables[eid] = {**tables.get(eid, {}), "expected_split": dict(split)}
    written = (
        _HEADER
        + "\n"
        + "\n".join(
            toml_table(f"experiments.{toml_key(eid)}", spec) for eid, spec in tables.items()
        )
    )
    parse_experiments(parse_toml(written, "experiments.toml"))  # the CLI's checks, once more
    return written
