"""The sprint review: one model the Review page, `nsexp review` and the digests render.

It starts from the North Star (its targets, what shipped comparisons delivered and what running
ones are predicted to add, its health line), then what needs the team:
- decisions_due: comparisons of running experiments, or of experiments that ended since
  `since`, whose recommendation is ship / roll_back / stop / iterate / fix_data and that have
  no recorded decision, worst first (by verdict precedence);
- changed: comparisons whose verdict or recommendation differs between the readout as of
  `since` and today's, both under today's rules;
- running: the comparisons still reading (recommendation keep_running), with the days left to
  read the North Star at current traffic;
- learned: tree edges whose label differs between the comparisons that had ended by `since`
  and all of them.
An experiment has ended on its last data date (or on `end` in experiments.toml when it is
concluded); dates are ISO and inclusive, on the data's own calendar.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from nsexp import format as fmt
from nsexp.analysis.asof import as_of, date_span
from nsexp.analysis.readout import ExperimentReadout, Judgement, Readout
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICTS
from nsexp.errors import InputError
from nsexp.io import Dataset
from nsexp.learning.history import learned_readout, readout_learning
from nsexp.learning.impact import Impact
from nsexp.learning.proxies import cumulative_impact
from nsexp.learning.targets import Shipped, TargetProgress, target_progress
from nsexp.learning.tree import RESAMPLING, Resampling, TreeEvidence, tree_evidence
from nsexp.report.movement import metric_movement
from nsexp.report.scoreboard import health_line

SCHEMA_VERSION = 1
DEFAULT_LOOKBACK_DAYS = 14  # `since` defaults to this many days before the newest data
Key = tuple[str, str]
DUE = ("fix_data", "roll_back", "ship", "stop", "iterate")


class Decided(Protocol):
    """A decision the team recorded (nsexp.store.decisions.Recorded): its value and when."""

    @property
    def value(self) -> str:
        """One of the six decisions."""

    @property
    def at(self) -> str:
        """When it was recorded (ISO, UTC)."""

    @property
    def by(self) -> str:
        """Who recorded it."""


@dataclass(frozen=True)
class DecidedComparison:
    """A decision the team recorded, beside today's recommendation."""

    comparison: Comparison
    value: str
    by: str
    at: str

    @property
    def differs(self) -> bool:
        """Whether the team decided other than nsexp recommends today."""
        return self.value != self.comparison.decision


@dataclass(frozen=True)
class Comparison:
    """One comparison as the review lists it: its verdict, recommendation and sentence."""

    experiment: str
    name: str
    variant: str
    owner: str
    verdict: str
    decision: str
    reason: str
    days_left: int | None = None  # days to read the North Star at current traffic

    @property
    def key(self) -> Key:
        """(experiment, variant)."""
        return (self.experiment, self.variant)


@dataclass(frozen=True)
class Change:
    """A comparison whose verdict or recommendation moved between `since` and today."""

    before: Comparison
    now: Comparison


@dataclass(frozen=True)
class EdgeChange:
    """A tree edge whose label the experiments that ended since `since` changed."""

    child: str
    child_label: str
    parent: str
    parent_label: str
    before: str
    now: str
    n_before: int
    n_now: int


@dataclass(frozen=True)
class Review:
    """Everything the review shows (module docstring): the North Star first, then what needs
    the team."""

    since: dt.date
    newest: dt.date
    north_star: str  # its label
    north_star_id: str
    health: str
    targets: tuple[TargetProgress, ...]
    decisions_due: tuple[Comparison, ...]
    changed: tuple[Change, ...]
    running: tuple[Comparison, ...]
    learned: tuple[EdgeChange, ...]
    decided: tuple[DecidedComparison, ...] = ()  # recorded since `since`, or differing


def newest_date(readout: Readout) -> dt.date | None:
    """The newest data date of any experiment."""
    return max((e.last_date for e in readout.experiments.values() if e.last_date), default=None)


def default_since(newest: dt.date) -> dt.date:
    """DEFAULT_LOOKBACK_DAYS before the newest data."""
    return newest - dt.timedelta(days=DEFAULT_LOOKBACK_DAYS)


