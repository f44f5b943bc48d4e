"""The review as text: a terminal table, paste-ready Markdown and Slack mrkdwn.

Markdown (GitHub, Confluence, Notion) takes user text (names, variants, owners, labels and the
sentences quoting them) only through md_escape; Slack mrkdwn has no escapes, so its user text
gets `&`, `<` and `>` as entities and a word joiner after what Slack would turn into a mention
or a link ('@', 'http:', 'www.') or into formatting ('*', '_', '~', '`'). Links are built from
the operator's base URL alone, never from the data; without one the digest says links are
unavailable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from nsexp.analysis.decision import DECISION_LABELS
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.errors import InputError
from nsexp.report.review import Comparison, Review, progress_line, readout_query
from nsexp.report.text import aligned, md_escape

BASE_URL_ENV = "NSEXP_BASE_URL"
NO_LINKS = "Links are unavailable: set NSEXP_BASE_URL (or pass --base-url) to the app's address."
_WORD_JOINER = "\u2060"
_SLACK_ACTIVE = re.compile(r"(?i)(?:https?|ftp|mailto)(?=:)|www(?=\.)|[@*_~`]")


def check_base_url(url: str) -> str:
    """The app's address for links: http(s) with a host, without a query (InputError)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise InputError(
            f"base URL {url!r} is not an http(s) address of the app",
            fix="give the address the app is served at, e.g. https://nsexp.example.com",
        )
    return url.rstrip("/")


def readout_link(
    base_url: str | None, query: Mapping[str, str] | None = None
) -> Callable[[Comparison], str] | None:
    """A comparison's readout address under the app's base URL, with `query` (the workspace
    and settings on view) before the comparison (None without a base URL)."""
    if not base_url:
        return None
    base = check_base_url(base_url)
    extra = dict(query or {})
    return lambda c: f"{base}/readout?{urlencode({**extra, **readout_query(c)})}"


