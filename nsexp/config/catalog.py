"""The metric catalog (metrics.toml): which metrics exist, their role, type and direction."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from nsexp.config.toml import read_toml
from nsexp.errors import InputError

Role = Literal["north_star", "leading", "vanity", "guardrail"]
MetricType = Literal["proportion", "mean", "ratio"]
Direction = Literal["increase", "decrease"]
InputKind = Literal["breadth", "depth", "frequency", "efficiency"]

ROLES: tuple[Role, ...] = ("north_star", "leading", "vanity", "guardrail")
TYPES: tuple[MetricType, ...] = ("proportion", "mean", "ratio")
DIRECTIONS: tuple[Direction, ...] = ("increase", "decrease")
INPUTS: tuple[InputKind, ...] = ("breadth", "depth", "frequency", "efficiency")
ROLE_LABELS: dict[str, str] = {
    "north_star": "North Star",
    "leading": "Leading indicator",
    "vanity": "Vanity",
    "guardrail": "Guardrail",
}
DEFAULT_THRESHOLD = 0.01
# The most metrics one catalog may declare (docs/data.md, "Limits"), checked before any metric is
# parsed or any file read: a North Star tree of a thousand metrics is far past any real one, and
# every readout, chart and export grows with the number of metrics.
MAX_METRICS = 1_000
COLUMN_KEYS = ("experiment", "variant", "unit_id", "date")
SUMMARY_COLUMN_KEYS = ("metric",)  # mappable too, but only summary files have these columns
DATES = ("daily", "cumulative")  # [columns] dates: dated summary rows are per day or running
_METRIC_KEYS = {
    "label",
    "role",
    "type",
    "column",
    "numerator",
    "denominator",
    "direction",
    "practical_threshold",
    "description",
    "covariate",
    "cap_quantile",
    "non_inferiority_margin",
    "parent",
    "input",
    "owner",
    "target",
    "target_from",
    "target_by",
}
TARGET_KEYS = ("target", "target_from", "target_by")


@dataclass(frozen=True)
class Metric:
    """One metric of the catalog; ratio metrics read `numerator` / `denominator` columns."""

    id: str
    label: str
    role: Role
    type: MetricType
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    direction: Direction = "increase"
    practical_threshold: float = DEFAULT_THRESHOLD
    threshold_set: bool = False  # False: practical_threshold is the default nobody chose
    description: str = ""
    covariate: str | None = None
    cap_quantile: float | None = None
    non_inferiority_margin: float | None = None
    parent: str | None = None
    input: InputKind | None = None
    owner: str = ""
    # the relative improvement the team aims to deliver through experiments between two dates
    # (inclusive), in the metric's good direction: the targets on the tree (nsexp.report.targets)
    target: float | None = None
    target_from: dt.date | None = None
    target_by: dt.date | None = None

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better."""
        return 1 if self.direction == "increase" else -1

    @property
    def columns(self) -> tuple[str, ...]:
        """The unit-level columns this metric reads."""
        if self.type == "ratio":
            return (self.numerator or "", self.denominator or "")
        return (self.column or self.id,)


@dataclass(frozen=True)
class Catalog:
    """All metrics, in file order, plus the user's column names for the fixed fields."""

    metrics: dict[str, Metric]
    columns: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    dates: str = "daily"

    @property
    def north_star(self) -> Metric:
        """The one North Star metric."""
        return next(m for m in self.metrics.values() if m.role == "north_star")

    def column(self, name: str) -> str:
        """The data's column name for one of experiment, variant, unit_id, date."""
        return self.columns.get(name, name)

    def ordered(self) -> list[Metric]:
        """Metrics by role (North Star, leading, vanity, guardrail), then file order."""
        return sorted(self.metrics.values(), key=lambda m: ROLES.index(m.role))

    def edges(self) -> list[tuple[str, str]]:
        """The North Star tree's edges (child, parent), parents before their children."""
        depth = {m.id: len(self.ancestors(m.id)) for m in self.metrics.values() if m.parent}
        return [(c, self.metrics[c].parent or "") for c in sorted(depth, key=depth.__getitem__)]

    def ancestors(self, metric_id: str) -> list[str]:
        """The metric's ancestors, its parent first, up to the North Star (empty for metrics
        outside the tree: the North Star itself and metrics with no parent)."""
        out: list[str] = []
        parent = self.metrics[metric_id].parent
        while parent is not None:
            out.append(parent)
            parent = self.metrics[parent].parent
        return out


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate metrics.toml; raise InputError naming the key and the fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            "metric catalog not found",
            file=path,
            fix="create metrics.toml beside the data or pass --metrics FILE",
        )
    return parse_catalog(read_toml(path), source=str(path))