def ended_on(e: ExperimentReadout) -> dt.date | None:
    """The day an experiment ended: a concluded experiment's `end` (experiments.toml), else its
    last data date (None without either)."""
    info = e.experiment.info
    if e.status == "concluded" and info.end:
        return dt.date.fromisoformat(info.end[:10])
    return e.last_date


def _comparisons(readout: Readout) -> dict[Key, Comparison]:
    """Every comparison with its verdict, recommendation and sentence."""
    out = {}
    for e in readout.experiments.values():
        for t in e.treatments:
            assert t.decision is not None  # build_readout recommends one for every comparison
            days = t.north_star.days_needed
            out[(e.id, t.variant)] = Comparison(
                experiment=e.id,
                name=e.name,
                variant=t.variant,
                owner=e.experiment.info.owner,
                verdict=t.verdict,
                decision=t.decision.decision,
                reason=t.decision.reason,
                days_left=math.ceil(days) if days is not None and math.isfinite(days) else None,
            )
    return out


def shipped(readout: Readout, recorded: Mapping[Key, Decided]) -> dict[Key, Shipped]:
    """The comparisons decided ship: by a recorded decision where there is one (counting on the
    day it was recorded), by the recommendation otherwise (on the day its experiment ended)."""
    out = {}
    for key, c in _comparisons(readout).items():
        found = recorded.get(key)
        if found is not None and found.value == "ship":
            out[key] = Shipped(dt.date.fromisoformat(found.at[:10]), "recorded")
        elif found is None and c.decision == "ship":
            out[key] = Shipped(ended_on(readout.experiments[key[0]]), "recommended")
    return out


def targets_of(readout: Readout, recorded: Mapping[Key, Decided]) -> tuple[TargetProgress, ...]:
    """Per metric with a target: delivered by shipped comparisons (and for the North Star the
    prediction of running comparisons that may still ship), sorted by owner team."""
    comparisons = _comparisons(readout)
    done = shipped(readout, recorded)
    predicted = {
        k: t.learned.prediction
        for e in readout.experiments.values()
        for t in e.treatments
        if (k := (e.id, t.variant)) not in done
        and e.status == "running"
        and _value(recorded, k, comparisons[k].decision) == "keep_running"
        and t.learned is not None
        and t.learned.prediction is not None
    }
    found = target_progress(readout.judgement, done, predicted)
    return tuple(sorted(found, key=lambda p: p.metric.owner))


def _value(recorded: Mapping[Key, Decided], key: Key, recommended: str) -> str:
    """The decision that counts: the recorded one, else the recommendation."""
    found = recorded.get(key)
    return found.value if found is not None else recommended


def _ended_by(judgement: Judgement, readout: Readout, day: dt.date) -> Judgement:
    """The judgement of the experiments that had ended by `day` only."""
    return judgement.only(
        {e.id for e in readout.experiments.values() if (end := ended_on(e)) and end <= day}
    )


def _learned(
    readout: Readout, evidence: TreeEvidence, since: dt.date, resampling: Resampling
) -> tuple[EdgeChange, ...]:
    """Edges whose label differs between the comparisons ended by `since` and all of them."""
    before = tree_evidence(_ended_by(readout.judgement, readout, since), resampling=resampling)
    metrics = readout.catalog.metrics
    out = []
    for edge in evidence.edges:
        old = before.edge(edge.child, edge.parent)
        if old is None or old.label == edge.label:
            continue
        out.append(
            EdgeChange(
                edge.child,
                metrics[edge.child].label,
                edge.parent,
                metrics[edge.parent].label,
                old.label,
                edge.label,
                old.n_comparisons,
                edge.n_comparisons,
            )
        )
    return tuple(out)


