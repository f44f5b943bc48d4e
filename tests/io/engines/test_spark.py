"""Spark engine (local[2]): the same SQL through Spark SQL equals the Polars path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from engine_helpers import (
    assert_large_means_read_right,
    assert_same_summary,
    large_mean_rows,
    reference,
    unit_rows,
    write_catalog,
    write_large_catalog,
    write_source,
)

from nsexp.cli import main
from nsexp.io import load_dataset

pytest.importorskip("pyspark")
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A small local SparkSession (two cores, no UI, two shuffle partitions), tuned to start fast:
    the JVM's quick JIT tier and no whole-stage code generation suit a few tiny queries."""
    from pyspark.sql import SparkSession

    if shutil.which("java") is None:
        message = "Java not found (make test installs Debian's default-jre-headless)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("nsexp-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded rows as two Parquet files in one directory."""
    rows = unit_rows()
    out = tmp_path_factory.mktemp("spark") / "events"
    out.mkdir()
    rows.head(2500).write_parquet(out / "part-0.parquet")
    rows.tail(3500).write_parquet(out / "part-1.parquet")
    return out


def test_spark_parquet_path_equals_polars(tmp_path: Path, spark: Any, parquet_dir: Path) -> None:
    root = tmp_path / "s"
    write_catalog(root)
    write_source(root, engine="spark", path=str(parquet_dir))
    assert_same_summary(load_dataset(root), reference(tmp_path, unit_rows()))


def test_spark_table_with_filter_equals_polars(
    tmp_path: Path, spark: Any, parquet_dir: Path
) -> None:
    spark.read.parquet(str(parquet_dir)).createOrReplaceTempView("events_tbl")
    root = tmp_path / "s"
    write_catalog(root)
    write_source(root, engine="spark", table="events_tbl", experiments=["exp_a"])
    got = load_dataset(root)
    want = reference(tmp_path, unit_rows().filter(pl.col("experiment") == "exp_a"))
    assert list(got.experiments) == ["exp_a"]
    assert_same_summary(got, want)


def test_spark_missing_table_is_one_line_error(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "s"
    write_catalog(root)
    write_source(root, engine="spark", table="no_such_table")
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "source.toml" in err and "'no_such_table'" in err


def test_spark_large_means_keep_their_variance(tmp_path: Path, spark: Any) -> None:
    """Means near 1e6 to 1e8 with tiny spreads (issue 11): Spark's VAR_POP / COVAR_POP of
    pilot-centred values, and the readout equals scipy and statsmodels on the centred units."""
    rows = large_mean_rows(100_000)
    root = tmp_path / "s"
    write_large_catalog(root)
    (root / "parts").mkdir()
    rows.write_parquet(root / "parts" / "big.parquet")
    write_source(root, engine="spark", path=str(root / "parts"))
    assert_large_means_read_right(root, rows)