def parse_catalog(raw: dict, source: str = "metrics.toml") -> Catalog:
    """Validate an already-parsed metrics.toml document."""
    tables = raw.get("metrics")
    if not isinstance(tables, dict) or not tables:
        raise InputError(
            "no [metrics.<id>] tables",
            file=source,
            fix="add one table per metric, e.g. [metrics.weekly_active_teams]",
        )
    if len(tables) > MAX_METRICS:
        raise InputError(
            f"declares {len(tables):,} metrics, more than the limit of {MAX_METRICS:,}",
            file=source,
            fix="keep the North Star, its leading indicators, vanity metrics and guardrails "
            "(a catalog this large is not a North Star tree); split the rest into another "
            "data directory",
        )
    metrics = {mid: _parse_metric(mid, spec, source) for mid, spec in tables.items()}
    stars = [m.id for m in metrics.values() if m.role == "north_star"]
    if len(stars) != 1:
        found = ", ".join(stars) if stars else "none"
        raise InputError(
            f'exactly one metric needs role = "north_star" (found {found})',
            file=source,
            fix="mark the one metric that measures customer value as the North Star",
        )
    metrics = {
        mid: m if "parent" in tables[mid] or m.role != "leading" else replace(m, parent=stars[0])
        for mid, m in metrics.items()
    }
    _check_tree(metrics, stars[0], source)
    columns = raw.get("columns", {})
    columns = dict(columns) if isinstance(columns, dict) else columns
    dates = columns.pop("dates", "daily") if isinstance(columns, dict) else "daily"
    if dates not in DATES:
        raise InputError(
            f"[columns] dates = {dates!r} is not known",
            file=source,
            fix='use "daily" (rows per day) or "cumulative" (running totals per date)',
        )
    return Catalog(
        metrics=metrics, columns=_parse_columns(columns, source), path=source, dates=dates
    )


def _parse_metric(mid: str, spec: object, source: str) -> Metric:
    where = f"[metrics.{mid}]"
    if not isinstance(spec, dict):
        raise InputError(f"{where} must be a table", file=source)
    unknown = sorted(set(spec) - _METRIC_KEYS)
    if unknown:
        raise InputError(
            f"{where} has unknown key '{unknown[0]}'",
            file=source,
            fix=f"use only {', '.join(sorted(_METRIC_KEYS))}",
        )
    role = spec.get("role")
    if role not in ROLES:
        raise InputError(
            f"{where} role = {role!r} is not a known role",
            file=source,
            fix=f"use one of {', '.join(ROLES)}",
        )
    mtype = spec.get("type")
    if mtype not in TYPES:
        raise InputError(
            f"{where} type = {mtype!r} is not a known type",
            file=source,
            fix=f"use one of {', '.join(TYPES)}",
        )
    direction = spec.get("direction", "increase")
    if direction not in DIRECTIONS:
        raise InputError(
            f"{where} direction = {direction!r} is not a known direction",
            file=source,
            fix="use increase or decrease",
        )
    threshold = spec.get("practical_threshold", DEFAULT_THRESHOLD)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or not 0 < threshold < 1
    ):
        raise InputError(
            f"{where} practical_threshold = {threshold!r} is not a relative effect",
            file=source,
            fix="give a number between 0 and 1, e.g. 0.01 for 1%",
        )
    _check_extras(spec, where, mtype, role, source)
    _check_tree_keys(spec, where, source)
    target, target_from, target_by = _target(spec, where, source)
    for key in ("label", "column", "numerator", "denominator", "description", "covariate"):
        if key in spec and not isinstance(spec[key], str):
            raise InputError(f"{where} {key} must be a string", file=source)
    _check_columns(spec, mid, where, source)
    if mtype == "ratio":
        if not spec.get("numerator") or not spec.get("denominator"):
            raise InputError(
                f"{where} is a ratio metric without numerator and denominator",
                file=source,
                fix='add numerator = "<column>" and denominator = "<column>"',
            )
    elif "numerator" in spec or "denominator" in spec:
        raise InputError(
            f"{where} has numerator/denominator but type = {mtype!r}",
            file=source,
            fix='set type = "ratio" or use column = "<column>"',
        )
    return Metric(
        id=mid,
        label=spec.get("label", mid),
        role=role,
        type=mtype,
        column=spec.get("column", mid) if mtype != "ratio" else None,
        numerator=spec.get("numerator"),
        denominator=spec.get("denominator"),
        direction=direction,
        practical_threshold=float(threshold),
        threshold_set="practical_threshold" in spec,
        description=spec.get("description", ""),
        covariate=spec.get("covariate"),
        cap_quantile=spec.get("cap_quantile"),
        non_inferiority_margin=spec.get("non_inferiority_margin"),
        parent=spec.get("parent"),
        input=spec.get("input"),
        owner=spec.get("owner", ""),
        target=target,
        target_from=target_from,
        target_by=target_by,
    )


