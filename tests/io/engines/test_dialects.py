"""The backends that cannot run here (Snowflake, BigQuery, Databricks, Redshift, Trino, MSSQL):
the compiled statement per dialect is a reviewed snapshot (tests/fixtures/sql/<engine>.sql),
and sqlglot parses it back in that dialect. A change to the SQL shows up as a snapshot diff;
regenerate with NSEXP_UPDATE_SQL_SNAPSHOTS=1 and review the diff before committing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlglot
from engine_helpers import SOURCE_METRICS, uncapped_metrics

from nsexp.config.catalog import parse_catalog
from nsexp.io.cross import cross_pairs
from nsexp.io.engines.sql import BACKENDS, Relation, aggregate_sql, table_of

SNAPSHOTS = Path(__file__).parents[2] / "fixtures" / "sql"
KINDS = {
    "unit_id": "numeric",
    "experiment": "text",
    "variant": "text",
    "date": "timestamp",
    "lessons": "numeric",
    "pre_lessons": "numeric",
    "retained": "boolean",
    "minutes": "numeric",
    "sessions": "numeric",
    "clicks": "numeric",
    "errors": "numeric",
}


def compiled(engine: str) -> str:
    """The statement nsexp runs on `engine` for the engine tests' catalog (capped where the
    backend has an exact quantile), filtered to two experiments."""
    backend = BACKENDS[engine]
    metrics = SOURCE_METRICS if backend.quantile else uncapped_metrics()
    catalog = parse_catalog({"metrics": metrics})
    measured = list(catalog.metrics.values())
    pairs = tuple(cross_pairs(catalog, measured, list(KINDS)))
    relation = Relation(table_of("analytics.events"), KINDS, {"variant": "arm", "date": "day"})
    sql, _ = aggregate_sql(relation, measured, backend, ("exp_a", "exp_b"), pairs)
    return sql


@pytest.mark.parametrize(
    "engine", ["snowflake", "bigquery", "databricks", "redshift", "trino", "mssql"]
)
def test_compiled_query_matches_its_reviewed_snapshot(engine: str) -> None:
    sql = compiled(engine)
    path = SNAPSHOTS / f"{engine}.sql"
    if os.environ.get("NSEXP_UPDATE_SQL_SNAPSHOTS"):
        path.write_text(sql + "\n", encoding="utf-8")
    assert sql == path.read_text(encoding="utf-8").rstrip("\n")
    dialect = BACKENDS[engine].dialect
    tree = sqlglot.parse_one(sql, read=dialect)  # raises on anything the dialect cannot read
    assert tree.sql(dialect=dialect) == sql  # and prints it back unchanged
    assert "VAR_POP" not in sql.upper() and "COVAR" not in sql.upper()
