"""source.toml holds no credentials: every form of password is refused, and what is shown of a
connection string never carries any part of its userinfo."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CliRunner, write_metrics

from nsexp.config.source import carries_password, parse_source, redact
from nsexp.errors import InputError

SECRET_URLS = {
    "userinfo with / and @": "postgresql://analyst:hun@ter/2xyz@warehouse/db",
    "plain userinfo": "postgresql://analyst:hunter2@warehouse:5432/db",
    "empty password": "postgresql://analyst:@warehouse/db",
    "query password": "postgresql://analyst@warehouse/db?password=hunter2",
    "query after another key": "postgresql://warehouse/db?sslmode=require&password=hunter2",
    "ssl key password": "postgresql://warehouse/db?sslpassword=hunter2",
    "key=value DSN": "host=warehouse dbname=db user=analyst password=hunter2",
    "quoted DSN value": "host=warehouse password='hun ter2' dbname=db",
    "upper case key": "host=warehouse PASSWORD=hunter2",
}
SAFE_URLS = (
    "postgresql://analyst@warehouse:5432/product",
    "postgresql://warehouse/product?sslmode=require&application_name=nsexp",
    "host=warehouse dbname=product user=analyst",
    "postgresql://warehouse/product?passfile=/etc/nsexp/pgpass",
)
FRAGMENTS = ("hun", "ter2", "2xyz", "hunter2")


@pytest.mark.parametrize("url", list(SECRET_URLS.values()), ids=list(SECRET_URLS))
def test_any_password_in_source_toml_is_refused(tmp_path: Path, url: str) -> None:
    assert carries_password(url)
    with pytest.raises(InputError) as refused:
        parse_source({"engine": "postgres", "url": url, "table": "t"}, root=tmp_path)
    message = refused.value.message
    assert "carries a password; source.toml may not hold one" in message
    assert "NSEXP_PG_PASSWORD" in message and "PGPASSWORD" in message
    for fragment in FRAGMENTS:
        assert fragment not in message, (fragment, message)


@pytest.mark.parametrize("url", SAFE_URLS)
def test_urls_without_a_password_are_accepted(tmp_path: Path, url: str) -> None:
    assert not carries_password(url)
    config = parse_source({"engine": "postgres", "url": url, "table": "t"}, root=tmp_path)
    if "://" in url:
        assert "analyst" not in config.describe()  # the whole userinfo is redacted


@pytest.mark.parametrize("url", list(SECRET_URLS.values()), ids=list(SECRET_URLS))
def test_redact_leaves_no_part_of_a_password(url: str) -> None:
    shown = redact(url)
    for fragment in FRAGMENTS:
        assert fragment not in shown, (fragment, shown)
    assert "***" in shown


def test_the_issue_case_shows_only_the_host() -> None:
    assert redact("postgresql://analyst:hun@ter/2xyz@host/db") == "postgresql://***@host/db"


def test_the_environment_password_is_redacted_anywhere(monkeypatch) -> None:
    monkeypatch.setenv("NSEXP_PG_PASSWORD", "s3cr3t-from-env")
    assert redact("connection to h failed: s3cr3t-from-env rejected") == (
        "connection to h failed: *** rejected"
    )


def test_cli_refuses_a_password_in_one_line(tmp_path: Path, run_cli: CliRunner) -> None:
    write_metrics(tmp_path)
    url = SECRET_URLS["userinfo with / and @"]
    (tmp_path / "source.toml").write_text(f'engine = "postgres"\nurl = "{url}"\ntable = "t"\n')
    code, out, err = run_cli("readout", tmp_path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "source.toml" in err
    for fragment in FRAGMENTS:
        assert fragment not in err


# --- issue 22: every backend ------------------------------------------------------------------

WAREHOUSE_URLS = {
    "snowflake": "snowflake://ann:hunter2@acct/db/schema",
    "mysql": "mysql://ann:hunter2@db:3306/x",
    "trino": "trino://ann@host:8080/hive/web?password=hunter2",
    "mssql": "mssql://ann:hunter2@db:1433/x",
}


@pytest.mark.parametrize("engine", list(WAREHOUSE_URLS))
def test_every_backend_refuses_a_password_in_its_url(tmp_path: Path, engine: str) -> None:
    raw = {"engine": engine, "url": WAREHOUSE_URLS[engine], "table": "t"}
    with pytest.raises(InputError) as err:
        parse_source(raw, root=tmp_path)
    message = err.value.message
    assert "hunter2" not in message and f"NSEXP_{engine.upper()}_PASSWORD" in message


def test_each_backend_needs_its_location_and_one_of_table_or_query(tmp_path: Path) -> None:
    cases = {
        "engine snowflake needs a location": {"engine": "snowflake", "table": "t"},
        "engine sqlite needs a location": {"engine": "sqlite", "table": "t"},
        "engine clickhouse needs a location": {"engine": "clickhouse", "table": "t"},
        "table and query both given": {
            "engine": "mysql",
            "url": "mysql://a@b/c",
            "table": "t",
            "query": "SELECT 1",
        },
    }
    for message, raw in cases.items():
        with pytest.raises(InputError, match=message):
            parse_source(raw, root=tmp_path)
    config = parse_source(
        {"engine": "bigquery", "url": "bigquery://proj/ds", "query": "SELECT * FROM ds.t"},
        root=tmp_path,
    )
    assert (
        config.query == "SELECT * FROM ds.t"
        and config.describe() == "bigquery query at bigquery://proj/ds"
    )


def test_secrets_of_every_engine_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSEXP_DATABRICKS_TOKEN", "dapi-s3cr3t-token")
    assert redact("failed with dapi-s3cr3t-token in it") == "failed with *** in it"