def slack_escape(text: str) -> str:
    """User text as inert Slack mrkdwn: one line, `&`, `<`, `>` as entities, and a word joiner
    after anything Slack would make a mention, a link or formatting of."""
    flat = " ".join(str(text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SLACK_ACTIVE.sub(lambda m: m.group(0) + _WORD_JOINER, flat)


@dataclass(frozen=True)
class _Style:
    """How one text format writes a heading, bold text, a link and user text."""

    heading: Callable[[str], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]
    user: Callable[[str], str]


MARKDOWN = _Style(
    heading=lambda t: f"### {t}",
    bold=lambda t: f"**{t}**",
    link=lambda url, t: f"[{t}]({url})",
    user=md_escape,
)
SLACK = _Style(
    heading=lambda t: f"*{t}*",
    bold=lambda t: f"*{t}*",
    link=lambda url, t: f"<{url}|{t}>",
    user=slack_escape,
)


def _comparison(c: Comparison, s: _Style, link: Callable[[Comparison], str] | None) -> str:
    """A comparison's name and variant (user text), with its readout link when there is one."""
    name = f"{s.bold(s.user(c.name))} · {s.user(c.variant)}"
    return f"{name} ({s.link(link(c), 'readout')})" if link else name


def _digest(review: Review, s: _Style, link: Callable[[Comparison], str] | None) -> str:
    """The review in one text format (the Review page's digest)."""
    since = review.since.isoformat()
    lines = [
        s.heading(f"Sprint review: {s.user(review.north_star)} since {since}"),
        "",
        f"Data up to {review.newest.isoformat()}." + ("" if link else f" {NO_LINKS}"),
        "",
        s.heading("North Star"),
        "",
        s.user(review.health),
    ]
    if review.targets:
        lines += ["", s.bold("Targets") + " (by owner team):", ""]
        lines += [
            f"- {s.user(p.metric.owner or '(no owner)')}: {s.user(progress_line(p))}"
            for p in review.targets
        ]
    lines += ["", s.heading(f"Decisions due ({len(review.decisions_due)})"), ""]
    lines += [
        f"- {_comparison(c, s, link)}: {s.bold('Recommended')}: {s.user(c.reason)}"
        for c in review.decisions_due
    ] or ["- None: every comparison that needs a decision has one recorded."]
    lines += ["", s.heading(f"Changed since {since} ({len(review.changed)})"), ""]
    lines += [
        f"- {_comparison(ch.now, s, link)}: {_state(ch.before)} → {s.bold(_state(ch.now))}"
        for ch in review.changed
    ] or ["- No verdict or recommendation changed."]
    lines += ["", s.heading(f"Running ({len(review.running)})"), ""]
    lines += [f"- {_comparison(c, s, link)}: {_days(c)}" for c in review.running] or [
        "- No experiment is still reading."
    ]
    if review.decided:
        lines += ["", s.heading(f"Decided ({len(review.decided)})"), ""]
        lines += [
            f"- {_comparison(d.comparison, s, link)}: decided {s.bold(DECISION_LABELS[d.value])} "
            f"by {s.user(d.by)} on {s.user(d.at[:10])}"
            + (
                f", {s.bold('differs from the recommendation')} "
                f"({DECISION_LABELS[d.comparison.decision]})"
                if d.differs
                else ""
            )
            for d in review.decided
        ]
    lines += ["", s.heading(f"Learned since {since} ({len(review.learned)})"), ""]
    lines += [
        f"- {s.user(e.child_label)} → {s.user(e.parent_label)}: {e.before.replace('_', ' ')} → "
        f"{s.bold(e.now.replace('_', ' '))} ({e.n_now} comparisons, {e.n_before} before)"
        for e in review.learned
    ] or ["- No edge of the tree changed its label."]
    return "\n".join(lines) + "\n"


def _state(c: Comparison) -> str:
    """Verdict and recommendation, for people."""
    return f"{VERDICT_LABELS.get(c.verdict, c.verdict)} / {DECISION_LABELS[c.decision]}"


def _days(c: Comparison) -> str:
    """Days left to read the North Star, in words."""
    if c.days_left is None:
        return "too little traffic to say when the North Star can be read"
    if c.days_left <= 0:
        return "enough units to read the North Star now"
    return f"about {c.days_left} more days to read the North Star at current traffic"


def to_markdown(
    review: Review, base_url: str | None = None, query: Mapping[str, str] | None = None
) -> str:
    """Paste-ready Markdown: user text through md_escape, links only from `base_url` (with
    `query`, the view's workspace and settings)."""
    return _digest(review, MARKDOWN, readout_link(base_url, query))


def to_slack(
    review: Review, base_url: str | None = None, query: Mapping[str, str] | None = None
) -> str:
    """Slack mrkdwn: user text through slack_escape, links only from `base_url` (with
    `query`)."""
    return _digest(review, SLACK, readout_link(base_url, query))


def to_table(review: Review) -> str:
    """The review for a terminal: the North Star, then one table of every listed comparison."""
    out = [
        f"Sprint review of {review.north_star} since {review.since.isoformat()} "
        f"(data up to {review.newest.isoformat()})",
        review.health,
        *(f"Target, {p.metric.owner or '(no owner)'}: {progress_line(p)}" for p in review.targets),
        "",
    ]
    rows = [
        ("due", c.name, c.variant, c.verdict, c.decision, c.reason) for c in review.decisions_due
    ]
    rows += [
        (
            "changed",
            ch.now.name,
            ch.now.variant,
            ch.now.verdict,
            ch.now.decision,
            f"was {ch.before.verdict} / {ch.before.decision}",
        )
        for ch in review.changed
    ]
    rows += [
        ("running", c.name, c.variant, c.verdict, c.decision, _days(c)) for c in review.running
    ]
    out.append(aligned(("section", "experiment", "variant", "verdict", "decision", "why"), rows))
    out += [
        f"learned: {e.child_label} -> {e.parent_label}: {e.before} -> {e.now}"
        for e in review.learned
    ]
    return "\n".join(out) + "\n"
