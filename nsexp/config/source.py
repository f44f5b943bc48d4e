"""source.toml: which engine holds a data directory's unit-level rows, and where."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from nsexp.config.catalog import COLUMN_KEYS
from nsexp.config.toml import read_toml
from nsexp.errors import InputError

SOURCE_FILE = "source.toml"
SourceEngineName = Literal[
    "polars",
    "duckdb",
    "sqlite",
    "postgres",
    "spark",
    "mysql",
    "clickhouse",
    "snowflake",
    "bigquery",
    "databricks",
    "redshift",
    "trino",
    "mssql",
]
SOURCE_ENGINES: tuple[SourceEngineName, ...] = get_args(SourceEngineName)
# Where a password or token may come from: NSEXP_<ENGINE>_PASSWORD / _TOKEN (and, for
# PostgreSQL, the older NSEXP_PG_PASSWORD and libpq's PGPASSWORD); never from source.toml.
LEGACY_PASSWORD_ENVS = ("NSEXP_PG_PASSWORD", "PGPASSWORD")
_KEYS = {"engine", "path", "database", "url", "table", "query", "experiments", "columns"}


@dataclass(frozen=True)
class SourceConfig:
    """A parsed source.toml: engine, location, column mapping and an optional experiment filter."""

    engine: SourceEngineName = "polars"
    path: Path | None = None
    database: Path | None = None
    url: str | None = None
    table: str | None = None
    query: str | None = None
    experiments: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)
    file: str = SOURCE_FILE

    def describe(self) -> str:
        """Where the rows come from, for messages and the app; never shows a password."""
        where = f"table {self.table}" if self.table else str(self.path or "")
        where = "query" if self.query else where
        if self.database is not None:
            where = f"{self.database} {where}"
        url = f" at {redact(self.url)}" if self.url else ""
        return f"{self.engine} {where}{url}".strip()


def load_source(root: Path) -> SourceConfig | None:
    """The data directory's source.toml, parsed and checked; None when there is none."""
    path = root / SOURCE_FILE
    if not path.is_file():
        return None
    return parse_source(read_toml(path), root=root, file=str(path))


def parse_source(raw: dict, root: Path, file: str = SOURCE_FILE) -> SourceConfig:
    """Validate an already-parsed source.toml; relative paths are read from `root`."""
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise InputError(
            f"unknown key '{unknown[0]}'", file=file, fix=f"use only {', '.join(sorted(_KEYS))}"
        )
    engine = raw.get("engine", "polars")
    if engine not in SOURCE_ENGINES:
        raise InputError(
            f"engine = {engine!r} is not a known engine",
            file=file,
            fix=f"use one of {', '.join(SOURCE_ENGINES)}",
        )
    for key in ("path", "database", "url", "table", "query"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key]):
            raise InputError(f"{key} must be a non-empty string", file=file)
    experiments = raw.get("experiments", [])
    if not isinstance(experiments, list) or not all(isinstance(e, str) for e in experiments):
        raise InputError(
            "experiments must be a list of experiment ids",
            file=file,
            fix='e.g. experiments = ["checkout_v2"], or leave it out to read all',
        )
    columns = raw.get("columns", {})
    if not isinstance(columns, dict) or not all(
        k in COLUMN_KEYS and isinstance(v, str) and v for k, v in columns.items()
    ):
        raise InputError(
            "[columns] maps only experiment, variant, unit_id, date to column names",
            file=file,
            fix='e.g. [columns] variant = "arm"',
        )
    url = raw.get("url")
    if url is not None and carries_password(url):
        raise InputError(
            f"url = {redact(url)!r} carries a password; source.toml may not hold one",
            file=file,
            fix="remove it (user:password@, ?password= or password=) from the url and set "
            f"{' or '.join(password_envs(engine))} in the server's environment instead",
        )
    if "table" in raw and "query" in raw:
        raise InputError(
            "table and query both given", file=file, fix="keep one: a table (or view) or a SELECT"
        )
    config = SourceConfig(
        engine=engine,
        path=_resolve(root, raw.get("path")),
        database=_resolve(root, raw.get("database")),
        url=url,
        table=raw.get("table"),
        query=raw.get("query"),
        experiments=tuple(experiments),
        columns=dict(columns),
        file=file,
    )
    _require_location(config)
    return config


