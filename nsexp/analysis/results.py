"""The one result model: every figure of one metric in one treatment-versus-control comparison.

`MetricResult` declares each field once, with its Polars type. The vectorised computation
(nsexp.analysis.compute) produces a frame of exactly RESULT_SCHEMA; the readout turns its rows
into MetricResult records; JSON, Markdown, CSV, page tables, cards, charts and pins all render
those records. JSON_FIELDS is the per-metric JSON contract (names only grow).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import polars as pl

Outcome = Literal["better", "worse", "not_significant", "no_estimate", "untrusted"]
OUTCOME_LABELS: dict[str, str] = {
    "better": "Better",
    "worse": "Worse",
    "not_significant": "Not significant",
    "no_estimate": "No estimate",
    "untrusted": "Not to be trusted",
}


def finite(x: Any) -> Any:
    """None for NaN and infinities (JSON has none, and a gap beats a wrong number); else x."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# Field metadata: each field's Polars type, so the frame schema is read off the dataclass.
_STR = {"dtype": pl.String()}
_INT = {"dtype": pl.Int64()}
_FLOAT = {"dtype": pl.Float64()}
_BOOL = {"dtype": pl.Boolean()}
_DATE = {"dtype": pl.Date()}


@dataclass(slots=True, unsafe_hash=True)  # never changed once built: hashable by value
class MetricResult:
    """Every figure of one metric of one treatment against its control (None: not defined).

    Read-only by convention: not `frozen`, because a frozen dataclass sets each of its ~60
    fields through object.__setattr__, which made building the records of a 1,000-experiment
    portfolio take seconds.

    Absolute effects are treatment − control; relative ones treatment ÷ control − 1. `*_ci_*`
    are (1 − α) intervals, `*_ci_adj_*` agree with p_adjusted (widened for many tests),
    `equivalence_ci_*` is the (1 − 2α) interval of the flat test, `rel_cred_*` the Bayesian
    credible interval.
    """

    experiment: str = field(metadata=_STR)
    variant: str = field(metadata=_STR)
    metric: str = field(metadata=_STR)
    label: str = field(metadata=_STR)
    role: str = field(metadata=_STR)
    type: str = field(metadata=_STR)
    direction: str = field(metadata=_STR)
    practical_threshold: float = field(metadata=_FLOAT)
    n_control: int = field(metadata=_INT)
    n_treatment: int = field(metadata=_INT)
    control_mean: float | None = field(default=None, metadata=_FLOAT)
    treatment_mean: float | None = field(default=None, metadata=_FLOAT)
    abs_effect: float | None = field(default=None, metadata=_FLOAT)
    abs_se: float | None = field(default=None, metadata=_FLOAT)
    abs_ci_low: float | None = field(default=None, metadata=_FLOAT)
    abs_ci_high: float | None = field(default=None, metadata=_FLOAT)
    rel_effect: float | None = field(default=None, metadata=_FLOAT)
    rel_se: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_high: float | None = field(default=None, metadata=_FLOAT)
    equivalence_ci_low: float | None = field(default=None, metadata=_FLOAT)
    equivalence_ci_high: float | None = field(default=None, metadata=_FLOAT)
    p_value: float | None = field(default=None, metadata=_FLOAT)
    p_adjusted: float | None = field(default=None, metadata=_FLOAT)
    significant: bool | None = field(default=None, metadata=_BOOL)
    better: bool | None = field(default=None, metadata=_BOOL)
    worse: bool | None = field(default=None, metadata=_BOOL)
    flat: bool | None = field(default=None, metadata=_BOOL)
    units_needed: float | None = field(default=None, metadata=_FLOAT)
    variance_reduction: float | None = field(default=None, metadata=_FLOAT)
    cuped_theta: float | None = field(default=None, metadata=_FLOAT)
    mde: float | None = field(default=None, metadata=_FLOAT)
    days_needed: float | None = field(default=None, metadata=_FLOAT)
    abs_ci_adj_low: float | None = field(default=None, metadata=_FLOAT)
    abs_ci_adj_high: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_adj_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_adj_high: float | None = field(default=None, metadata=_FLOAT)
    rel_post_mean: float | None = field(default=None, metadata=_FLOAT)
    chance_to_win: float | None = field(default=None, metadata=_FLOAT)
    expected_loss: float | None = field(default=None, metadata=_FLOAT)
    rel_cred_low: float | None = field(default=None, metadata=_FLOAT)
    rel_cred_high: float | None = field(default=None, metadata=_FLOAT)
    non_inferiority_margin: float | None = field(default=None, metadata=_FLOAT)
    non_inferiority_p: float | None = field(default=None, metadata=_FLOAT)
    guardrail_power: float | None = field(default=None, metadata=_FLOAT)
    guardrail_status: str | None = field(default=None, metadata=_STR)
    engine: str | None = field(default=None, metadata=_STR)
    rel_ci_boot_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_boot_high: float | None = field(default=None, metadata=_FLOAT)
    note: str | None = field(default=None, metadata=_STR)
    method: str | None = field(default=None, metadata=_STR)
    ci_method: str | None = field(default=None, metadata=_STR)
    rel_ci_method: str | None = field(default=None, metadata=_STR)
    decisive: bool | None = field(default=None, metadata=_BOOL)
    sequential_n: float | None = field(default=None, metadata=_FLOAT)
    trusted: bool = field(default=True, metadata=_BOOL)
    # the Bayesian prior of the true relative lift (nsexp.analysis.priors)
    prior_mean: float | None = field(default=None, metadata=_FLOAT)
    prior_sd: float | None = field(default=None, metadata=_FLOAT)
    prior_source: str | None = field(default=None, metadata=_STR)
    prior_comparisons: int | None = field(default=None, metadata=_INT)

    @property
    def name(self) -> str:
        """The metric as people read it: its label, its id when it has none."""
        return self.label or self.metric

    @property
    def sign(self) -> int:
        """+1 when higher is better, −1 when lower is better."""
        return -1 if self.direction == "decrease" else 1

    @property
    def moved(self) -> Literal["better", "worse"] | None:
        """'better' or 'worse' when significantly different in the metric's good or bad
        direction (the `better`/`worse` the readout decided), else None."""
        if not self.trusted:
            return None
        return "better" if self.better else "worse" if self.worse else None

    @property
    def outcome(self) -> Outcome:
        """Better / worse, not_significant, or no_estimate when the relative effect is
        undefined (the forest plot cannot place it)."""
        if not self.trusted:
            return "untrusted"
        if self.rel_effect is None:
            return "no_estimate"
        return self.moved or "not_significant"

    @property
    def decision_effect(self) -> float | None:
        """The relative lift a readout quotes: the posterior mean under the Bayesian engine
        (inside its credible interval), else the estimate."""
        return self.rel_post_mean if self.engine == "bayesian" else self.rel_effect

    @property
    def decision_interval(self) -> tuple[float | None, float | None]:
        """The relative interval that decides significance: the credible interval under the
        Bayesian engine, else the multiplicity-adjusted one (the plain one if none)."""
        if self.engine == "bayesian":
            return self.rel_cred_low, self.rel_cred_high
        if self.rel_ci_adj_low is not None or self.rel_ci_adj_high is not None:
            return self.rel_ci_adj_low, self.rel_ci_adj_high
        return self.rel_ci_low, self.rel_ci_high

    @property
    def decision_abs_interval(self) -> tuple[float | None, float | None]:
        """The absolute interval that agrees with p_adjusted (the plain one if none)."""
        if self.abs_ci_adj_low is not None or self.abs_ci_adj_high is not None:
            return self.abs_ci_adj_low, self.abs_ci_adj_high
        return self.abs_ci_low, self.abs_ci_high


