"""`nsexp sql`: the printed query, run by a real engine over unit rows, gives summary rows that
nsexp reads back to the Polars path's figures (to 1e-9, a 1e9 offset included), the metric
pairs' cross sums too."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from engine_helpers import (
    SOURCE_METRICS,
    offset_rows,
    reference,
    uncapped_metrics,
    unit_rows,
    write_catalog,
)
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
    _assert_same_cross(got.cross, want.cross)
    order = ["experiment", "metric", "variant", "date"]
    drop = list(FLAGS.values())
    assert_frame_equal(
        centred(got.summary).drop(drop).sort(order),
        centred(want.summary).drop(drop).sort(order),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )


def _assert_same_cross(got: pl.DataFrame, units: pl.DataFrame) -> None:
    """The summary's cross rows (value with value) equal the unit-level path's: every mean or
    proportion metric with the North Star (no ratio's parts: a summary cannot carry them)."""
    pair = ["experiment", "variant", "metric", "other"]
    ratios = ["minutes_per_session"]
    values = (pl.col("part") == "num") & (pl.col("other_part") == "num")
    want = units.filter(values & ~pl.col("metric").is_in(ratios) & ~pl.col("other").is_in(ratios))
    assert got.height == want.height > 0
    same = [*pair, "n", "comoment"]
    assert_frame_equal(
        got.sort(pair).select(same), want.sort(pair).select(same), rel_tol=1e-9, abs_tol=1e-6
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


def test_cross_sums_only_over_the_same_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parent's cross sum comes back as numpy's co-moment of the units; where a metric has
    gaps its units differ from the North Star's, so its cross sum is NULL (the covariance is
    then assumed zero, as the tree says) rather than one over other units."""
    duckdb = pytest.importorskip("duckdb")
    rows = unit_rows(n=3000)
    gap = (
        (pl.col("unit_id") % 20 == 0)
        & (pl.col("experiment") == "exp_b")
        & (pl.col("arm") == "treatment")
    )
    rows = rows.with_columns(pl.when(gap).then(None).otherwise(pl.col("clicks")).alias("clicks"))
    metrics = SOURCE_METRICS | {"errors": SOURCE_METRICS["errors"] | {"parent": "retained"}}
    root = tmp_path / "d"
    write_catalog(root, metrics=metrics)
    con = duckdb.connect()
    con.register("events", rows.to_arrow())
    summary = con.sql(_sql(root, "duckdb", capsys)).pl()
    arms = ["experiment", "variant"]
    gaps = rows.group_by("experiment", pl.col("arm").alias("variant"), pl.col("day").alias("date"))
    gaps = gaps.agg(pl.col("clicks").null_count().alias("gaps"))
    clicks = summary.filter(pl.col("metric") == "clicks").join(gaps, on=[*arms, "date"])
    assert clicks.filter(pl.col("ns_cross_dev_sum").is_null() != (pl.col("gaps") > 0)).height == 0
    crossed = summary.filter(pl.col("parent_cross_dev_sum").is_not_null())["metric"].unique()
    assert crossed.to_list() == ["errors"]
    back = tmp_path / "back"
    write_catalog(back, metrics=metrics)
    summary.write_parquet(back / "summary.parquet")
    cross = load_dataset(back).cross
    whole = gaps.group_by(arms).agg(pl.col("gaps").sum() == 0).filter("gaps").drop("gaps")
    clicked = cross.filter(pl.col("metric") == "clicks").select(arms)
    assert clicked.height == 4 and clicked.sort(arms).equals(whole.sort(arms))
    got = cross.filter(pl.col("other") == "retained")
    assert got.height == 5  # exp_a's three arms, exp_b's two
    for row in got.iter_rows(named=True):
        arm = rows.filter(
            (pl.col("experiment") == row["experiment"]) & (pl.col("arm") == row["variant"])
        )
        x, y = arm["errors"].to_numpy().astype(float), arm["retained"].to_numpy().astype(float)
        assert row["n"] == x.size
        assert row["comoment"] == pytest.approx(np.cov(x, y, bias=True)[0, 1] * x.size, rel=1e-9)


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
