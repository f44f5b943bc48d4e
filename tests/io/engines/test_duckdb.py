"""DuckDB engine: Parquet files and .duckdb tables give the same summaries as the Polars path."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from engine_helpers import assert_same_summary, reference, unit_rows, write_catalog, write_source

from nsexp.cli import main
from nsexp.io import load_dataset

duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    """The seeded unit-level rows."""
    return unit_rows()


def _parts(root: Path, rows: pl.DataFrame) -> Path:
    parts = root / "parts"
    parts.mkdir(parents=True)
    rows.head(2000).write_parquet(parts / "a.parquet")
    rows.tail(4000).write_parquet(parts / "b.parquet")
    return parts


def test_duckdb_parquet_directory_equals_polars(tmp_path: Path, rows: pl.DataFrame) -> None:
    root = tmp_path / "d"
    write_catalog(root)
    _parts(root, rows)
    write_source(root, engine="duckdb", path="parts")
    got = load_dataset(root)
    assert_same_summary(got, reference(tmp_path, rows))
    lessons = got.summary.filter(pl.col("metric") == "lessons")
    assert lessons["n"].sum() == 6000
    assert lessons["sum"].sum() == pytest.approx(rows["lessons"].sum(), rel=1e-12)


def test_duckdb_database_table_equals_polars(tmp_path: Path, rows: pl.DataFrame) -> None:
    root = tmp_path / "d"
    write_catalog(root)
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA analytics")
    con.execute("CREATE TABLE analytics.events AS SELECT * FROM rows")
    con.close()
    write_source(
        root,
        engine="duckdb",
        database="warehouse.duckdb",
        table="analytics.events",
        experiments=["exp_a"],
    )
    got = load_dataset(root)
    assert list(got.experiments) == ["exp_a"]
    assert_same_summary(got, reference(tmp_path, rows.filter(pl.col("experiment") == "exp_a")))


def test_duckdb_reads_a_summary_table(tmp_path: Path, rows: pl.DataFrame) -> None:
    want = reference(tmp_path, rows)
    root = tmp_path / "d"
    write_catalog(root, columns={})
    con = duckdb.connect(str(root / "w.duckdb"))
    summary = want.summary.drop_nulls("date")  # noqa: F841 - read by DuckDB's replacement scan
    con.execute("CREATE TABLE summary AS SELECT * FROM summary")
    con.close()
    write_source(root, engine="duckdb", database="w.duckdb", table="summary")
    got = load_dataset(root)
    order = ["experiment", "metric", "variant", "date"]
    assert got.summary.sort(order).equals(want.summary.sort(order))


def _error(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_duckdb_bad_sources_are_one_line_errors(
    tmp_path: Path, rows: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "d"
    write_catalog(root)
    _parts(root, rows)
    write_source(root, engine="duckdb", path="nowhere/*.parquet")
    assert "duckdb cannot read path" in _error(root, capsys)
    write_source(root, engine="duckdb", database="missing.duckdb", table="t")
    assert "no DuckDB database at" in _error(root, capsys)
    duckdb.connect(str(root / "w.duckdb")).close()
    write_source(root, engine="duckdb", database="w.duckdb", table="events")
    err = _error(root, capsys)
    assert "source.toml" in err and "table 'events'" in err
    write_catalog(root, columns={"variant": "group_name", "date": "day"})
    write_source(root, engine="duckdb", path="parts")
    assert "column 'group_name'" in _error(root, capsys)
    write_catalog(root)
    with (root / "metrics.toml").open("a") as f:
        f.write('[metrics.revenue]\nrole = "leading"\ntype = "mean"\n')
    err = _error(root, capsys)
    assert "metric 'revenue' is in the catalog but no data file has it" in err
    write_catalog(root)
    (root / "source.toml").write_text('engine = "duckdb"\npath = "parts"\nurl = "x"\nfoo = 1\n')
    assert "unknown key 'foo'" in _error(root, capsys)
    (root / "source.toml").write_text('engine = "oracle"\n')
    assert "engine = 'oracle' is not a known engine" in _error(root, capsys)


def test_duckdb_text_metric_column_is_one_line_error(
    tmp_path: Path, rows: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "d"
    write_catalog(root)
    (root / "parts").mkdir()
    rows.with_columns(pl.col("lessons").cast(pl.String)).write_parquet(root / "parts" / "a.parquet")
    write_source(root, engine="duckdb", path="parts")
    err = _error(root, capsys)
    assert "column 'lessons'" in err and "reads a text column" in err