def _resolve(root: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else root / path


# An example url per engine, in the form nsexp reads (docs/warehouses.md).
URL_EXAMPLES = {
    "postgres": "postgresql://user@host:5432/db",
    "redshift": "redshift://user@cluster.region.redshift.amazonaws.com:5439/db",
    "mysql": "mysql://user@host:3306/db",
    "clickhouse": "clickhouse://user@host:8123/db",
    "snowflake": "snowflake://user@account/database/schema?warehouse=wh",
    "bigquery": "bigquery://project/dataset",
    "databricks": "databricks://host/sql/1.0/warehouses/id",
    "trino": "trino://user@host:8080/catalog/schema",
    "mssql": "mssql://user@host:1433/db",
}


def _require_location(config: SourceConfig) -> None:
    engine = config.engine
    relation = config.table is not None or config.query is not None
    files = config.path is not None and config.query is None and config.table is None
    needs = {
        "polars": config.path is not None,
        "duckdb": files or (relation and config.path is None),
        "sqlite": config.database is not None and relation,
        "spark": config.path is not None or relation,
        "clickhouse": files or (config.url is not None and relation),
    }.get(engine, config.url is not None and relation)
    if not needs:
        fixes = {
            "polars": 'add path = "<Parquet/CSV file, directory or glob>"',
            "duckdb": 'add path = "<Parquet glob>", or database = "<file.duckdb>" and table',
            "sqlite": 'add database = "<file.sqlite>" and table = "<table>" (or query)',
            "spark": 'add table = "<table>" (or query) or path = "<Parquet path>"',
            "clickhouse": 'add path = "<Parquet file>" (chDB), or url and table (or query)',
        }
        example = URL_EXAMPLES.get(engine, "")
        fix = fixes.get(engine, f'add url = "{example}" and table = "<table>" (or query)')
        raise InputError(f"engine {engine} needs a location", file=config.file, fix=fix)


# libpq's password keywords, in a URL's query (?password=) or a key=value DSN (password=...)
_PASSWORD_KEY = re.compile(r"(?:^|[\s?&;])(?:ssl)?password\s*=", re.IGNORECASE)


def carries_password(url: str) -> bool:
    """Whether a connection string holds a password in any form libpq reads: user:pw@ (even an
    empty one), ?password= / &sslpassword= in a URL, or password=... in a key=value DSN."""
    if _PASSWORD_KEY.search(url):
        return True
    _, sep, rest = url.partition("://")
    # the userinfo runs to the last @ before any query: libpq would stop at a '/' in the
    # password and read the rest as the database, which must not let a password through
    userinfo, at, _ = rest.split("?", 1)[0].rpartition("@")
    return bool(sep and at) and ":" in userinfo


def password_envs(engine: str) -> tuple[str, ...]:
    """The variables an engine's password or token is read from, in order."""
    name = "PG" if engine == "postgres" else engine.upper()
    own = (f"NSEXP_{engine.upper()}_PASSWORD", f"NSEXP_{engine.upper()}_TOKEN")
    return (*own, *LEGACY_PASSWORD_ENVS) if name == "PG" else own


def password(engine: str = "postgres") -> str | None:
    """The engine's password or token from the environment (password_envs), else None: the
    driver's own chain then applies (BigQuery's application-default credentials, ...)."""
    for name in password_envs(engine):
        if os.environ.get(name):
            return os.environ[name]
    return None


def redact(text: str | None) -> str:
    """Text with any URL password and any password from the environment replaced by ***."""
    if not text:
        return ""
    # the whole userinfo, up to the last @ of the address: a password may hold '@', '/' or ':'
    text = re.sub(r"://[^\s'\"]*@", "://***@", text)
    text = re.sub(r"(password\s*=\s*)('[^']*'|[^\s&;]+)", r"\1***", text, flags=re.IGNORECASE)
    for name in {e for engine in SOURCE_ENGINES for e in password_envs(engine)}:
        secret = os.environ.get(name)
        if secret:
            text = text.replace(secret, "***")
    return text
