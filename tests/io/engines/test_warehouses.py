"""SQLite, MariaDB (mysql) and ClickHouse SQL (chDB): the one sqlglot statement, run by each
backend's own driver, gives the Polars path's summary to 1e-9, a 1e9 offset included."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from engine_helpers import (
    assert_same_summary,
    offset_rows,
    reference,
    uncapped_metrics,
    unit_rows,
    write_catalog,
    write_source,
)

from nsexp.cli import main
from nsexp.io import load_dataset

PASSWORD = "s3cret-My-pass"
USER = "nsexp"


def _sqlite_source(root: Path, rows: pl.DataFrame, **keys: Any) -> None:
    """The rows in a SQLite file (dates as ISO text, booleans as 0/1: SQLite's own forms)."""
    con = sqlite3.connect(root / "warehouse.sqlite")
    names = rows.columns
    con.execute(f"CREATE TABLE events ({', '.join(names)})")
    values = [
        tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in row)
        for row in rows.iter_rows()
    ]
    con.executemany(f"INSERT INTO events VALUES ({', '.join('?' for _ in names)})", values)
    con.commit()
    con.close()
    write_source(root, engine="sqlite", database="warehouse.sqlite", **keys)


def _chdb_source(root: Path, rows: pl.DataFrame, **keys: Any) -> None:
    rows.write_parquet(root / "events.parquet")
    write_source(root, engine="clickhouse", path=str(root / "events.parquet"), **keys)


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    """The seeded unit-level rows."""
    return unit_rows()


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_sqlite_summary_equals_polars(tmp_path: Path, rows: pl.DataFrame, offset: float) -> None:
    data = offset_rows(rows, offset)
    root = tmp_path / "s"
    write_catalog(root, metrics=uncapped_metrics())
    _sqlite_source(root, data, table="events")
    got = load_dataset(root)
    assert_same_summary(got, reference(tmp_path, data, uncapped_metrics()))
    assert got.has_dates


def test_sqlite_query_with_filter_equals_polars(tmp_path: Path, rows: pl.DataFrame) -> None:
    root = tmp_path / "s"
    write_catalog(root, metrics=uncapped_metrics())
    _sqlite_source(
        root, rows, query="SELECT * FROM events WHERE lessons IS NOT NULL", experiments=["exp_b"]
    )
    got = load_dataset(root)
    assert list(got.experiments) == ["exp_b"]
    want = reference(tmp_path, rows.filter(pl.col("experiment") == "exp_b"), uncapped_metrics())
    assert_same_summary(got, want)


def test_sqlite_cap_quantile_is_one_error_line(
    tmp_path: Path, rows: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "s"
    write_catalog(root)  # clicks has cap_quantile = 0.99
    _sqlite_source(root, rows.head(50), table="events")
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: cap_quantile is not supported on sqlite; ")


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_chdb_summary_equals_polars(tmp_path: Path, rows: pl.DataFrame, offset: float) -> None:
    pytest.importorskip("chdb")
    data = offset_rows(rows, offset)
    root = tmp_path / "c"
    write_catalog(root)  # ClickHouse has an exact quantile: clicks stays capped
    _chdb_source(root, data, experiments=["exp_a", "exp_b"])
    assert_same_summary(load_dataset(root), reference(tmp_path, data))


def test_missing_driver_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pymssql", None)  # importing it now raises ImportError
    root = tmp_path / "m"
    write_catalog(root)
    write_source(root, engine="mssql", url="mssql://ann@db.example:1433/x", table="events")
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'nsexp[mssql]'" in err


# --- MariaDB (Debian's mariadb-server), started in a temporary directory ----------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mariadb() -> Iterator[str]:
    """A throwaway MariaDB on 127.0.0.1 with user nsexp (password PASSWORD): its url."""
    pymysql = pytest.importorskip("pymysql")
    server, install = (
        shutil.which("mariadbd", path="/usr/sbin:/usr/bin"),
        shutil.which("mariadb-install-db"),
    )
    if server is None or install is None:
        message = "MariaDB server not found (make test installs Debian's mariadb-server)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="nsexp-my-"))
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if user:
        owner = pwd.getpwnam("mysql")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, sock, port = base / "data", base / "sock", _free_port()
    subprocess.run(
        [install, f"--datadir={data}", "--auth-root-authentication-method=socket", *user],
        check=True,
        capture_output=True,
        timeout=180,
    )
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--pid-file={base / 'pid'}",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            *user,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        con = pymysql.connect(unix_socket=str(sock), user="root")
        with con.cursor() as cur:
            cur.execute("CREATE DATABASE analytics")
            cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL ON analytics.* TO '{USER}'@'127.0.0.1'")
        con.close()
        yield f"mysql://{USER}@127.0.0.1:{port}/analytics"
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def _mysql_table(url: str, name: str, rows: pl.DataFrame) -> None:
    """The rows in analytics.<name>, with MariaDB's own types (BOOLEAN is TINYINT)."""
    import pymysql

    port = int(url.rsplit(":", 1)[1].split("/")[0])
    con = pymysql.connect(host="127.0.0.1", port=port, user=USER, password=PASSWORD)
    with con.cursor() as cur:
        cur.execute(
            f"CREATE TABLE analytics.{name} (unit_id BIGINT, experiment VARCHAR(20), "
            "arm VARCHAR(20), day DATE, lessons DOUBLE, pre_lessons DOUBLE, retained BOOLEAN, "
            "minutes DOUBLE, sessions DECIMAL(10, 1), clicks DOUBLE, errors INT)"
        )
        cur.executemany(
            f"INSERT INTO analytics.{name} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            list(rows.iter_rows()),
        )
    con.commit()
    con.close()


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_mariadb_summary_equals_polars(
    tmp_path: Path,
    rows: pl.DataFrame,
    mariadb: str,
    offset: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = offset_rows(rows, offset)
    table = f"events_{int(offset)}"
    _mysql_table(mariadb, table, data)
    monkeypatch.setenv("NSEXP_MYSQL_PASSWORD", PASSWORD)
    root = tmp_path / "m"
    write_catalog(root, metrics=uncapped_metrics())
    write_source(root, engine="mysql", url=mariadb, table=f"analytics.{table}")
    assert_same_summary(load_dataset(root), reference(tmp_path, data, uncapped_metrics()))


def test_mariadb_wrong_password_is_one_line_without_it(
    tmp_path: Path, mariadb: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("NSEXP_MYSQL_PASSWORD", "wrong-" + PASSWORD)
    root = tmp_path / "m"
    write_catalog(root, metrics=uncapped_metrics())
    write_source(root, engine="mysql", url=mariadb, table="analytics.events_0")
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert PASSWORD not in err and "NSEXP_MYSQL_PASSWORD" in err
