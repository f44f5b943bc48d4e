"""Targets on the tree: per metric with a `target` (metrics.toml), what the comparisons decided
`ship` between `target_from` and `target_by` delivered, against the target; for the North Star
also what running experiments are predicted to add.

Delivered is the compounded product of the shipped comparisons' lifts after the winner's-curse
shrinkage (each metric's valid comparisons shrunk toward their portfolio distribution, as the
wins' impact is: nsexp.learning.proxies), never a sum of relative lifts: shipping +2% and +3%
delivers (1.02 x 1.03) - 1 = +5.06%. Its interval comes from the shrinkage posteriors on the
log scale (delta method: the lifts taken as independent and lasting, shipped to everyone).
Predicted compounds the running comparisons' predicted North Star effects
(`north_star_predicted`) the same way. Which comparisons shipped, and on which day, is the
caller's: a recorded decision where there is one, the recommendation otherwise
(nsexp.report.review.shipped).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import polars as pl

from nsexp.analysis.learned import NorthStarPrediction
from nsexp.analysis.readout import Judgement
from nsexp.config.catalog import Metric
from nsexp.learning.tree import valid_results
from nsexp.stats import dist
from nsexp.stats.meta import shrink

Key = tuple[str, str]
LEVEL = 0.95
ASSUMPTIONS = (
    "each shipped change reaches everyone, and the effects are independent and lasting; "
    "lifts are corrected for the winner's curse and compounded, not added"
)


class Shipped(NamedTuple):
    """A comparison decided ship: the day it counts on and whether a team recorded the decision
    (`recorded`) or the recommendation stands in for one (`recommended`)."""

    day: dt.date | None
    basis: Literal["recorded", "recommended"]


@dataclass(frozen=True)
class Compounded:
    """Relative lifts compounded: how many, the combined improvement in the metric's good
    direction and its interval at `level` (None when nothing was combined)."""

    count: int
    combined: float | None
    low: float | None
    high: float | None
    level: float = LEVEL


@dataclass(frozen=True)
class TargetProgress:
    """One metric's target and what shipped comparisons delivered toward it (and, for the North
    Star, what running ones are predicted to add)."""

    metric: Metric
    target: float
    target_from: dt.date
    target_by: dt.date
    delivered: Compounded
    shipped: tuple[Key, ...]
    recorded: int  # of the shipped comparisons, how many by a recorded decision
    predicted: Compounded | None = None
    predicted_from: tuple[Key, ...] = ()

    @property
    def share(self) -> float | None:
        """Delivered as a share of the target (1.0: the target is met)."""
        got = self.delivered.combined
        return None if got is None else got / self.target


def compound(lifts: np.ndarray, sds: np.ndarray, sign: int = 1, level: float = LEVEL) -> Compounded:
    """Relative lifts in the metric's own direction compounded, (1 + l_1)(1 + l_2)... - 1, as
    an improvement in its good direction (`sign` -1: lower is better), with an interval from
    independent normal lifts on the log scale: Var log(1 + L) = sum sd_i^2 / (1 + l_i)^2
    (delta method)."""
    lifts, sds = np.asarray(lifts, float), np.asarray(sds, float)
    if lifts.size == 0:
        return Compounded(0, 0.0, 0.0, 0.0, level)
    log_total = float(np.log1p(lifts).sum())
    log_sd = math.sqrt(float(((sds / (1.0 + lifts)) ** 2).sum()))
    z = float(dist.norm_isf((1 - level) / 2))
    ends = sorted(sign * math.expm1(log_total + k * z * log_sd) for k in (-1, 1))
    return Compounded(int(lifts.size), sign * math.expm1(log_total), ends[0], ends[1], level)


def shrunk_lifts(judgement: Judgement, metric: str) -> pl.DataFrame:
    """Every valid comparison's lift of one metric in its good direction, shrunk for the
    winner's curse toward the portfolio's distribution of that metric's true effects:
    experiment, variant, shrunk_effect, shrunk_sd."""
    rows = (
        valid_results(judgement)
        .filter(pl.col("metric") == metric)
        .drop_nulls(["effect", "se"])
        .filter(pl.col("se") > 0)
    )
    fit = shrink(rows["effect"].to_numpy(), rows["se"].to_numpy()) if rows.height else None
    return rows.select("experiment", "variant").with_columns(
        pl.Series("shrunk_effect", fit.posterior_mean if fit else [], dtype=pl.Float64),
        pl.Series("shrunk_sd", fit.posterior_sd if fit else [], dtype=pl.Float64),
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
        chosen = pl.DataFrame(
            list(keys), schema={"experiment": pl.String, "variant": pl.String}, orient="row"
        )
        lifts = shrunk_lifts(judgement, m.id).join(chosen, on=["experiment", "variant"])
        counted = tuple(sorted(zip(lifts["experiment"], lifts["variant"], strict=True)))
        out.append(
            TargetProgress(
                metric=m,
                target=m.target,
                target_from=start,
                target_by=end,
                delivered=compound(
                    m.sign * lifts["shrunk_effect"].to_numpy(),
                    lifts["shrunk_sd"].to_numpy(),
                    m.sign,
                ),
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
    return {"predicted": compound(lifts, sds, sign), "predicted_from": tuple(usable)}