def build_review(
    dataset: Dataset,
    settings: Settings,
    since: dt.date | None = None,
    recorded: Mapping[Key, Decided] | None = None,
    *,
    now: Readout | None = None,
    evidence: TreeEvidence | None = None,
    resampling: Resampling = RESAMPLING,
) -> Review:
    """The review of a dataset since a date (default: DEFAULT_LOOKBACK_DAYS before the newest
    data), with the team's recorded decisions (value per comparison). `now` and `evidence`:
    today's readout and tree evidence when the caller has them already (else both come from
    one learning pass, as the app's do)."""
    if not dataset.has_dates:
        raise InputError(
            "the review compares the readout as of a date with today's, and the data has no "
            "date column",
            fix="add a date column (the day each unit was first exposed) to the data",
        )
    recorded = recorded or {}
    if now is None:  # learn once: today's readout and tree evidence both come from it
        learning = readout_learning(dataset, settings)
        now = learned_readout(dataset, settings, learning=learning)
        evidence = evidence or learning.evidence
    newest = newest_date(now)
    assert newest is not None  # dated data has a newest date
    since = since or default_since(newest)
    if since > newest:
        raise InputError(
            f"since = {since.isoformat()} is after the newest data ({newest.isoformat()})",
            fix=f"give a date on or before {newest.isoformat()}",
        )
    evidence = evidence or tree_evidence(now.judgement, resampling=resampling)
    current = _comparisons(now)
    before = _readout_then(dataset, settings, since)
    open_now = {k: c for k, c in current.items() if k not in recorded}
    return Review(
        since=since,
        newest=newest,
        north_star=now.catalog.north_star.label,
        north_star_id=now.catalog.north_star.id,
        health=health_line(now, metric_movement(now), cumulative_impact(now.judgement)),
        targets=targets_of(now, recorded),
        decisions_due=_due(now, open_now, since),
        changed=tuple(
            Change(before[k], c)
            for k, c in current.items()
            if k in before and (before[k].verdict, before[k].decision) != (c.verdict, c.decision)
        ),
        running=_running(now, open_now),
        learned=_learned(now, evidence, since, resampling),
        decided=_decided(current, recorded, since),
    )


def _readout_then(dataset: Dataset, settings: Settings, since: dt.date) -> dict[Key, Comparison]:
    """Every comparison of the readout as of `since` (none before the data's first date): its
    verdicts and decisions only, so without the North Star's timeline."""
    span = date_span(dataset)
    if span is None or since < span[0]:
        return {}
    return _comparisons(learned_readout(as_of(dataset, since), settings, timelines=False))


def _due(
    now: Readout, open_now: Mapping[Key, Comparison], since: dt.date
) -> tuple[Comparison, ...]:
    """Comparisons to act on without a recorded decision, of running experiments or of
    experiments that ended since `since`: worst verdict first."""

    def in_scope(c: Comparison) -> bool:
        e = now.experiments[c.experiment]
        end = ended_on(e)
        return e.status == "running" or (end is not None and end >= since)

    due = [c for c in open_now.values() if c.decision in DUE and in_scope(c)]
    return tuple(
        sorted(due, key=lambda c: (VERDICTS.index(c.verdict), DUE.index(c.decision), c.key))
    )


def _running(now: Readout, open_now: Mapping[Key, Comparison]) -> tuple[Comparison, ...]:
    """Running experiments' comparisons still reading, the soonest readable first."""
    running = [
        c
        for c in open_now.values()
        if c.decision == "keep_running" and now.experiments[c.experiment].status == "running"
    ]
    return tuple(sorted(running, key=lambda c: (c.days_left is None, c.days_left, c.key)))


def _decided(
    current: Mapping[Key, Comparison], recorded: Mapping[Key, Decided], since: dt.date
) -> tuple[DecidedComparison, ...]:
    """Recorded decisions taken since `since`, or differing from today's recommendation."""
    out = []
    for k, r in sorted(recorded.items()):
        if k not in current:
            continue
        d = DecidedComparison(current[k], r.value, r.by, r.at)
        if d.differs or dt.date.fromisoformat(r.at[:10]) >= since:
            out.append(d)
    return tuple(out)


def readout_query(c: Comparison) -> dict[str, str]:
    """The Readout page's query for a comparison."""
    return {"experiment": c.experiment, "variant": c.variant}


def _compounded(c: Impact | None) -> dict[str, Any] | None:
    """A compounded impact's JSON: how many comparisons, their median lift, the combined lift
    and its interval (improvements in the metric's good direction)."""
    if c is None:
        return None
    return {
        "comparisons": c.count,
        "median_rel_effect": c.median_lift,
        "rel_effect": c.combined,
        "rel_ci_low": c.low,
        "rel_ci_high": c.high,
        "level": c.level,
    }


