"""The readout model as plain data (the CLI's --format json, pins) and back again.

Field names are a fixed contract (they only grow): the per-metric ones are
nsexp.analysis.results.JSON_FIELDS. `experiment_from_dict` reads an `experiment_dict` back into
the same ExperimentReadout the live readout renders, so a pin goes through the same views.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from typing import Any

import orjson
import polars as pl

from nsexp.analysis.decision import Recommendation
from nsexp.analysis.learned import (
    FalsePositiveRisk,
    Learned,
    NorthStarPrediction,
    TwymanAlert,
    alert_sentence,
)
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import ExperimentReadout, Readout, TreatmentReadout
from nsexp.analysis.reasons import HISTORY_LEAD, Reason, ReasonKind
from nsexp.analysis.results import (
    JSON_FIELDS,
    RESULT_SCHEMA,
    TIMELINE_FIELDS,
    TIMELINE_SCHEMA,
    MetricResult,
    TimelinePoint,
    finite,
    finite_each,
)
from nsexp.analysis.settings import Settings
from nsexp.analysis.srm import Srm
from nsexp.config.experiments import ExperimentInfo
from nsexp.io import Experiment

_METRIC_NAMES = {f.name for f in fields(MetricResult)}
# The shape of every JSON document nsexp writes (readout, tree, proxies, plan, pins), so a reader
# knows which it holds; a document without one was written before it was recorded (version 0).
SCHEMA_VERSION = 1


def dumps(doc: Any) -> str:
    """JSON text of plain data, indented for people: orjson (the standard library's indenting
    encoder is pure Python and took most of a 1,000-experiment readout's time)."""
    return dumps_utf8(doc).decode()


def dumps_utf8(doc: Any) -> bytes:
    """`dumps(doc)` as UTF-8 bytes, never decoded nor copied (orjson appends the line feed): a
    1,000-experiment readout's 70 MB of text decoded, copied and encoded again took longer
    than writing it."""
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


# Where a document ends whose last field is a list holding one 0, as dumps_utf8 writes it.
_LAST_LIST_OF_ZERO = b"[\n    0\n  ]\n}\n"
# Around an item written two levels deep, as the only item of a list in a list.
_TWO_DEEP = len(b"[\n  [\n    "), len(b"\n  ]\n]")


def dumps_pieces(head: dict[str, Any], key: str, items: Iterable[Any]) -> Iterator[bytes]:
    """`dumps_utf8(head | {key: list(items)})`, the list last, in pieces: each item written
    alone at its depth (inside `[[item]]`, the brackets cut off), so the whole text and every
    item's plain data need not be in memory at once (a 1,000-experiment readout: 70 MB of
    text, ~100 MB of dicts; their fresh pages cost more than writing them)."""
    whole = dumps_utf8({**head, key: [0]})
    if not whole.endswith(_LAST_LIST_OF_ZERO):  # `key` in `head` already: one piece
        yield dumps_utf8({**head, key: list(items)})
        return
    opening, between = whole[: -len(_LAST_LIST_OF_ZERO)], b"[\n    "
    start, end = _TWO_DEEP
    for item in items:
        yield opening + between
        yield orjson.dumps([[item]], option=orjson.OPT_INDENT_2)[start:-end]
        opening, between = b"", b",\n    "
    yield opening + b"[]\n}\n" if opening else b"\n  ]\n}\n"


# The published fields of a MetricResult in one C call (20,000 records in a large portfolio).
_JSON_VALUES = operator.attrgetter(*JSON_FIELDS)
_POINT = operator.attrgetter(*TIMELINE_FIELDS)  # a timeline point's, likewise (28,000 of them)
_POINT_KEYS = ("date", *TIMELINE_FIELDS)
# Where a record's published numbers are (every field but text), in those tuples.
_JSON_NUMBERS = operator.itemgetter(
    *(i for i, k in enumerate(JSON_FIELDS) if RESULT_SCHEMA[k] != pl.String)
)
_POINT_NUMBERS = operator.itemgetter(
    *(i for i, k in enumerate(TIMELINE_FIELDS) if TIMELINE_SCHEMA[k] != pl.String)
)


def _finite(values: tuple[Any, ...], numbers: operator.itemgetter[Any]) -> Sequence[Any]:
    """`values` with NaN and infinities as None (finite_each), checked first in C: the sum of
    the numbers present is finite only when every one is (an overflowing sum just takes the
    long way), and a record almost always has none to replace."""
    if math.isfinite(sum(filter(None, numbers(values)))):
        return values
    return finite_each(values)


def metric_dict(m: MetricResult, *, plain: bool = True) -> dict[str, Any]:
    """One metric's published figures; not `plain`, NaN and infinities left for orjson to
    write as null (see readout_dict)."""
    values = _JSON_VALUES(m)
    return dict(zip(JSON_FIELDS, _finite(values, _JSON_NUMBERS) if plain else values, strict=True))


def treatment_dict(t: TreatmentReadout, *, plain: bool = True) -> dict[str, Any]:
    """One comparison: verdict, North Star status, reasons and every metric's figures
    (`plain` as for readout_dict)."""
    ns = t.north_star
    timeline = {"north_star_timeline": timeline_list(t, plain=plain)} if t.timeline else {}
    return {
        "variant": t.variant,
        "verdict": t.verdict,
        "north_star_status": t.north_star_status,
        "reasons": [r.text for r in t.reasons],
        "reason_kinds": [r.kind for r in t.reasons],
        "reason_metrics": [list(r.metrics) for r in t.reasons],
        "north_star_units_needed": finite(ns.units_needed),
        "north_star_days_needed": finite(ns.days_needed),
        "north_star_mde": finite(ns.mde),
        "decision": t.decision.decision if t.decision is not None else None,
        "decision_reason": t.decision.reason if t.decision is not None else None,
        "metrics": [metric_dict(m, plain=plain) for m in t.metrics],
        **timeline,
        **(learned_dict(t.learned) if t.learned is not None else {}),
    }


def learned_dict(learned: Learned) -> dict[str, Any]:
    """`north_star_predicted`, `false_positive_risk` and `alerts` of one comparison."""
    out: dict[str, Any] = {}
    p = learned.prediction
    if p is not None:
        out["north_star_predicted"] = {
            "rel_effect": finite(p.rel_effect),
            "rel_ci_low": finite(p.rel_ci_low),
            "rel_ci_high": finite(p.rel_ci_high),
            "level": p.level,
            "from": list(p.sources),
            "n_history": p.n_history,
            **(
                {"reason": p.reason, "comparisons_needed": p.comparisons_needed} if p.reason else {}
            ),
        }
    r = learned.false_positive_risk
    if r is not None:
        out["false_positive_risk"] = {k: finite(v) for k, v in r._asdict().items()} | {
            "alpha_one_sided": r.alpha_one_sided
        }
    out["alerts"] = [a._asdict() for a in learned.alerts]
    return out


def learned_from_dict(data: dict[str, Any]) -> Learned | None:
    """The Learned record of a comparison's JSON (None when it carries none)."""
    if "north_star_predicted" not in data and "false_positive_risk" not in data:
        return None
    p = data.get("north_star_predicted")
    prediction = (
        NorthStarPrediction(
            p["rel_effect"],
            p["rel_ci_low"],
            p["rel_ci_high"],
            p["level"],
            tuple(p["from"]),
            p["n_history"],
            p.get("reason", ""),
            p.get("comparisons_needed", 0),
        )
        if p
        else None
    )
    r = data.get("false_positive_risk")
    return Learned(
        prediction=prediction,
        false_positive_risk=(
            FalsePositiveRisk(**{k: v for k, v in r.items() if k in FalsePositiveRisk._fields})
            if r
            else None
        ),
        alerts=tuple(TwymanAlert(**a) for a in data.get("alerts") or ()),
    )


def timeline_list(t: TreatmentReadout, *, plain: bool = True) -> list[Any]:
    """The North Star's cumulative figures per date (only for dated data); not `plain`, the
    TimelinePoints themselves, which orjson writes as the same objects (see readout_dict)."""
    if not plain:
        return list(t.timeline)
    return [
        dict(
            zip(_POINT_KEYS, (p.date.isoformat(), *_finite(_POINT(p), _POINT_NUMBERS)), strict=True)
        )
        for p in t.timeline
    ]


def experiment_dict(e: ExperimentReadout, *, plain: bool = True) -> dict[str, Any]:
    """One experiment with its SRM check and comparisons (`plain` as for readout_dict)."""
    info = e.experiment.info
    return {
        "experiment": e.id,
        "name": info.title,
        "owner": info.owner,
        "hypothesis": info.hypothesis,
        "control": e.experiment.control,
        "variants": list(e.experiment.variants),
        "units": e.units,
        "first_date": e.first_date.isoformat() if e.first_date else None,
        "last_date": e.last_date.isoformat() if e.last_date else None,
        "days": e.days,
        "status": e.status,
        "srm": {
            "p_value": finite(e.srm.p_value),
            "mismatch": e.srm.mismatch,
            "counts": e.srm.counts,
            "expected_split": e.srm.expected,
            "expected_split_assumed": e.srm.assumed,
        },
        "notes": list(e.notes),
        "comparisons": [treatment_dict(t, plain=plain) for t in e.treatments],
    }


def readout_dict(readout: Readout, *, plain: bool = True) -> dict[str, Any]:
    """The whole readout, with the settings and methods that produced it. Not `plain` (for
    orjson only, dumps_utf8): each timeline point stays a TimelinePoint, whose fields are its
    JSON keys in order, and a metric's NaN and infinities stay as they are: orjson writes the
    same bytes (dates ISO, NaN and infinities as null) at a third of the cost of 28,000 dicts
    and 20,000 checked records in a 1,000-experiment readout."""
    return {
        **readout_head(readout),
        "experiments": [experiment_dict(e, plain=plain) for e in readout.experiments.values()],
    }


def readout_head(readout: Readout) -> dict[str, Any]:
    """readout_dict's fields before `experiments`, its last."""
    return {
        "schema_version": SCHEMA_VERSION,
        "settings": readout.settings.to_dict(),
        "methods": methods(readout.settings),
        "north_star": readout.catalog.north_star.id,
        "data_fingerprint": readout.fingerprint,
        "as_of": readout.as_of.isoformat() if readout.as_of else None,
    }


def experiment_from_dict(data: dict[str, Any], settings: Settings) -> ExperimentReadout:
    """An ExperimentReadout from `experiment_dict` output (a pin's payload) and the Settings
    that produced it (a pin keeps them beside the payload).

    Figures the JSON does not carry (standard errors, the flat test's interval) come back as
    None; the reasons were rendered when the readout was made and are kept as they were.
    """
    eid = str(data["experiment"])
    info = ExperimentInfo(
        id=eid,
        name="" if data["name"] == eid else str(data["name"]),
        owner=str(data.get("owner") or ""),
        hypothesis=str(data.get("hypothesis") or ""),
    )
    experiment = Experiment(
        id=eid,
        info=info,
        variants=tuple(data["variants"]),
        control=str(data["control"]),
        notes=tuple(data.get("notes") or ()),
    )
    srm = data["srm"]
    return ExperimentReadout(
        experiment=experiment,
        srm=Srm(
            p_value=srm["p_value"],
            mismatch=bool(srm["mismatch"]),
            counts=dict(srm["counts"]),
            expected=dict(srm["expected_split"]),
            assumed=bool(srm.get("expected_split_assumed", False)),
        ),
        treatments=tuple(_treatment_from_dict(eid, c) for c in data["comparisons"]),
        units=int(data["units"]),
        settings=settings,
        first_date=_date(data.get("first_date")),
        last_date=_date(data.get("last_date")),
        notes=tuple(data.get("notes") or ()),
        status=data.get("status") or "running",
    )


def _treatment_from_dict(experiment: str, data: dict[str, Any]) -> TreatmentReadout:
    variant = str(data["variant"])
    metrics = tuple(
        MetricResult(
            experiment=experiment,
            variant=variant,
            **{k: v for k, v in m.items() if k in _METRIC_NAMES},
        )
        for m in data["metrics"]
    )
    timeline = tuple(
        TimelinePoint(
            date=dt.date.fromisoformat(p["date"]), **{k: p.get(k) for k in TIMELINE_FIELDS}
        )
        for p in data.get("north_star_timeline") or ()
    )
    learned = learned_from_dict(data)
    return TreatmentReadout(
        variant=variant,
        verdict=data["verdict"],
        north_star_status=data["north_star_status"],
        reasons=_reasons_from_dict(data, learned),
        metrics=metrics,
        timeline=timeline,
        learned=learned,
        decision=Recommendation(data["decision"], data["decision_reason"])
        if data.get("decision")
        else None,
    )


def _reasons_from_dict(data: dict[str, Any], learned: Learned | None) -> tuple[Reason, ...]:
    """The typed reasons of a comparison's JSON; a pin made before `reason_kinds` gets them
    inferred: its Twyman alerts, its history lines, and 'note' for the rest."""
    texts = [str(r) for r in data["reasons"]]
    alerts = {alert_sentence(a) for a in learned.alerts} if learned is not None else set()
    kinds: list[ReasonKind] = data.get("reason_kinds") or [
        "alert" if r in alerts else "history" if r.startswith(HISTORY_LEAD) else "note"
        for r in texts
    ]
    named = data.get("reason_metrics") or [()] * len(texts)
    return tuple(
        Reason(kind, text, tuple(ids)) for kind, text, ids in zip(kinds, texts, named, strict=True)
    )


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)
