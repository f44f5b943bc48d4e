"""PostgreSQL engine: a real server on loopback gives the same summaries as the Polars path."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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

psycopg = pytest.importorskip("psycopg")

PASSWORD = "s3cret-Pg-pass"
USER = "nsexp"


@dataclass(frozen=True)
class Server:
    """A throwaway PostgreSQL cluster listening on 127.0.0.1."""

    port: int

    @property
    def url(self) -> str:
        """Connection URL without the password (it comes from the environment)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def connect(self) -> psycopg.Connection:
        """An autocommit connection with the password."""
        return psycopg.connect(self.url, password=PASSWORD, autocommit=True)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Server]:
    """initdb + pg_ctl start a cluster in a temp dir (as user postgres when we are root)."""
    bindir = _bin_dir()
    if bindir is None:
        message = "PostgreSQL server binaries not found (make test installs Debian's postgresql)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="nsexp-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if prefix:
        os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
    data, port = base / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        USER,
        "--pwfile",
        str(pwfile),
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--no-sync",
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(base / "log"),
        "-w",
        "start",
    )
    try:
        yield Server(port)
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def rows() -> pl.DataFrame:
    """The seeded unit-level rows every engine test reads."""
    return unit_rows()


@pytest.fixture(scope="session")
def pg_table(pg_server: Server, rows: pl.DataFrame) -> str:
    """The rows loaded into table analytics.events, with native boolean, date and int types."""
    with pg_server.connect() as con:
        con.execute("CREATE SCHEMA analytics")
        con.execute(
            "CREATE TABLE analytics.events (unit_id bigint, experiment text, arm text, day date, "
            "lessons double precision, pre_lessons double precision, retained boolean, "
            "minutes double precision, sessions numeric, clicks double precision, errors integer)"
        )
        with con.cursor() as cur, cur.copy("COPY analytics.events FROM STDIN") as copy:
            for row in rows.iter_rows():
                copy.write_row(row)
    return "analytics.events"


@pytest.fixture
def pg_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The password only in the environment."""
    monkeypatch.setenv("NSEXP_PG_PASSWORD", PASSWORD)
    monkeypatch.delenv("PGPASSWORD", raising=False)


def _root(tmp_path: Path, server: Server, **keys: object) -> Path:
    root = tmp_path / "pg"
    write_catalog(root)
    write_source(root, **{"engine": "postgres", "url": server.url, **keys})
    return root


def test_postgres_summary_equals_polars(
    tmp_path: Path, pg_server: Server, pg_table: str, rows: pl.DataFrame, pg_env: None
) -> None:
    root = _root(tmp_path, pg_server, table=pg_table)
    got = load_dataset(root)
    assert_same_summary(got, reference(tmp_path, rows))
    assert got.summary["experiment"].unique().sort().to_list() == ["exp_a", "exp_b"]
    assert got.has_dates


def test_postgres_experiment_filter_is_pushed_down(
    tmp_path: Path, pg_server: Server, pg_table: str, rows: pl.DataFrame, pg_env: None
) -> None:
    root = _root(tmp_path, pg_server, table=pg_table, experiments=["exp_b"])
    got = load_dataset(root)
    want = reference(tmp_path, rows.filter(pl.col("experiment") == "exp_b"))
    assert list(got.experiments) == ["exp_b"]
    assert_same_summary(got, want)


def test_postgres_password_from_pgpassword(
    tmp_path: Path, pg_server: Server, pg_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NSEXP_PG_PASSWORD", raising=False)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    got = load_dataset(_root(tmp_path, pg_server, table=pg_table))
    assert got.summary.filter(pl.col("metric") == "lessons")["n"].sum() == 6000


def _cli_error(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["readout", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err and PASSWORD not in err
    return err


def test_postgres_missing_table_is_one_line_error(
    tmp_path: Path, pg_server: Server, pg_table: str, pg_env: None, capsys: pytest.CaptureFixture
) -> None:
    err = _cli_error(_root(tmp_path, pg_server, table="analytics.nope"), capsys)
    assert "source.toml" in err and "'analytics.nope'" in err and "check table" in err


def test_postgres_wrong_column_is_one_line_error(
    tmp_path: Path, pg_server: Server, pg_table: str, pg_env: None, capsys: pytest.CaptureFixture
) -> None:
    root = _root(tmp_path, pg_server, table=pg_table)
    with (root / "source.toml").open("a") as f:
        f.write('[columns]\nvariant = "group_name"\n')
    err = _cli_error(root, capsys)
    assert "column 'group_name'" in err and "no variant column" in err


def test_postgres_bad_url_and_wrong_password_never_show_it(
    tmp_path: Path,
    pg_server: Server,
    pg_table: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    monkeypatch.setenv("NSEXP_PG_PASSWORD", PASSWORD)
    closed = f"postgresql://{USER}@127.0.0.1:{_free_port()}/postgres"
    err = _cli_error(_root(tmp_path, pg_server, table=pg_table, url=closed), capsys)
    assert "cannot connect to postgres" in err and "127.0.0.1" in err
    monkeypatch.setenv("NSEXP_PG_PASSWORD", "wrong-" + PASSWORD)
    err = _cli_error(_root(tmp_path, pg_server, table=pg_table), capsys)
    assert "cannot connect" in err and "password" in err and "wrong-" not in err
    in_url = pg_server.url.replace(f"{USER}@", f"{USER}:{PASSWORD}@")
    err = _cli_error(_root(tmp_path, pg_server, table=pg_table, url=in_url), capsys)
    assert "carries a password" in err and "***" in err


def test_postgres_large_means_keep_their_variance(
    tmp_path: Path, pg_server: Server, pg_env: None
) -> None:
    """Means near 1e6 to 1e8 with tiny spreads (issue 11): VAR_POP / COVAR_POP of pilot-centred
    values on the server, and the readout equals scipy and statsmodels on the centred units."""
    rows = large_mean_rows(100_000)
    with pg_server.connect() as con:
        con.execute(
            "CREATE TABLE big_events (experiment text, arm text, value double precision, "
            "stamp double precision, pre_stamp double precision, amount double precision, "
            "items integer)"
        )
        with con.cursor() as cur, cur.copy("COPY big_events FROM STDIN") as copy:
            for row in rows.iter_rows():
                copy.write_row(row)
    root = tmp_path / "pg"
    write_large_catalog(root)
    write_source(root, engine="postgres", url=pg_server.url, table="big_events")
    assert_large_means_read_right(root, rows)
