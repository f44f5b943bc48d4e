"""The Review page in AppTest: the North Star's targets first, the review's sections as the
model has them, `?since=` in the URL (a bad one warned about, not a traceback), and the digest
in copyable code blocks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from helpers import AppOpener, make_units, write_frame, write_metrics

from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.report.review import Review, build_review
from nsexp.store.decisions import latest

PAGE = "pages/review.py"


def _review(data: Path, since: dt.date | None = None) -> Review:
    return build_review(load_dataset(data), Settings(), since, latest(data))


def test_review_page_shows_the_model_since_the_default_date(
    open_app: AppOpener, demo_copy: Path
) -> None:
    at = open_app(PAGE)
    assert not at.exception and not at.warning and not at.error
    expected = _review(demo_copy)
    assert at.title[0].value == f"Sprint review: {expected.north_star}"
    assert at.date_input[0].value == expected.since
    assert "since" not in at.query_params  # the default leaves the URL clean
    subheaders = [h.value for h in at.subheader]
    assert subheaders[0] == "North Star"
    assert f"Decisions due ({len(expected.decisions_due)})" in subheaders
    targets = at.dataframe[0].value
    assert list(targets["Metric"]) == [p.metric.label for p in expected.targets]
    assert list(targets["Team"]) == sorted(targets["Team"])  # grouped by owner team
    due = at.dataframe[1].value
    assert list(due["Treatment"]) == [c.variant for c in expected.decisions_due]
    assert {"Ship", "Roll back", "Stop", "Iterate", "Fix the data"} <= set(due["Recommended"])
    codes = [c.value for c in at.code]
    assert codes[0].startswith("### Sprint review: Lessons completed since ")
    assert codes[1].startswith("*Sprint review: Lessons completed since ")


def test_since_in_the_link_reopens_the_review_and_shows_the_changed_verdict(
    open_app: AppOpener, demo_copy: Path
) -> None:
    at = open_app(PAGE, {"since": "2026-10-18"})
    assert not at.exception and not at.warning
    assert at.date_input[0].value == dt.date(2026, 10, 18)
    expected = _review(demo_copy, dt.date(2026, 10, 18))
    assert expected.changed  # the demo's story: Streak Society changed since that review
    title = f"Changed since 2026-10-18 ({len(expected.changed)})"
    assert title in [h.value for h in at.subheader]
    changed = next(d.value for d in at.dataframe if "Before" in d.value.columns)
    assert list(changed["Treatment"]) == [ch.now.variant for ch in expected.changed]


def test_a_bad_since_is_warned_about_and_dropped(open_app: AppOpener) -> None:
    for bad in ("yesterday", "2031-01-01"):
        at = open_app(PAGE, {"since": bad})
        assert not at.exception
        assert len(at.warning) == 1 and "since" in at.warning[0].value
        assert "since" not in at.query_params


def test_changing_the_date_writes_it_to_the_url(open_app: AppOpener) -> None:
    at = open_app(PAGE)
    at.date_input[0].set_value(dt.date(2026, 10, 18)).run()
    assert not at.exception
    assert at.query_params["since"] == "2026-10-18"


def test_short_data_opens_with_the_default_before_its_first_date(
    open_app: AppOpener, tmp_path: Path
) -> None:
    data = tmp_path / "short"
    data.mkdir()
    write_frame(make_units(5, {"control": 400, "treatment": 400}, days=5), data / "checkout.csv")
    write_metrics(data)
    at = open_app(PAGE, data=data)
    assert not at.exception and not at.error
    expected = _review(data)
    assert at.date_input[0].value == expected.since == dt.date(2026, 3, 5) - dt.timedelta(14)
    assert not expected.changed  # nothing to compare with before the data began
    assert "No metric has a target" in " ".join(c.value for c in at.caption)
