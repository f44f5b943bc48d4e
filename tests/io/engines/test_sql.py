"""The aggregation contract: SQL generation, source.toml parsing and the Polars files engine."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from engine_helpers import (
    SOURCE_METRICS,
    assert_same_summary,
    reference,
    unit_rows,
    write_catalog,
    write_source,
)

from nsexp.config.catalog import parse_catalog
from nsexp.config.source import parse_source, redact
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.engines import load_source
from nsexp.io.engines.polars import scan_source
from nsexp.io.engines.sql import (
    BACKENDS,
    Relation,
    aggregate_sql,
    centred_wide,
    metric_stats,
    table_of,
)
from nsexp.io.masked import _covariate_aggs, _metric_aggs

CATALOG = parse_catalog({"metrics": SOURCE_METRICS})
COLUMNS = [
    "experiment",
    "variant",
    "date",
    "lessons",
    "pre_lessons",
    "retained",
    "minutes",
    "sessions",
    "clicks",
    "errors",
]


@pytest.mark.parametrize("metric_id", list(SOURCE_METRICS))
def test_sql_stats_match_the_polars_aggregations(metric_id: str) -> None:
    """Guards against drift: every sum the Polars path builds, the SQL path builds too."""
    metric = CATALOG.metrics[metric_id]
    polars_names = {
        e.meta.output_name() for e in [*_metric_aggs(metric), *_covariate_aggs(metric, COLUMNS)]
    }
    fetched = {f"{metric.id}__{s.name}": [1.0] for s in metric_stats(metric, COLUMNS)}
    wide = centred_wide(pl.DataFrame(fetched), [metric])
    assert set(wide.columns) == polars_names


def test_one_statement_per_dialect() -> None:
    kinds = {c: "numeric" for c in COLUMNS} | {
        "experiment": "text",
        "variant": "text",
        "date": "timestamp",
        "retained": "boolean",
    }
    relation = Relation(table_of("events"), kinds, {"variant": "arm"})
    metrics = list(CATALOG.metrics.values())
    sqls = {}
    for name in ("duckdb", "postgres", "spark"):
        sql, out = aggregate_sql(relation, metrics, BACKENDS[name], ("exp_a", "o'brien"))
        sqls[name] = sql
        assert [name for name, _ in out][:4] == ["experiment", "variant", "date", "units"]
        assert len(out) == 4 + sum(len(metric_stats(m, kinds)) for m in metrics)
    assert 'CAST("arm" AS TEXT)' in sqls["postgres"]
    assert "CAST(`arm` AS STRING)" in sqls["spark"] and '"arm"' not in sqls["spark"]
    assert "CAST(CAST(`retained` AS INT) AS DOUBLE)" in sqls["spark"]
    assert "IN ('exp_a', 'o''brien')" in sqls["duckdb"]
    assert "QUANTILE_CONT(" in sqls["duckdb"] and "PERCENTILE(" in sqls["spark"]
    assert "PERCENTILE_CONT(0.99) WITHIN GROUP" in sqls["postgres"]
    assert sqls["postgres"].count("GROUP BY") == 2  # the caps CTE and the aggregation
    assert 'CAST("day" AS DATE)' not in sqls["postgres"]  # mapped: ours is "date"
    assert 'CAST("date" AS DATE)' in sqls["postgres"]
    assert "VAR_POP" not in sqls["postgres"] and "COVAR_POP" not in sqls["postgres"]


@pytest.mark.parametrize("name", ["sqlite", "mysql", "trino", "bigquery", "mssql"])
def test_cap_quantile_needs_an_exact_quantile(name: str) -> None:
    relation = Relation(table_of("events"), {c: "numeric" for c in COLUMNS}, {})
    with pytest.raises(InputError) as err:
        aggregate_sql(relation, list(CATALOG.metrics.values()), BACKENDS[name])
    assert err.value.message.startswith(f"cap_quantile is not supported on {name}; ")
    assert "metric 'clicks'" in err.value.message


def test_source_toml_rejects_passwords_and_redacts_them(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        parse_source(
            {"engine": "postgres", "url": "postgresql://ann:hunter2@db/x", "table": "t"},
            root=tmp_path,
        )
    assert "hunter2" not in err.value.message and "***" in err.value.message
    assert "NSEXP_PG_PASSWORD" in err.value.message
    assert redact("postgresql://ann:pw@h/db password=pw2") == "postgresql://***@h/db password=***"


def test_source_toml_needs_a_location_and_valid_keys(tmp_path: Path) -> None:
    cases = {
        "engine postgres needs a location": {"engine": "postgres", "url": "postgresql://a@b/c"},
        "experiments must be a list": {"path": "x", "experiments": "exp_a"},
        "[columns] maps only": {"path": "x", "columns": {"arm": "variant"}},
    }
    for message, raw in cases.items():
        with pytest.raises(InputError, match=message.replace("[", r"\[")):
            parse_source(raw, root=tmp_path)
    config = parse_source({"engine": "duckdb", "path": "parts"}, root=tmp_path)
    assert config.path == tmp_path / "parts" and config.describe() == f"duckdb {tmp_path}/parts"
    assert load_source(tmp_path) is None


def test_polars_glob_source_with_pushdown_equals_reference(tmp_path: Path) -> None:
    rows = unit_rows()
    root = tmp_path / "p"
    write_catalog(root)
    (root / "parts").mkdir()
    for i, part in enumerate(rows.iter_slices(1500)):
        part.write_parquet(root / "parts" / f"p{i}.parquet")
    write_source(root, engine="polars", path="parts/*.parquet", experiments=["exp_b"])
    config = load_source(root)
    assert config is not None
    catalog = write_catalog(root)
    plan = (
        scan_source(
            config, parse_catalog({"metrics": SOURCE_METRICS, "columns": {"variant": "arm"}})
        )
        .group_by("experiment")
        .agg(pl.col("lessons").sum())
        .explain(engine="streaming")
    )
    assert "SELECTION" in plan and "PROJECT 2/11 COLUMNS" in plan  # only needed rows and columns
    got = load_dataset(catalog.parent)
    assert list(got.experiments) == ["exp_b"]
    assert_same_summary(got, reference(tmp_path, rows.filter(pl.col("experiment") == "exp_b")))


def test_polars_source_bad_path_is_input_error(tmp_path: Path) -> None:
    write_catalog(tmp_path)
    write_source(tmp_path, engine="polars", path="missing/*.parquet")
    with pytest.raises(InputError, match=r"source\.toml.*cannot read"):
        load_dataset(tmp_path)
