"""DuckDB, embedded: the SQL aggregation over Parquet/CSV files or a table of a .duckdb file."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from nsexp.config.source import SourceConfig
from nsexp.errors import InputError
from nsexp.io.engines.base import first_line, optional_module
from nsexp.io.engines.sql import BACKENDS, Backend, subquery_of, table_of


class DuckDBEngine:
    """One DuckDB connection: in memory for files, read-only for a database file."""

    backend: Backend = BACKENDS["duckdb"]

    def __init__(self, config: SourceConfig) -> None:
        """Connect to DuckDB as source.toml says (the driver is an optional extra)."""
        duckdb = optional_module("duckdb", "duckdb", config)
        self.config = config
        self._error = duckdb.Error
        try:
            if config.database is not None:
                if not config.database.is_file():
                    raise InputError(
                        f"no DuckDB database at {config.database}",
                        file=config.file,
                        fix="point database at an existing .duckdb file",
                    )
                self.con = duckdb.connect(str(config.database), read_only=True)
            else:
                self.con = duckdb.connect()
        except duckdb.Error as exc:
            raise InputError(
                f"cannot open DuckDB ({first_line(exc)})",
                file=config.file,
                fix="check database in source.toml",
            ) from exc

    def relation(self) -> tuple[exp.Expr, dict[str, str]]:
        """The FROM item (a table, a query, or read_parquet/read_csv over the path) and its
        columns."""
        config = self.config
        source: exp.Expr
        if config.table is not None:
            source = table_of(config.table)
        elif config.query is not None:
            source = subquery_of(config.query, "duckdb")
        else:
            path = config.path
            assert path is not None
            pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
            reader = "read_csv_auto" if pattern.lower().endswith(".csv") else "read_parquet"
            source = exp.Anonymous(this=reader, expressions=[exp.Literal.string(pattern)])
        sql = exp.select("*").from_(source.copy()).sql(dialect="duckdb")
        try:
            rows = self.con.execute(f"DESCRIBE {sql}").fetchall()
        except self._error as exc:
            what = f"table {config.table!r}" if config.table else f"path {config.path}"
            raise InputError(
                f"duckdb cannot read {what} ({first_line(exc)})",
                file=config.file,
                fix="check table / path in source.toml",
            ) from exc
        return source, {str(r[0]): str(r[1]) for r in rows}

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one query and return all its rows."""
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