def _target(
    spec: dict, where: str, source: str
) -> tuple[float | None, dt.date | None, dt.date | None]:
    """`target`, `target_from` and `target_by`: all three or none, a relative improvement above
    zero and two ISO dates in order (a target without its dates cannot say which experiments
    count toward it)."""
    given = [k for k in TARGET_KEYS if k in spec]
    if not given:
        return None, None, None
    if len(given) < len(TARGET_KEYS):
        missing = next(k for k in TARGET_KEYS if k not in spec)
        raise InputError(
            f"{where} sets {', '.join(given)} but not {missing}",
            file=source,
            fix="give a target all three keys, e.g. target = 0.05, target_from = 2026-07-01, "
            "target_by = 2026-12-31 (or remove them)",
        )
    target = spec["target"]
    if (
        isinstance(target, bool)
        or not isinstance(target, int | float)
        or not math.isfinite(target)
        or not 0 < target < 10
    ):
        raise InputError(
            f"{where} target = {target!r} is not a relative improvement",
            file=source,
            fix="give the improvement to deliver as a fraction above 0, e.g. 0.05 for 5% "
            '(in the metric\'s direction: lower is better for direction = "decrease")',
        )
    start, end = (_date(spec[k], f"{where} {k}", source) for k in ("target_from", "target_by"))
    if end < start:
        raise InputError(
            f"{where} target_by = {end.isoformat()} is before target_from = {start.isoformat()}",
            file=source,
            fix="give target_by on or after target_from (both dates count)",
        )
    return float(target), start, end


def _date(value: object, where: str, source: str) -> dt.date:
    """A TOML date or ISO date text as a date; anything else is refused, naming the key."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(
        f"{where} = {value!r} is not a date",
        file=source,
        fix="write an ISO date, e.g. 2026-12-31",
    )


def _check_columns(spec: dict, mid: str, where: str, source: str) -> None:
    """`column` and `covariate` name a column (an empty name is refused, not ignored), and the
    covariate is not the metric's own column (adjusting a metric by itself leaves nothing)."""
    for key in ("column", "covariate"):
        if key in spec and not spec[key].strip():
            raise InputError(
                f'{where} {key} = "" names no column',
                file=source,
                fix=f"give the data's column name, or leave {key} out"
                + (" to read the column named like the metric" if key == "column" else ""),
            )
    if "covariate" in spec and spec["covariate"] == spec.get("column", mid):
        raise InputError(
            f"{where} covariate = {spec['covariate']!r} is the metric's own column",
            file=source,
            fix="name the same metric measured before the experiment (e.g. a pre-period "
            "column), or remove covariate",
        )


