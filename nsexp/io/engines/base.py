"""Run the SQL aggregation on any engine and turn its rows into what nsexp.io.units returns."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import polars as pl
from sqlglot import exp

from nsexp.config.catalog import COLUMN_KEYS, Catalog, Metric
from nsexp.config.source import SourceConfig, redact
from nsexp.errors import InputError
from nsexp.io.cross import Pair, cross_long, cross_pairs
from nsexp.io.engines.sql import (
    Backend,
    ColumnKind,
    Relation,
    aggregate_query,
    centred_wide,
    unit_checks_query,
    unit_counts_query,
)
from nsexp.io.files import kind_of
from nsexp.io.summary import read_summary
from nsexp.io.unit_ids import NO_CHECKS
from nsexp.io.units import (
    FileRead,
    check_proportions,
    check_rows,
    date_col,
    note_covariates,
    note_missing_values,
    record_unit_problems,
    to_long,
)

_POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "date": pl.Date(),
    "int": pl.Int64(),
    "float": pl.Float64(),
}


class SourceEngine(Protocol):
    """What an executor offers: its backend, a table's columns, and running one query."""

    backend: Backend

    def relation(self) -> tuple[exp.Expr, dict[str, str]]:
        """The FROM item and the source's columns with their engine type names."""
        ...

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query and return its rows."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def column_kind(type_name: str) -> ColumnKind:
    """Classify an engine's type name (DuckDB, PostgreSQL or Spark spelling)."""
    name = type_name.lower()
    if name in ("bool", "boolean"):
        return "boolean"
    if name.startswith(("timestamp", "datetime")):
        return "timestamp"
    if name == "date":
        return "date"
    if re.match(
        r"u?(tiny|small|big|huge)?int|float|double|real|decimal|numeric|long|short|byte", name
    ):
        return "numeric"
    if name.startswith(("varchar", "text", "string", "char", "bpchar", "name")):
        return "text"
    return "other"


def read_engine(engine: SourceEngine, config: SourceConfig, catalog: Catalog) -> FileRead:
    """Aggregate the configured table on its engine and validate it like a file."""
    where = config.file
    source, types = engine.relation()
    names = {k: config.columns.get(k, catalog.column(k)) for k in COLUMN_KEYS}
    ours = {v: k for k, v in names.items() if v in types}
    kinds: dict[str, ColumnKind] = {ours.get(c, c): column_kind(t) for c, t in types.items()}
    if "variant" not in kinds:
        raise InputError(
            f"{config.describe()} has no variant column",
            file=where,
            column=names["variant"],
            fix='map yours in source.toml: [columns] variant = "<your column>"',
        )
    columns = list(kinds)
    if kind_of(columns) == "summary":
        return _read_summary_table(engine, source, types, config, catalog)
    metrics = [m for m in catalog.metrics.values() if all(c in kinds for c in m.columns)]
    for metric in metrics:
        _check_metric_kinds(metric, kinds, config)
    default = (config.table or "").split(".")[-1] or (config.path.stem if config.path else "")
    relation = Relation(source, kinds, names, default_experiment=default)
    pairs = tuple(cross_pairs(catalog, metrics, list(kinds)))
    query, out = aggregate_query(relation, metrics, engine.backend, config.experiments, pairs)
    sql = query.sql(dialect=engine.backend.dialect)
    wide = centred_wide(_frame(_fetch(engine, sql, config), out), metrics, pairs)
    checks = _unit_checks(engine, relation, config) if "unit_id" in kinds else None
    name = config.table or (config.path.name if config.path else where)
    return finish(wide, checks, metrics, catalog, Path(where), name, list(kinds), pairs)


def _unit_checks(engine: SourceEngine, relation: Relation, config: SourceConfig) -> pl.DataFrame:
    """Crossed and repeated units per experiment: rows vs distinct ids first (one cheap
    aggregate), the per-unit query only over the experiments with more rows than ids."""
    dialect = engine.backend.dialect
    counts_sql = unit_counts_query(relation, config.experiments).sql(dialect=dialect)
    counts = _fetch(engine, counts_sql, config)
    flagged = tuple(sorted(str(e) for e, rows, units in counts if e is not None and rows > units))
    if not flagged:
        return NO_CHECKS
    rows = _fetch(engine, unit_checks_query(relation, flagged).sql(dialect=dialect), config)
    return _frame(rows, [("experiment", "str"), ("crossed", "int"), ("repeated", "int")])


