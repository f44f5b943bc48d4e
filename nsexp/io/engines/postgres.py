"""PostgreSQL over a connection URL; the password comes only from the environment."""

from __future__ import annotations

from typing import Any

from nsexp.config.source import SourceConfig, password, redact
from nsexp.errors import InputError
from nsexp.io.engines.base import first_line, optional_module
from nsexp.io.engines.sql import POSTGRES, Dialect

CONNECT_TIMEOUT_S = 10


class PostgresEngine:
    """One psycopg connection, read-only, to the database named by `url`."""

    dialect: Dialect = POSTGRES

    def __init__(self, config: SourceConfig) -> None:
        """Connect to PostgreSQL as source.toml says (the driver is an optional extra)."""
        psycopg = optional_module("psycopg", "postgres", config)
        self.config = config
        self._psycopg = psycopg
        secret = password()
        extra: dict[str, Any] = {"password": secret} if secret else {}
        try:
            self.con = psycopg.connect(
                config.url or "", connect_timeout=CONNECT_TIMEOUT_S, autocommit=True, **extra
            )
        except (psycopg.Error, ValueError) as exc:
            raise InputError(
                f"cannot connect to postgres at {redact(config.url)} ({first_line(exc)})",
                file=config.file,
                fix="check url in source.toml and the password in NSEXP_PG_PASSWORD",
            ) from exc
        self.con.read_only = True

    def relation(self) -> tuple[str, dict[str, str]]:
        """The quoted table name and its columns with PostgreSQL type names."""
        table = self.config.table or ""
        sql = self.dialect.table(table)
        try:
            with self.con.cursor() as cur:
                cur.execute(f"SELECT * FROM {sql} WHERE false")
                description = cur.description or []
        except self._psycopg.Error as exc:
            raise InputError(
                f"postgres cannot read table {table!r} ({first_line(exc)})",
                file=self.config.file,
                fix="check table in source.toml (schema.table) and the user's grants",
            ) from exc
        types = self.con.adapters.types
        names = {}
        for col in description:
            info = types.get(col.type_code)
            names[col.name] = info.name if info is not None else "other"
        return sql, names

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one query and return all its rows."""
        with self.con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def close(self) -> None:
        """Close the connection."""
        self.con.close()
