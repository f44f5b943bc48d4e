"""Apache Spark: the same SQL through Spark SQL on a catalog table or a Parquet path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlglot import exp

from nsexp.config.source import SourceConfig
from nsexp.errors import InputError
from nsexp.io.engines.base import first_line, optional_module
from nsexp.io.engines.sql import BACKENDS, Backend, subquery_of, table_of

VIEW = "nsexp_source"


def spark_session(master: str | None = None) -> Any:
    """The active SparkSession, or a small new one (local[2] unless `master` says otherwise)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    return (
        SparkSession.builder.master(master or "local[2]")
        .appName("nsexp")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )


class SparkEngine:
    """Spark SQL over `table`, or over the Parquet files at `path` as a temporary view."""

    backend: Backend = BACKENDS["spark"]

    def __init__(self, config: SourceConfig) -> None:
        """Connect to Spark as source.toml says (the driver is an optional extra)."""
        optional_module("pyspark", "spark", config)
        self.config = config
        try:
            self.spark = spark_session(config.url)
        except Exception as exc:
            raise InputError(
                f"cannot start Spark ({first_line(exc)})",
                file=config.file,
                fix="check url (the Spark master) in source.toml and that Java is installed",
            ) from exc

    def relation(self) -> tuple[exp.Expr, dict[str, str]]:
        """The table (or a view over the Parquet path) and its columns with Spark type names."""
        config = self.config
        try:
            source: exp.Expr
            if config.table is not None:
                frame = self.spark.table(config.table)
                source = table_of(config.table)
            elif config.query is not None:
                frame = self.spark.sql(config.query)
                source = subquery_of(config.query, "spark")
            else:
                if config.path is None or not _exists(config.path):
                    raise InputError(
                        f"no Parquet files at {config.path}",
                        file=config.file,
                        fix="check path in source.toml",
                    )
                frame = self.spark.read.parquet(str(config.path))
                frame.createOrReplaceTempView(VIEW)
                source = table_of(VIEW)
        except InputError:
            raise
        except Exception as exc:
            what = f"table {config.table!r}" if config.table else f"path {config.path}"
            raise InputError(
                f"spark cannot read {what} ({first_line(exc)})",
                file=config.file,
                fix="check table / path in source.toml",
            ) from exc
        return source, {f.name: f.dataType.typeName() for f in frame.schema.fields}

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        """Run one Spark SQL query and collect its (small) result."""
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def close(self) -> None:
        """Keep the session: starting Spark is slow, and later reads reuse it."""


def _exists(path: Path) -> bool:
    text = str(path)
    return Path(text).exists() or any(Path(text).parent.glob(Path(text).name))
