"""`nsexp sql`: the printed query, run by a real engine over unit rows, gives summary rows that
nsexp reads back to the Polars path's figures (to 1e-9, a 1e9 offset included)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
from engine_helpers import offset_rows, reference, uncapped_metrics, unit_rows, write_catalog
from polars.testing import assert_frame_equal

from nsexp.cli import main
from nsexp.io import load_dataset
from nsexp.io.moments import FLAGS, centred


def _sql(root: Path, dialect: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["sql", str(root), "--dialect", dialect]) == 0
    return capsys.readouterr().out


def _assert_reads_back(tmp_path: Path, summary: pl.DataFrame, rows: pl.DataFrame, metrics) -> None:
    back = tmp_path / "back"
    write_catalog(back, metrics=metrics)
    summary.write_parquet(back / "summary.parquet")
    got, want = load_dataset(back), reference(tmp_path, rows, metrics)
    order = ["experiment", "metric", "variant", "date"]
    drop = list(FLAGS.values())
    assert_frame_equal(
        centred(got.summary).drop(drop).sort(order),
        centred(want.summary).drop(drop).sort(order),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_duckdb_runs_the_printed_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], offset: float
) -> None:
    duckdb = pytest.importorskip("duckdb")
    rows = offset_rows(unit_rows(n=3000), offset)
    root = tmp_path / "d"
    write_catalog(root)
    sql = _sql(root, "duckdb", capsys)
    con = duckdb.connect()
    con.register("events", rows.to_arrow())
    summary = con.sql(sql).pl()
    assert {"experiment", "variant", "date", "metric", "n", "dev_sum_cu"} <= set(summary.columns)
    _assert_reads_back(tmp_path, summary, rows, None)


def test_sqlite_runs_the_printed_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = unit_rows(n=3000)
    root = tmp_path / "s"
    write_catalog(root, metrics=uncapped_metrics())
    sql = _sql(root, "sqlite", capsys)
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE TABLE events ({', '.join(rows.columns)})")
    values = [
        tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in r) for r in rows.iter_rows()
    ]
    con.executemany(f"INSERT INTO events VALUES ({', '.join('?' * len(rows.columns))})", values)
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    summary = pl.DataFrame(cur.fetchall(), schema=names, orient="row", infer_schema_length=None)
    _assert_reads_back(tmp_path, summary, rows, uncapped_metrics())


def test_polars_and_unknown_dialects_are_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_catalog(tmp_path)
    for dialect in ("polars", "oracle"):
        assert main(["sql", str(tmp_path), "--dialect", dialect]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: --dialect {dialect} is not")
    assert main(["sql", str(tmp_path), "--dialect", "sqlite"]) == 2  # clicks is capped
    assert "cap_quantile is not supported on sqlite" in capsys.readouterr().err
