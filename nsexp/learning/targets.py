"""Targets on the tree: per metric with a `target` (metrics.toml), what the comparisons decided
`ship` between `target_from` and `target_by` delivered, against the target; for the North Star
also what running experiments are predicted to add.

Delivered is the compounded product of the shipped comparisons' lifts after the winner's-curse
shrinkage (each metric's valid comparisons shrunk toward their portfolio distribution), never a
sum of relative lifts: shipping +2% and +3% delivers (1.02 x 1.03) - 1 = +5.06%, with the
interval of nsexp.learning.impact.compound (one definition for the wins' impact, the scoreboard
and the targets). Predicted compounds the running comparisons' predicted North Star effects
(`north_star_predicted`) the same way. Which comparisons shipped, and on which day, is the
caller's: a recorded decision where there is one, the recommendation otherwise
(nsexp.report.review.shipped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np

from nsexp.analysis.learned import NorthStarPrediction
from nsexp.analysis.readout import Judgement
from nsexp.config.catalog import Metric
from nsexp.learning.impact import Impact, compound, impact_of, shrinkage
from nsexp.stats import dist

Key = tuple[str, str]


class Shipped(NamedTuple):
    """A comparison decided ship: the day it counts on and whether a team recorded the decision
    (`recorded`) or the recommendation stands in for one (`recommended`)."""

    day: dt.date | None
    basis: Literal["recorded", "recommended"]


@dataclass(frozen=True)
class TargetProgress:
    """One metric's target and what shipped comparisons delivered toward it (and, for the North
    Star, what running ones are predicted to add), as improvements in its good direction."""

    metric: Metric
    target: float
    target_from: dt.date
    target_by: dt.date
    delivered: Impact
    shipped: tuple[Key, ...]
    recorded: int  # of the shipped comparisons, how many by a recorded decision
    predicted: Impact | None = None
    predicted_from: tuple[Key, ...] = ()

    @property
    def share(self) -> float | None:
        """Delivered as a share of the target (1.0: the target is met)."""
        return self.delivered.combined / self.target


def improvement(impact: Impact, sign: int) -> Impact:
    """A compounded change of a metric as an improvement in its good direction (`sign` -1:
    lower is better, so a -5% change improves it by 5%)."""
    if sign > 0:
        return impact
    median = None if impact.median_lift is None else -impact.median_lift
    return replace(
        impact, median_lift=median, combined=-impact.combined, low=-impact.high, high=-impact.low
    )


def target_progress(
    judgement: Judgement,
    shipped: Mapping[Key, Shipped],
    predicted: Mapping[Key, NorthStarPrediction] | None = None,
) -> tuple[TargetProgress, ...]:
    """Per metric with a target, in catalog order: the compounded shrunk lifts of the
    comparisons shipped within its dates; for the North Star also the compounded predictions
    of `predicted` (the running comparisons that may still ship)."""
    out = []
    ns = judgement.catalog.north_star
    for m in judgement.catalog.ordered():
        if m.target is None or m.target_from is None or m.target_by is None:
            continue
        start, end = m.target_from, m.target_by
        keys = {k: s for k, s in shipped.items() if s.day is not None and start <= s.day <= end}
        frame, _ = shrinkage(judgement, m.id)
        counted = tuple(
            sorted(k for k in zip(frame["experiment"], frame["variant"], strict=True) if k in keys)
        )
        out.append(
            TargetProgress(
                metric=m,
                target=m.target,
                target_from=start,
                target_by=end,
                delivered=improvement(impact_of(frame, counted), m.sign),
                shipped=counted,
                recorded=sum(keys[k].basis == "recorded" for k in counted),
                **(_predicted(predicted or {}, m.sign) if m.id == ns.id else {}),
            )
        )
    return tuple(out)


def _predicted(predicted: Mapping[Key, NorthStarPrediction], sign: int) -> dict:
    """The North Star predictions (own direction) compounded as an improvement (`sign`), each
    interval read as a normal one at its level."""
    usable = {
        k: p
        for k, p in sorted(predicted.items())
        if p.rel_effect is not None and p.rel_ci_low is not None and p.rel_ci_high is not None
    }
    lifts = np.array([p.rel_effect for p in usable.values()], dtype=float)
    sds = np.array(
        [
            (float(p.rel_ci_high or 0) - float(p.rel_ci_low or 0))
            / (2 * float(dist.norm_isf((1 - p.level) / 2)))
            for p in usable.values()
        ],
        dtype=float,
    )
    return {"predicted": improvement(compound(lifts, sds), sign), "predicted_from": tuple(usable)}