def _check_tree_keys(spec: dict, where: str, source: str) -> None:
    """The tree keys' own values: parent and owner are strings, input a known kind."""
    for key in ("parent", "owner"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            raise InputError(
                f"{where} {key} must be a non-empty string",
                file=source,
                fix="give a metric id as parent, a team name as owner"
                if key == "parent"
                else "give the name of the team that owns the metric",
            )
    if "input" in spec and spec["input"] not in INPUTS:
        raise InputError(
            f"{where} input = {spec['input']!r} is not a known kind of input",
            file=source,
            fix=f"use one of {', '.join(INPUTS)} (or leave input out)",
        )


def _check_tree(metrics: dict[str, Metric], star: str, source: str) -> None:
    """Every parent exists, no metric is its own ancestor, and the one root is the North Star."""
    if metrics[star].parent is not None:
        raise InputError(
            f"[metrics.{star}] is the North Star but has parent = {metrics[star].parent!r}",
            file=source,
            fix="the North Star is the root of the tree: remove its parent",
        )
    for m in metrics.values():
        if m.parent is not None and m.parent not in metrics:
            raise InputError(
                f"[metrics.{m.id}] parent = {m.parent!r} is not a metric of the catalog",
                file=source,
                fix=f"name one of {', '.join(metrics)} as the parent, or add [metrics.{m.parent}]",
            )
    for m in metrics.values():
        seen = [m.id]
        parent = m.parent
        while parent is not None:
            if parent in seen:
                loop = " -> ".join([*seen[seen.index(parent) :], parent])
                raise InputError(
                    f"[metrics.{m.id}] parents form a cycle ({loop})",
                    file=source,
                    fix="every chain of parents must end at the North Star",
                )
            seen.append(parent)
            if metrics[parent].parent is None and parent != star:
                raise InputError(
                    f"[metrics.{m.id}] leads up to {parent!r}, which has no parent and is not "
                    f"the North Star: the tree would have two roots",
                    file=source,
                    fix=f'give [metrics.{parent}] a parent (e.g. parent = "{star}") or point '
                    f"[metrics.{m.id}] elsewhere",
                )
            parent = metrics[parent].parent


def _check_extras(spec: dict, where: str, mtype: str, role: str, source: str) -> None:
    """Validate the optional covariate, cap_quantile and non_inferiority_margin keys."""
    if "covariate" in spec and mtype == "ratio":
        raise InputError(
            f"{where} covariate is set on a ratio metric",
            file=source,
            fix="CUPED applies to mean and proportion metrics only; remove the covariate",
        )
    cap = spec.get("cap_quantile")
    if cap is not None:
        if mtype != "mean":
            raise InputError(
                f"{where} cap_quantile is set on a {mtype} metric",
                file=source,
                fix="capping applies to mean metrics only; remove cap_quantile",
            )
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not 0.5 < cap < 1:
            raise InputError(
                f"{where} cap_quantile = {cap!r} is not a quantile above the median",
                file=source,
                fix="give a number between 0.5 and 1, e.g. 0.999",
            )
    margin = spec.get("non_inferiority_margin")
    if margin is not None:
        if role != "guardrail":
            raise InputError(
                f"{where} non_inferiority_margin is set on a {role} metric",
                file=source,
                fix="give non-inferiority margins to guardrail metrics only",
            )
        if (
            isinstance(margin, bool)
            or not isinstance(margin, int | float)
            or not math.isfinite(margin)
            or not 0 < margin < 1
        ):
            raise InputError(
                f"{where} non_inferiority_margin = {margin!r} is not a relative effect",
                file=source,
                fix="give a number between 0 and 1, e.g. 0.05 for 5% worse at most",
            )


def _parse_columns(spec: object, source: str) -> dict[str, str]:
    if not isinstance(spec, dict):
        raise InputError("[columns] must be a table", file=source)
    keys = (*COLUMN_KEYS, *SUMMARY_COLUMN_KEYS)
    unknown = sorted(set(spec) - set(keys))
    if unknown:
        raise InputError(
            f"[columns] has unknown key '{unknown[0]}'",
            file=source,
            fix=f"map only {', '.join(keys)} to your column names (and set dates)",
        )
    for key, value in spec.items():
        if not isinstance(value, str) or not value:
            raise InputError(f"[columns] {key} must be a column name", file=source)
    return dict(spec)
