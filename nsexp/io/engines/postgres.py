"""PostgreSQL over a connection URL; the password comes only from the environment."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from nsexp.config.source import SourceConfig, password, password_envs, redact
from nsexp.errors import InputError
from nsexp.io.engines.base import first_line, optional_module
from nsexp.io.engines.sql import BACKENDS, Backend, subquery_of, table_of

CONNECT_TIMEOUT_S = 10


class PostgresEngine:
    """One psycopg connection, read-only, to the database named by `url`."""

    backend: Backend

    def __init__(self, config: SourceConfig) -> None:
        """Connect to PostgreSQL as source.toml says (the driver is an optional extra)."""
        psycopg = optional_module("psycopg", config.engine, config)
        self.config = config
        self.backend = BACKENDS[config.engine]  # postgres, or redshift (libpq speaks to it)
        self._psycopg = psycopg
        secret = password(config.engine)
        extra: dict[str, Any] = {"password": secret} if secret else {}
        url = config.url or ""
        if url.startswith("redshift://"):
            url = "postgresql://" + url.removeprefix("redshift://")
        try:
            self.con = psycopg.connect(
                url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, **extra
            )
        except (psycopg.Error, ValueError) as exc:
            raise InputError(
                f"cannot connect to {config.engine} at {redact(config.url)} ({first_line(exc)})",
                file=config.file,
                fix=f"check url in source.toml and the password in "
                f"{password_envs(config.engine)[0]}",
            ) from exc
        self.con.read_only = True

    def relation(self) -> tuple[exp.Expr, dict[str, str]]:
        """The table (or the operator's query) and its columns with PostgreSQL type names."""
        config = self.config
        table = config.table or "query"
        dialect = self.backend.dialect
        source = subquery_of(config.query, dialect) if config.query is not None else table_of(table)
        empty = exp.select("*").from_(source.copy()).where(exp.false()).sql(dialect=dialect)
        try:
            with self.con.cursor() as cur:
                cur.execute(empty)
                description = cur.description or []
        except self._psycopg.Error as exc:
            raise InputError(
                f"{config.engine} cannot read {table!r} ({first_line(exc)})",
                file=self.config.file,
                fix="check table in source.toml (schema.table) and the user's grants",
            ) from exc
        types = self.con.adapters.types
        names = {}
        for col in description:
            info = types.get(col.type_code)
            names[col.name] = info.name if info is not None else "other"
        return source, names

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one query and return all its rows."""
        with self.con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
