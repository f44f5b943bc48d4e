"""The Data page over a warehouse source: which source, when it was read, the newest date, and
a Refresh that reads the source again (the cache otherwise keeps it for its TTL)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from app_helpers import unescape
from engine_helpers import uncapped_metrics, unit_rows, write_catalog, write_source
from helpers import APP_FILE
from streamlit.testing.v1 import AppTest


def _caption(at: AppTest) -> str:
    return unescape(next(c.value for c in at.caption if c.value.startswith("Source:")))


def test_data_page_names_the_source_and_refresh_reads_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = unit_rows(n=400)
    database = tmp_path / "warehouse.sqlite"  # outside the data directory: its stamp stays
    con = sqlite3.connect(database)
    con.execute(f"CREATE TABLE events ({', '.join(rows.columns)})")
    values = [
        tuple(v.isoformat() if hasattr(v, "isoformat") else v for v in r) for r in rows.iter_rows()
    ]
    con.executemany(f"INSERT INTO events VALUES ({', '.join('?' * len(rows.columns))})", values)
    con.commit()
    data = tmp_path / "data"
    write_catalog(data, metrics=uncapped_metrics())
    write_source(data, engine="sqlite", database=str(database), table="events")
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    at = AppTest.from_file(str(APP_FILE), default_timeout=60)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception and not at.error
    newest = max(rows["day"]).isoformat()
    first = _caption(at)
    assert f"Source: sqlite {database} table events" in first
    assert f"newest date {newest}" in first and "kept 60 min" in first
    later = (max(rows["day"]) + dt.timedelta(days=3)).isoformat()
    con.execute("UPDATE events SET day = ? WHERE unit_id = 0", (later,))
    con.commit()
    con.close()
    at.run()
    assert f"newest date {newest}" in _caption(at)  # cached: the source is not read again
    next(b for b in at.button if b.label == "Refresh").click().run()
    assert not at.exception
    assert f"newest date {later}" in _caption(at)
