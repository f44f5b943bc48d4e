"""Every other backend through its own DB-API driver: one engine class, one connect function per
backend (each driver an extra, imported only here and only when source.toml names it).

The statement is sqlglot's (nsexp.io.engines.sql); the driver only runs it. Column kinds come
from the driver's type names where it gives them as text (chDB), else from a sample of values.
"""

from __future__ import annotations

import datetime as dt
import decimal
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlglot import exp

from nsexp.config.source import SourceConfig, password, password_envs, redact
from nsexp.errors import InputError
from nsexp.io.engines.base import first_line, optional_module
from nsexp.io.engines.sql import BACKENDS, Backend, subquery_of, table_of

SAMPLE_ROWS = 1000
CONNECT_TIMEOUT_S = 10


class DbApiEngine:
    """One DB-API connection to the backend source.toml names."""

    def __init__(self, config: SourceConfig) -> None:
        """Connect as source.toml says; a missing driver names its pip command."""
        self.config = config
        self.backend: Backend = BACKENDS[config.engine]
        connect = CONNECT[config.engine]
        try:
            self.con = connect(config)
        except InputError:
            raise
        except Exception as exc:  # every driver has its own error classes
            where = redact(config.url) if config.url else str(config.database or config.path)
            raise InputError(
                f"cannot connect to {config.engine} at {where} ({first_line(exc)})",
                file=config.file,
                fix=f"check url in source.toml and {password_envs(config.engine)[0]}",
            ) from exc

    def relation(self) -> tuple[exp.Expr, dict[str, str]]:
        """The table, the operator's query or the files, and its columns' kinds."""
        config = self.config
        source: exp.Expr
        if config.table is not None:
            source = table_of(config.table)
        elif config.query is not None:
            source = subquery_of(config.query, self.backend.dialect)
        else:  # chDB over local files
            path = config.path
            assert path is not None
            pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
            form = "CSVWithNames" if pattern.lower().endswith(".csv") else "Parquet"
            source = exp.Anonymous(
                this="file", expressions=[exp.Literal.string(pattern), exp.Literal.string(form)]
            )
        sample = exp.select("*").from_(source.copy()).limit(SAMPLE_ROWS)
        try:
            cur = self.con.cursor()
            cur.execute(sample.sql(dialect=self.backend.dialect))
            rows = cur.fetchall()
            description = cur.description or []
            cur.close()
        except Exception as exc:
            what = "query" if config.query else f"table {config.table or config.path}"
            raise InputError(
                f"{config.engine} cannot read {what} ({first_line(exc)})",
                file=config.file,
                fix="check table / query / path in source.toml and the user's grants",
            ) from exc
        kinds = {}
        for i, col in enumerate(description):
            kinds[str(col[0])] = _kind(col[1], [r[i] for r in rows])
        return source, kinds

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one query and return all its rows."""
        cur = self.con.cursor()
        try:
            cur.execute(sql)
            return list(cur.fetchall())
        finally:
            cur.close()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()


def _kind(type_code: Any, values: list[Any]) -> str:
    """A column's type name: the driver's where it is text, else read off its first value."""
    if isinstance(type_code, str):  # ClickHouse's names: Nullable(Float64), ...
        for wrapper in ("Nullable(", "LowCardinality("):
            if type_code.startswith(wrapper):
                type_code = type_code[len(wrapper) : -1]
        return type_code
    value = next((v for v in values if v is not None), 0.0)  # all empty: any numbers will do
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | decimal.Decimal):
        return "double"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    return "varchar" if isinstance(value, str) else "other"


def _url(config: SourceConfig) -> tuple[Any, dict[str, str]]:
    """The url's parts and its query parameters (first value each)."""
    parts = urlsplit(config.url or "")
    return parts, {k: v[0] for k, v in parse_qs(parts.query).items()}


def _path(parts: Any) -> list[str]:
    return [unquote(p) for p in parts.path.split("/") if p]


