"""The sprint review model on the demo, checked against independent computations: the readout of
data truncated by hand for what changed, the tree learned from only the experiments that had
ended for what was learned, and the recorded decisions of the demo's log; and its digests,
Markdown through markdown-it-py (tests/markdown_check.py) and Slack mrkdwn through a check of
Slack's own markup, with planted payloads in every user-text field."""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import shutil
import tomllib
from pathlib import Path

import polars as pl
import pytest
from helpers import DEMO_DATA, copy_demo, write_toml
from markdown_check import assert_clean
from payloads import HOST, PAYLOAD, plant

from nsexp.analysis.readout import Readout, judge
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import Dataset, load_dataset
from nsexp.learning.history import learned_readout
from nsexp.learning.tree import tree_evidence
from nsexp.report.digest import NO_LINKS, slack_escape, to_markdown, to_slack
from nsexp.report.review import DUE, Review, build_review, review_dict
from nsexp.store.decisions import latest

SINCE = dt.date(2026, 10, 18)  # the demo's last review, a week before its newest data
BASE = "https://nsexp.example.com"


@pytest.fixture(scope="module")
def review(demo_dataset: Dataset) -> Review:
    return build_review(demo_dataset, Settings(), SINCE, latest(DEMO_DATA))


@pytest.fixture(scope="module")
def readout(demo_dataset: Dataset) -> Readout:
    """The demo's learned readout now, as the review reads it."""
    return learned_readout(demo_dataset, Settings())


def test_the_json_has_its_sections_from_the_start(review: Review) -> None:
    doc = review_dict(review)
    required = {"schema_version", "since", "north_star", "decisions_due", "changed", "running"}
    assert required | {"learned"} <= set(doc)
    assert doc["schema_version"] == 1 and doc["since"] == "2026-10-18"
    ns = doc["north_star"]
    assert ns["metric"] == "lessons_completed" and ns["health"]
    star = next(t for t in ns["targets"] if t["metric"] == "lessons_completed")
    assert {"delivered", "north_star_predicted", "target", "target_from", "target_by"} <= set(star)
    assert all("north_star_predicted" not in t for t in ns["targets"] if t is not star)


def test_decisions_due_are_open_recommendations_to_act_worst_first(
    review: Review, readout: Readout
) -> None:
    recorded = latest(DEMO_DATA)
    expected = {
        (e.id, t.variant)
        for e in readout.experiments.values()
        for t in e.treatments
        if t.decision is not None
        and t.decision.decision in DUE
        and (e.id, t.variant) not in recorded
        and e.status == "running"
    }
    due = review.decisions_due
    assert {c.key for c in due} == expected
    assert {c.decision for c in due} == set(DUE)  # the demo: one of each kind is due
    order = ["invalid", "north_star_loss", "guardrail_breach", "north_star_win", "leading_win"]
    order += ["vanity_only", "flat", "inconclusive"]
    ranks = [order.index(c.verdict) for c in due]
    assert ranks == sorted(ranks)  # worst first
    assert ("push_reminders", "daily") not in {c.key for c in due}  # decided: ship


def test_changed_equals_the_readout_of_data_truncated_by_hand(
    review: Review, readout: Readout, tmp_path: Path
) -> None:
    data = copy_demo(tmp_path / "data")
    for f in data.glob("*.parquet"):
        frame = pl.read_parquet(f).filter(pl.col("date") <= SINCE)
        if frame.height:
            frame.write_parquet(f)
        else:
            f.unlink()
    for f in data.glob("*.csv"):
        frame = pl.read_csv(f, try_parse_dates=True)
        if "date" in frame.columns:
            frame.filter(pl.col("date") <= SINCE).write_csv(f)
    then = learned_readout(load_dataset(data), Settings())
    now = readout
    expected = set()
    for e in then.experiments.values():
        for t in e.treatments:
            n = now.experiments[e.id].treatment(t.variant)
            assert t.decision is not None and n.decision is not None
            if (t.verdict, t.decision.decision) != (n.verdict, n.decision.decision):
                expected.add((e.id, t.variant, t.verdict, n.verdict))
    got = {
        (c.now.experiment, c.now.variant, c.before.verdict, c.now.verdict) for c in review.changed
    }
    assert got == expected
    # the demo's story: Streak Society read vanity only at the last review, a leading win now
    assert ("streak_society", "club", "vanity_only", "leading_win") in got


def test_running_says_the_days_left_to_read_the_north_star(
    review: Review, readout: Readout
) -> None:
    assert review.running
    for c in review.running:
        assert c.decision == "keep_running"
        days = readout.experiments[c.experiment].treatment(c.variant).north_star.days_needed
        assert days is not None and c.days_left == math.ceil(days)


def _past_only(data: Path) -> Path:
    """A directory for the demo's past experiments (undated summary rows): the demo's catalogs
    without the metric only this autumn's experiments measure."""
    data.mkdir()
    shutil.copy(DEMO_DATA / "experiments.toml", data / "experiments.toml")
    metrics = tomllib.loads((DEMO_DATA / "metrics.toml").read_text(encoding="utf-8"))
    metrics["metrics"].pop("first_day_lesson")
    write_toml(data / "metrics.toml", metrics)
    return data