def target_dict(p: TargetProgress) -> dict[str, Any]:
    """One target's JSON."""
    out: dict[str, Any] = {
        "metric": p.metric.id,
        "label": p.metric.label,
        "owner": p.metric.owner,
        "target": p.target,
        "target_from": p.target_from.isoformat(),
        "target_by": p.target_by.isoformat(),
        "delivered": _compounded(p.delivered),
        "share_of_target": p.share,
        "shipped": [{"experiment": e, "variant": v} for e, v in p.shipped],
        "shipped_by_recorded_decision": p.recorded,
        "assumptions": p.delivered.assumptions,
    }
    if p.predicted is not None:
        out["north_star_predicted"] = _compounded(p.predicted)
        out["predicted_from"] = [{"experiment": e, "variant": v} for e, v in p.predicted_from]
    return out


def comparison_dict(c: Comparison, link: str | None) -> dict[str, Any]:
    """One comparison's JSON (`link` the readout's address, None without a base URL)."""
    return {
        "experiment": c.experiment,
        "name": c.name,
        "variant": c.variant,
        "owner": c.owner,
        "verdict": c.verdict,
        "decision": c.decision,
        "decision_reason": c.reason,
        "days_left": c.days_left,
        "link": link,
    }


def review_dict(review: Review, link: Any = None) -> dict[str, Any]:
    """The review's JSON (`link(comparison)` gives a readout address, or None)."""

    def one(c: Comparison) -> dict[str, Any]:
        return comparison_dict(c, link(c) if link else None)

    return {
        "schema_version": SCHEMA_VERSION,
        "since": review.since.isoformat(),
        "newest_date": review.newest.isoformat(),
        "north_star": {
            "metric": review.north_star_id,
            "label": review.north_star,
            "health": review.health,
            "targets": [target_dict(p) for p in review.targets],
        },
        "decisions_due": [one(c) for c in review.decisions_due],
        "changed": [
            {
                "experiment": ch.now.experiment,
                "name": ch.now.name,
                "variant": ch.now.variant,
                "before": {"verdict": ch.before.verdict, "decision": ch.before.decision},
                "now": {"verdict": ch.now.verdict, "decision": ch.now.decision},
                "link": link(ch.now) if link else None,
            }
            for ch in review.changed
        ],
        "running": [one(c) for c in review.running],
        "learned": [
            {
                "child": e.child,
                "parent": e.parent,
                "child_label": e.child_label,
                "parent_label": e.parent_label,
                "before": e.before,
                "now": e.now,
                "comparisons_before": e.n_before,
                "comparisons_now": e.n_now,
            }
            for e in review.learned
        ],
        "decided": [
            {
                **one(d.comparison),
                "recorded_decision": {"value": d.value, "by": d.by, "at": d.at},
                "differs_from_recommendation": d.differs,
            }
            for d in review.decided
        ],
    }


def progress_line(p: TargetProgress) -> str:
    """One target's progress in words (plain text: callers escape it for their format)."""
    d = p.delivered
    share = f" ({fmt.pct(p.share, 0, signed=False)} of it)" if p.share is not None else ""
    line = (
        f"{p.metric.label}: target {fmt.pct(p.target, 1)} between {p.target_from.isoformat()} "
        f"and {p.target_by.isoformat()}; delivered {fmt.pct(d.combined, 1)} "
        f"{fmt.pct_ci(d.low, d.high)}{share} by {d.count} shipped comparison"
        f"{'' if d.count == 1 else 's'}"
    )
    if p.recorded:
        line += f" ({p.recorded} by recorded decision, the rest by recommendation)"
    if p.predicted is not None and p.predicted.count == 0:
        line += "; no running experiment that may still ship has a predicted North Star"
    elif p.predicted is not None:
        q = p.predicted
        line += (
            f"; running experiments are predicted to add {fmt.pct(q.combined, 1)} "
            f"{fmt.pct_ci(q.low, q.high)} ({q.count} comparison{'' if q.count == 1 else 's'})"
        )
    return line + "."
