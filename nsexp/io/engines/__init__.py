"""Where unit-level rows live (files, or any warehouse source.toml names) and how each
aggregates them.

One aggregation contract, several executors: nsexp.io.engines.sql builds the statement once from
the metric catalog (sqlglot prints it per dialect); each engine runs it where the data lives and
returns only the summary. Drivers and sqlglot are imported only past the polars branch.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from nsexp.config.catalog import Catalog
from nsexp.config.source import SOURCE_FILE, SourceConfig, load_source, redact
from nsexp.io.units import FileRead


def read_source(config: SourceConfig, catalog: Catalog) -> FileRead:
    """Aggregate the rows a source.toml points at, on the engine it names."""
    catalog = replace(catalog, columns={**catalog.columns, **config.columns})
    if config.engine == "polars":
        from nsexp.io.engines.polars import read_files

        return read_files(config, catalog)
    from nsexp.io.engines.base import SourceEngine, read_engine

    engine: SourceEngine
    if config.engine == "duckdb":
        from nsexp.io.engines.duckdb import DuckDBEngine

        engine = DuckDBEngine(config)
    elif config.engine in ("postgres", "redshift"):
        from nsexp.io.engines.postgres import PostgresEngine

        engine = PostgresEngine(config)
    elif config.engine == "spark":
        from nsexp.io.engines.spark import SparkEngine

        engine = SparkEngine(config)
    else:
        from nsexp.io.engines.dbapi import DbApiEngine

        engine = DbApiEngine(config)
    try:
        return read_engine(engine, config, catalog)
    finally:
        engine.close()


def source_name(root: Path) -> str | None:
    """Where a data directory's rows come from, as the app says it (no password), or None when
    it has no source.toml or reads files with the default polars engine."""
    config = load_source(root) if root.is_dir() else None
    if config is None or config.engine == "polars":
        return None
    return config.describe()


__all__ = ["SOURCE_FILE", "SourceConfig", "load_source", "read_source", "redact", "source_name"]