def test_learned_equals_the_tree_of_only_the_experiments_ended_by_then(
    demo_dataset: Dataset, tmp_path: Path
) -> None:
    since = dt.date(2025, 3, 1)
    dataset = demo_dataset
    review = build_review(dataset, Settings(), since)
    ended = [
        eid
        for eid, e in dataset.experiments.items()
        if e.info.status == "concluded"
        and e.info.end
        and dt.date.fromisoformat(e.info.end) <= since
    ]
    assert 0 < len(ended) < len(dataset.experiments)
    data = _past_only(tmp_path / "ended")
    past = pl.read_csv(DEMO_DATA / "past_experiments.csv")
    past.filter(pl.col("experiment").is_in(ended)).write_csv(data / "past.csv")
    before = tree_evidence(judge(load_dataset(data), Settings()))
    now = tree_evidence(judge(dataset, Settings()))
    expected = {
        (e.child, e.parent, b.label, e.label)
        for e in now.edges
        if (b := before.edge(e.child, e.parent)) is not None and b.label != e.label
    }
    assert {(x.child, x.parent, x.before, x.now) for x in review.learned} == expected
    assert expected  # some edge was still too_few then


def test_recorded_decisions_count_and_one_against_the_recommendation_shows(review: Review) -> None:
    decided = {d.comparison.key: d for d in review.decided}
    assert decided[("ai_tutor_beta", "ai_tutor")].differs  # the demo's decision against it
    star = next(p for p in review.targets if p.metric.role == "north_star")
    assert ("ai_tutor_beta", "ai_tutor") in star.shipped  # shipped by recorded decision
    assert ("push_reminders", "three_a_day") not in star.shipped  # rolled back
    assert star.recorded == 2


def test_since_after_the_data_and_undated_data_are_refused(
    demo_dataset: Dataset, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="after the newest data"):
        build_review(demo_dataset, Settings(), dt.date(2027, 1, 1))
    undated = _past_only(tmp_path / "undated")
    shutil.copy(DEMO_DATA / "past_experiments.csv", undated / "past_experiments.csv")
    with pytest.raises(InputError, match="no date column"):
        build_review(load_dataset(undated), Settings())


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Review:
    data, _ = plant(tmp_path_factory.mktemp("planted") / "data")
    return build_review(load_dataset(data), Settings(), SINCE, latest(data))


def _user_texts(review: Review) -> list[str]:
    """Every piece of user text the digest shows (whole sentences that quote labels too)."""
    from nsexp.report.review import progress_line

    out = [review.north_star, review.health]
    out += [progress_line(p) for p in review.targets]
    out += [p.metric.owner for p in review.targets]
    for c in review.decisions_due:
        out += [c.name, c.variant, c.reason]
    comparisons = [*review.running, *(c.now for c in review.changed)]
    comparisons += [d.comparison for d in review.decided]
    for c in comparisons:
        out += [c.name, c.variant]
    out += [d.by for d in review.decided]
    out += [x for e in review.learned for x in (e.child_label, e.parent_label)]
    return out


def test_markdown_digest_renders_clean_with_planted_payloads(planted: Review) -> None:
    md = to_markdown(planted, BASE)
    assert PAYLOAD.split()[0] not in md  # the image's Markdown never reaches the digest as is
    links = {m.group(1) for m in re.finditer(r"\]\((https://nsexp\.example\.com/[^)]*)\)", md)}
    assert links and all(link.startswith(f"{BASE}/readout?") for link in links)
    assert_clean(md, _user_texts(planted), links=links)
    plain = to_markdown(planted)
    assert NO_LINKS in plain and "](" not in plain


def _check_mrkdwn(text: str, base: str | None) -> None:
    """Slack's markup in `text`: every <...> is one of our readout links, every & an entity,
    no mention, and no link Slack would make of the data's text."""
    for m in re.finditer(r"<([^>]*)>", text):
        assert base is not None and m.group(1).startswith(f"{base}/readout?"), m.group(0)
        assert m.group(1).endswith("|readout")
    bare = re.sub(r"<[^>]*>", "", text)
    assert not re.search(r"&(?!amp;|lt;|gt;)", bare), "a raw & in the digest"
    assert not re.search(r"(?i)@(channel|here|everyone)\b", bare), "a live mention"
    assert not re.search(rf"(?i)https?:(?!\u2060)|www\.{HOST}", bare), "a link from the data"


def test_slack_digest_keeps_user_text_inert(planted: Review) -> None:
    text = to_slack(planted, BASE)
    _check_mrkdwn(text, BASE)
    shown = html.unescape(text).replace("\u2060", "")
    for t in _user_texts(planted):
        assert " ".join(t.split()) in shown
    _check_mrkdwn(to_slack(planted), None)
    assert NO_LINKS in to_slack(planted)


def test_slack_escape_breaks_mentions_links_and_markup() -> None:
    got = slack_escape("<!channel> @here *bold* _it_ ~s~ `c` http://x.invalid & www.x.invalid")
    assert "<" not in got and ">" not in got and "&lt;!channel&gt;" in got
    for live in ("@here", "*bold*", "_it_", "~s~", "`c`", "http:", "www."):
        assert live not in got
    assert "&amp;" in got