def finish(
    wide: pl.DataFrame,
    checks: pl.DataFrame | None,
    metrics: list[Metric],
    catalog: Catalog,
    path: Path,
    label: str,
    columns: list[str],
    pairs: tuple[Pair, ...] = (),
) -> FileRead:
    """The same checks and long summary as the Polars file path, from an engine's wide rows
    (with the pairs' cross statistics where the statement computed them)."""
    check_rows(wide, path)
    read = FileRead(
        summary=to_long(wide, metrics),
        units=wide.select(
            "experiment",
            "variant",
            date_col(wide),
            "units",
        ),
        metrics={m.id for m in metrics},
        cross=cross_long(wide, list(pairs)),
    )
    check_proportions(wide, metrics, path)
    note_missing_values(wide, metrics, read)
    if checks is not None:
        record_unit_problems(checks, read)
    note_covariates(wide, metrics, columns, Path(label), read)
    missing = [m.id for m in catalog.metrics.values() if m not in metrics]
    if missing:
        for experiment in wide["experiment"].unique().sort():
            read.notes.setdefault(experiment, []).append(
                f"{label} has no column for {', '.join(missing)}: not measured here."
            )
    return read


def _check_metric_kinds(metric: Metric, kinds: dict[str, ColumnKind], config: SourceConfig) -> None:
    covariate = [metric.covariate] if metric.covariate in kinds else []
    for column in [*metric.columns, *covariate]:
        if kinds[column] not in ("numeric", "boolean"):
            raise InputError(
                f"{config.describe()}: metric '{metric.id}' reads a {kinds[column]} column",
                file=config.file,
                column=column,
                fix="point the metric at a numeric or boolean column in metrics.toml",
            )


def _fetch(engine: SourceEngine, sql: str, config: SourceConfig) -> list[tuple[Any, ...]]:
    try:
        return engine.fetch(sql)
    except InputError:
        raise
    except Exception as exc:  # every driver has its own error classes
        raise InputError(
            f"{config.describe()}: the aggregation query failed ({first_line(exc)})",
            file=config.file,
            fix="check the table and the column mapping in source.toml",
        ) from exc


def _frame(rows: list[tuple[Any, ...]], out: list[tuple[str, str]]) -> pl.DataFrame:
    """Rows as typed columns: decimals as floats, and dates that a driver returns as text
    (SQLite) or as timestamps made dates."""
    schema = {name: _POLARS_TYPES[kind] for name, kind in out}
    dates = [i for i, (_, kind) in enumerate(out) if kind == "date"]
    floats = [i for i, (_, kind) in enumerate(out) if kind == "float"]
    fixed = []
    for row in rows:
        values = list(row)
        for i in dates:
            values[i] = _date(values[i])
        for i in floats:
            values[i] = None if values[i] is None else float(values[i])
        fixed.append(tuple(values))
    return pl.DataFrame(fixed, schema=schema, orient="row")


def _date(value: Any) -> dt.date | None:
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _read_summary_table(
    engine: SourceEngine,
    source: exp.Expr,
    types: dict[str, str],
    config: SourceConfig,
    catalog: Catalog,
) -> FileRead:
    columns = [exp.column(c, quoted=True) for c in types]
    query = exp.select(*columns).from_(source.copy())
    rows = _fetch(engine, query.sql(dialect=engine.backend.dialect), config)
    frame = pl.DataFrame(
        [tuple(r) for r in rows], schema=list(types), orient="row", infer_schema_length=None
    )
    renames = {config.columns[k]: k for k in config.columns if config.columns[k] in types}
    frame = frame.rename(renames)
    if config.experiments and "experiment" in frame.columns:
        frame = frame.filter(pl.col("experiment").is_in(list(config.experiments)))
    return read_summary(frame.lazy(), Path(config.file), catalog)


def optional_module(module: str, engine: str, config: SourceConfig) -> ModuleType:
    """Import an engine's driver, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"engine {engine} needs the {module} package",
            file=config.file,
            fix=f"pip install 'nsexp[{engine}]'",
        ) from exc


def first_line(exc: BaseException) -> str:
    """An exception's first line, with any password redacted: safe to show."""
    text = str(exc).strip().splitlines()
    return redact(f"{type(exc).__name__}: {text[0] if text else ''}")


__all__ = [
    "SourceEngine",
    "column_kind",
    "finish",
    "first_line",
    "optional_module",
    "read_engine",
]
