"""The decision log: append-only history, the latest entry counts, the recorded-vs-recommended
mark, bounds on user text and size, who may write, concurrent writers and the JSON field."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import polars as pl
import pytest
from helpers import DEMO_DATA

from nsexp.demo.decisions import DEMO_DECISIONS
from nsexp.errors import InputError
from nsexp.report.portfolio import DIFFERS_MARK, with_decided
from nsexp.store import decisions
from nsexp.store.decisions import LOG, latest, may_record, record, with_recorded

AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_entries_are_appended_and_the_latest_counts(tmp_path: Path) -> None:
    record(tmp_path, "exp", "t", "keep_running", by="Ana", recommended="keep_running", at=AT)
    first = (tmp_path / LOG).read_bytes()
    later = AT + dt.timedelta(days=7)
    record(tmp_path, "exp", "t", "ship", note="go", by="Ana", recommended="ship", at=later)
    record(tmp_path, "exp", "u", "stop", by="Ben", recommended="iterate", at=later)
    text = (tmp_path / LOG).read_bytes()
    assert text.startswith(first)  # nothing rewritten, only appended
    assert len(text.splitlines()) == 3
    history = decisions.history(tmp_path)
    assert [r.value for r in history] == ["keep_running", "ship", "stop"]
    now = latest(tmp_path)
    assert now[("exp", "t")].value == "ship" and now[("exp", "t")].at == "2026-03-08T12:00:00Z"
    assert now[("exp", "t")].note == "go" and not now[("exp", "t")].differs
    assert now[("exp", "u")].differs  # stop where iterate was recommended


def test_a_line_is_plain_json_with_the_recommendation(tmp_path: Path) -> None:
    record(tmp_path, "exp", "t", "iterate", note="x", by="Ana", recommended="ship", at=AT)
    line = json.loads((tmp_path / LOG).read_text().splitlines()[0])
    assert line == {
        "schema_version": 1,
        "experiment": "exp",
        "variant": "t",
        "value": "iterate",
        "note": "x",
        "by": "Ana",
        "at": "2026-03-01T12:00:00Z",
        "recommended": "ship",
    }


def test_bad_entries_are_refused_with_one_message(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a decision"):
        record(tmp_path, "exp", "t", "launch", by="Ana")
    with pytest.raises(InputError, match="needs the name"):
        record(tmp_path, "exp", "t", "ship", by="  ")
    with pytest.raises(InputError, match="note is 501 characters"):
        record(tmp_path, "exp", "t", "ship", by="Ana", note="x" * 501)
    with pytest.raises(InputError, match="control characters"):
        record(tmp_path, "exp", "t", "ship", by="Ana\x1b[31m")
    assert not (tmp_path / LOG).exists() or decisions.history(tmp_path) == []


def test_the_log_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decisions, "MAX_LOG_BYTES", 900)
    record(tmp_path, "exp", "t", "ship", by="Ana", note="a" * 200)
    record(tmp_path, "exp", "t", "ship", by="Ana", note="b" * 200)
    size = (tmp_path / LOG).stat().st_size
    with pytest.raises(InputError, match="is full"):
        record(tmp_path, "exp", "t", "stop", by="Ana", note="c" * 200)
    assert (tmp_path / LOG).stat().st_size == size


def test_hand_edited_lines_are_skipped_not_fatal(tmp_path: Path) -> None:
    record(tmp_path, "exp", "t", "ship", by="Ana", at=AT)
    with (tmp_path / LOG).open("a") as f:
        f.write("not json\n[1, 2]\n" + json.dumps({"experiment": "exp", "value": "x"}) + "\n")
    record(tmp_path, "exp", "t", "stop", by="Ana", at=AT)
    assert [r.value for r in decisions.history(tmp_path)] == ["ship", "stop"]


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    def write(i: int) -> None:
        for j in range(20):
            record(tmp_path, f"e{i}", "t", "ship", by=f"writer {i}", note=f"{j:02d}" * 200)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / LOG).read_text().splitlines()
    assert len(lines) == 80 and all(json.loads(line)["value"] == "ship" for line in lines)


def test_who_may_record() -> None:
    ops = ("op@x.org",)
    assert may_record(False, None, None, ops)  # capability mode: whoever holds the link
    assert may_record(False, None, "ana@x.org", ops)
    assert not may_record(True, None, None, ops)  # sign-in configured, not signed in
    assert may_record(True, "ben@x.org", None, ops)  # the bundled data: any signed-in visitor
    assert may_record(True, "ANA@x.org ", "ana@x.org", ops)  # the owner
    assert may_record(True, "op@x.org", "ana@x.org", ops)  # an operator
    assert not may_record(True, "ben@x.org", "ana@x.org", ops)  # someone else's workspace


def test_the_readout_json_carries_recorded_decision(tmp_path: Path) -> None:
    record(tmp_path, "exp", "t", "stop", note="n", by="Ana", at=AT)
    doc = {"experiment": "exp", "comparisons": [{"variant": "t"}, {"variant": "u"}]}
    got = with_recorded(doc, latest(tmp_path))["comparisons"]
    assert got[0]["recorded_decision"] == {
        "value": "stop",
        "note": "n",
        "by": "Ana",
        "at": "2026-03-01T12:00:00Z",
    }
    assert got[1]["recorded_decision"] is None


def test_the_portfolio_marks_a_decision_against_the_recommendation() -> None:
    table = pl.DataFrame(
        {
            "experiment": ["a", "a", "b"],
            "variant": ["t", "u", "t"],
            "decision": ["ship", "stop", "iterate"],
        }
    )
    got = with_decided(table, {("a", "t"): "ship", ("a", "u"): "ship"})
    assert got["decided"].to_list() == ["Ship", f"Ship {DIFFERS_MARK}", ""]


def test_the_demo_ships_a_decision_against_the_recommendation() -> None:
    found = latest(DEMO_DATA)
    assert len(found) >= 4 and len(decisions.history(DEMO_DATA)) == len(DEMO_DECISIONS)
    against = [r for r in found.values() if r.differs]
    assert [(r.experiment, r.value, r.recommended) for r in against] == [
        ("ai_tutor_beta", "ship", "iterate")
    ]