RESULT_SCHEMA: dict[str, pl.DataType] = {f.name: f.metadata["dtype"] for f in fields(MetricResult)}

# The per-metric fields of the readout JSON, in their published order (a fixed contract).
JSON_FIELDS: tuple[str, ...] = (
    "metric",
    "label",
    "role",
    "type",
    "direction",
    "n_control",
    "n_treatment",
    "control_mean",
    "treatment_mean",
    "abs_effect",
    "abs_ci_low",
    "abs_ci_high",
    "rel_effect",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "significant",
    "practical_threshold",
    "note",
    "variance_reduction",
    "mde",
    "units_needed",
    "days_needed",
    "abs_ci_adj_low",
    "abs_ci_adj_high",
    "rel_ci_adj_low",
    "rel_ci_adj_high",
    "chance_to_win",
    "expected_loss",
    "rel_cred_low",
    "rel_cred_high",
    "guardrail_status",
    "non_inferiority_margin",
    "non_inferiority_p",
    "guardrail_power",
    "rel_ci_boot_low",
    "rel_ci_boot_high",
    "method",
    "ci_method",
    "rel_ci_method",
    "decisive",
    "sequential_n",
    "equivalence_ci_low",
    "equivalence_ci_high",
    "better",
    "worse",
    "flat",
    "engine",
    "rel_post_mean",
    "trusted",
    "prior_mean",
    "prior_sd",
    "prior_source",
    "prior_comparisons",
)


def metric_results(frame: pl.DataFrame) -> tuple[MetricResult, ...]:
    """Records of the rows of a results frame (RESULT_SCHEMA columns; NaN already None),
    built positionally: RESULT_SCHEMA is the dataclass's field order, and keyword arguments
    cost ten times more for a 1,000-experiment portfolio."""
    return tuple(MetricResult(*row) for row in frame.select(list(RESULT_SCHEMA)).iter_rows())


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """The North Star's cumulative comparison on one date: every unit exposed up to it."""

    date: dt.date = field(metadata=_DATE)
    n_control: int = field(metadata=_INT)
    n_treatment: int = field(metadata=_INT)
    rel_effect: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_high: float | None = field(default=None, metadata=_FLOAT)
    p_value: float | None = field(default=None, metadata=_FLOAT)


TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    **{f.name: f.metadata["dtype"] for f in fields(TimelinePoint)},
}
TIMELINE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TimelinePoint) if f.name != "date")


def timeline_points(frame: pl.DataFrame) -> dict[tuple[str, str], tuple[TimelinePoint, ...]]:
    """Records of every comparison's timeline rows (TIMELINE_SCHEMA columns, in date order per
    comparison), keyed by (experiment, treatment): one pass over the rows, built positionally."""
    names = [f.name for f in fields(TimelinePoint)]
    out: dict[tuple[str, str], list[TimelinePoint]] = {}
    for experiment, variant, *point in frame.select("experiment", "variant", *names).iter_rows():
        out.setdefault((experiment, variant), []).append(TimelinePoint(*point))
    return {key: tuple(points) for key, points in out.items()}
