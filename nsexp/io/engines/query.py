"""The summary query for a catalog, written without a connection (`nsexp sql`).

Without the table at hand the column kinds are assumed from the catalog: a proportion's column
is cast through an integer (a boolean or 0/1 numbers), every other metric column is a number,
the date is cast to a date.
"""

from __future__ import annotations

from pathlib import Path

from sqlglot import exp

from nsexp.config.catalog import COLUMN_KEYS, load_catalog
from nsexp.config.source import load_source
from nsexp.errors import InputError
from nsexp.io.engines.sql import (
    BACKENDS,
    ColumnKind,
    Relation,
    subquery_of,
    summary_query,
    table_of,
)


def catalog_query(root: Path, engine: str, table: str | None, dates: bool) -> str:
    """The summary query for the data directory `root` (its metrics.toml and source.toml)."""
    catalog_path = root / "metrics.toml"
    if not catalog_path.is_file():
        raise InputError(
            "no metrics.toml here", file=root, fix="point nsexp sql at a data directory"
        )
    catalog = load_catalog(catalog_path)
    backend = BACKENDS[engine]
    config = load_source(root)
    columns = dict(config.columns) if config else {}
    names = {k: columns.get(k, catalog.column(k)) for k in COLUMN_KEYS}
    kinds: dict[str, ColumnKind] = {"experiment": "text", "variant": "text"}
    if dates:
        kinds["date"] = "timestamp"
    metrics = list(catalog.metrics.values())
    for metric in metrics:
        for column in metric.columns:
            kinds[column] = "boolean" if metric.type == "proportion" else "numeric"
        if metric.covariate is not None and metric.type != "ratio":
            kinds.setdefault(metric.covariate, "numeric")
    source: exp.Expr
    if table is not None:
        source = table_of(table)
    elif config is not None and config.query is not None:
        source = subquery_of(config.query, backend.dialect)
    else:
        source = table_of(config.table if config and config.table else "events")
    relation = Relation(source, kinds, names)
    experiments = config.experiments if config else ()
    query = summary_query(relation, metrics, backend, experiments)
    return query.sql(dialect=backend.dialect, pretty=True)