def _sqlite(config: SourceConfig) -> Any:
    database = config.database
    assert database is not None
    if not database.is_file():
        raise InputError(
            f"no SQLite database at {database}",
            file=config.file,
            fix="point database at an existing .sqlite file",
        )
    return sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)


def _mysql(config: SourceConfig) -> Any:
    pymysql = optional_module("pymysql", "mysql", config)
    parts, _ = _url(config)
    return pymysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=password("mysql") or "",
        database=next(iter(_path(parts)), None),
        connect_timeout=CONNECT_TIMEOUT_S,
    )


def _clickhouse(config: SourceConfig) -> Any:
    if config.url is None:  # local files through chDB, in process
        return optional_module("chdb.dbapi", "clickhouse", config).connect()
    driver = optional_module("clickhouse_connect.dbapi", "clickhouse", config)
    parts, _ = _url(config)
    return driver.connect(
        host=parts.hostname,
        port=parts.port or 8123,
        username=unquote(parts.username or "default"),
        password=password("clickhouse") or "",
        database=(_path(parts) or ["default"])[0],
    )


def _snowflake(config: SourceConfig) -> Any:
    connector = optional_module("snowflake.connector", "snowflake", config)
    parts, query = _url(config)
    path = _path(parts)
    secret = password("snowflake")
    kwargs = {
        "account": parts.hostname,
        "user": unquote(parts.username or "") or None,
        "database": path[0] if path else None,
        "schema": path[1] if len(path) > 1 else None,
        "warehouse": query.get("warehouse"),
        "role": query.get("role"),
        "connection_name": query.get("connection"),  # from connections.toml
        "password": secret,
    }
    return connector.connect(**{k: v for k, v in kwargs.items() if v})


def _bigquery(config: SourceConfig) -> Any:
    bigquery = optional_module("google.cloud.bigquery", "bigquery", config)
    dbapi = optional_module("google.cloud.bigquery.dbapi", "bigquery", config)
    parts, _ = _url(config)  # credentials: application-default (the driver's own chain)
    return dbapi.connect(client=bigquery.Client(project=parts.hostname))


def _databricks(config: SourceConfig) -> Any:
    sql = optional_module("databricks.sql", "databricks", config)
    parts, _ = _url(config)
    token = password("databricks")
    extra = {"access_token": token} if token else {}  # else the driver's DATABRICKS_TOKEN
    return sql.connect(server_hostname=parts.hostname, http_path=parts.path, **extra)


def _trino(config: SourceConfig) -> Any:
    trino = optional_module("trino", "trino", config)
    parts, query = _url(config)
    path = _path(parts)
    user = unquote(parts.username or "nsexp")
    secret = password("trino")
    auth = trino.auth.BasicAuthentication(user, secret) if secret else None
    return trino.dbapi.connect(
        host=parts.hostname,
        port=parts.port or 8080,
        user=user,
        catalog=path[0] if path else None,
        schema=path[1] if len(path) > 1 else None,
        http_scheme=query.get("http_scheme", "https" if secret else "http"),
        auth=auth,
    )


def _mssql(config: SourceConfig) -> Any:
    pymssql = optional_module("pymssql", "mssql", config)
    parts, _ = _url(config)
    return pymssql.connect(
        server=parts.hostname,
        port=str(parts.port or 1433),
        user=unquote(parts.username or ""),
        password=password("mssql") or "",
        database=(_path(parts) or [""])[0],
        login_timeout=CONNECT_TIMEOUT_S,
    )


CONNECT: dict[str, Callable[[SourceConfig], Any]] = {
    "sqlite": _sqlite,
    "mysql": _mysql,
    "clickhouse": _clickhouse,
    "snowflake": _snowflake,
    "bigquery": _bigquery,
    "databricks": _databricks,
    "trino": _trino,
    "mssql": _mssql,
}
