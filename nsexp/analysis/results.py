"""The one result model: every figure of one metric in one treatment-versus-control comparison.

`MetricResult` declares each field once: its Polars type, and how it is published (a Figure:
its label, its kind of number, which fixes its format, its place in the JSON and whether the
CSV carries it). The vectorised computation (nsexp.analysis.compute) produces a frame of exactly
RESULT_SCHEMA; the readout turns its rows into MetricResult records; JSON, Markdown, CSV, page
tables, cards, charts and pins all render those records. JSON_FIELDS, read off the Figures, is
the per-metric JSON contract (names only grow).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import polars as pl

from nsexp import format as fmt

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


def finite_each(xs: Iterable[Any]) -> list[Any]:
    """Each value through `finite`'s rule, inlined in one comprehension (a call per value cost a
    1,000-experiment readout's JSON over a million calls)."""
    return [None if isinstance(x, float) and not math.isfinite(x) else x for x in xs]


# Field metadata: each field's Polars type, so the frame schema is read off the dataclass.
_STR = {"dtype": pl.String()}
_INT = {"dtype": pl.Int64()}
_FLOAT = {"dtype": pl.Float64()}
_BOOL = {"dtype": pl.Boolean()}
_DATE = {"dtype": pl.Date()}


@dataclass(frozen=True, slots=True)
class Figure:
    """How one figure is published: its label for people, its kind of number (which fixes how
    it reads: nsexp.format.figure), its place in the readout JSON's per-metric fields (None:
    not published there) and whether the CSV export carries it."""

    label: str
    kind: fmt.Kind
    json: int | None = None
    csv: bool = False


def _figure(
    dtype: Mapping[str, pl.DataType],
    label: str,
    kind: fmt.Kind,
    json: int | None = None,
    csv: bool = False,
) -> dict[str, Any]:
    """A result field's metadata: its Polars type and how it is published."""
    return {**dtype, "figure": Figure(label, kind, json, csv)}


class DecisionFigure:
    """The figure a readout quotes of a relative lift, defined once for a metric's result and a
    day of the North Star's timeline (which carry the fields named here)."""

    __slots__ = ()
    engine: str | None
    rel_effect: float | None
    rel_ci_low: float | None
    rel_ci_high: float | None
    rel_ci_adj_low: float | None
    rel_ci_adj_high: float | None
    rel_post_mean: float | None
    rel_cred_low: float | None
    rel_cred_high: float | None

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


@dataclass(slots=True, unsafe_hash=True)  # never changed once built: hashable by value
class MetricResult(DecisionFigure):
    """Every figure of one metric of one treatment against its control (None: not defined).

    Read-only by convention: not `frozen`, because a frozen dataclass sets each of its ~60
    fields through object.__setattr__, which made building the records of a 1,000-experiment
    portfolio take seconds.

    Absolute effects are treatment − control; relative ones treatment ÷ control − 1. `*_ci_*`
    are (1 − α) intervals, `*_ci_adj_*` agree with p_adjusted (widened for many tests),
    `equivalence_ci_*` is the (1 − 2α) interval of the flat test, `rel_cred_*` the Bayesian
    credible interval.
    """

    experiment: str = field(metadata=_figure(_STR, "Experiment", "text"))
    variant: str = field(metadata=_figure(_STR, "Variant", "text"))
    metric: str = field(metadata=_figure(_STR, "Metric id", "text", json=0, csv=True))
    label: str = field(metadata=_figure(_STR, "Label", "text", json=1, csv=True))
    role: str = field(metadata=_figure(_STR, "Role", "text", json=2, csv=True))
    type: str = field(metadata=_figure(_STR, "Type", "text", json=3, csv=True))
    direction: str = field(metadata=_figure(_STR, "Direction", "text", json=4, csv=True))
    practical_threshold: float = field(
        metadata=_figure(_FLOAT, "Practical threshold", "threshold", json=18, csv=True)
    )
    n_control: int = field(metadata=_figure(_INT, "Control units", "count", json=5, csv=True))
    n_treatment: int = field(metadata=_figure(_INT, "Treatment units", "count", json=6, csv=True))
    control_mean: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Control", "mean", json=7, csv=True)
    )
    treatment_mean: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Treatment", "mean", json=8, csv=True)
    )
    abs_effect: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Difference", "difference", json=9, csv=True)
    )
    abs_se: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Difference SE", "difference")
    )
    abs_ci_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Difference CI low", "difference", json=10, csv=True)
    )
    abs_ci_high: float | None = field(
        default=None,
        metadata=_figure(_FLOAT, "Difference CI high", "difference", json=11, csv=True),
    )
    rel_effect: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Estimate", "lift", json=12, csv=True)
    )
    rel_se: float | None = field(default=None, metadata=_figure(_FLOAT, "Lift SE", "share"))
    rel_ci_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "CI low", "lift", json=13, csv=True)
    )
    rel_ci_high: float | None = field(
        default=None, metadata=_figure(_FLOAT, "CI high", "lift", json=14, csv=True)
    )
    equivalence_ci_low: float | None = field(
        default=None,
        metadata=_figure(_FLOAT, "Equivalence interval low", "lift", json=43, csv=True),
    )
    equivalence_ci_high: float | None = field(
        default=None,
        metadata=_figure(_FLOAT, "Equivalence interval high", "lift", json=44, csv=True),
    )
    p_value: float | None = field(
        default=None, metadata=_figure(_FLOAT, "p", "p", json=15, csv=True)
    )
    p_adjusted: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Adjusted p", "p", json=16, csv=True)
    )
    significant: bool | None = field(
        default=None, metadata=_figure(_BOOL, "Significant", "flag", json=17, csv=True)
    )
    better: bool | None = field(default=None, metadata=_figure(_BOOL, "Better", "flag", json=45))
    worse: bool | None = field(default=None, metadata=_figure(_BOOL, "Worse", "flag", json=46))
    flat: bool | None = field(default=None, metadata=_figure(_BOOL, "Flat", "flag", json=47))
    units_needed: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Units needed", "count", json=22)
    )
    variance_reduction: float | None = field(
        default=None,
        metadata=_figure(_FLOAT, "Variance removed (CUPED)", "share", json=20, csv=True),
    )
    cuped_theta: float | None = field(
        default=None, metadata=_figure(_FLOAT, "CUPED slope", "number")
    )
    mde: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Detectable today", "share", json=21, csv=True)
    )
    days_needed: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Days needed", "count", json=23, csv=True)
    )
    abs_ci_adj_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Adjusted difference CI low", "difference", json=24)
    )
    abs_ci_adj_high: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Adjusted difference CI high", "difference", json=25)
    )
    rel_ci_adj_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Adjusted CI low", "lift", json=26, csv=True)
    )
    rel_ci_adj_high: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Adjusted CI high", "lift", json=27, csv=True)
    )
    rel_post_mean: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Posterior mean", "lift", json=49, csv=True)
    )
    chance_to_win: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Chance to win", "chance", json=28, csv=True)
    )
    expected_loss: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Expected loss", "loss", json=29, csv=True)
    )
    rel_cred_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Credible interval low", "lift", json=30, csv=True)
    )
    rel_cred_high: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Credible interval high", "lift", json=31, csv=True)
    )
    non_inferiority_margin: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Non-inferiority margin", "share", json=33, csv=True)
    )
    non_inferiority_p: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Non-inferiority p", "p", json=34)
    )
    guardrail_power: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Guardrail power", "chance", json=35, csv=True)
    )
    guardrail_status: str | None = field(
        default=None, metadata=_figure(_STR, "Guardrail", "text", json=32, csv=True)
    )
    engine: str | None = field(default=None, metadata=_figure(_STR, "Engine", "text", json=48))
    rel_ci_boot_low: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Bootstrap CI low", "lift", json=36)
    )
    rel_ci_boot_high: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Bootstrap CI high", "lift", json=37)
    )
    note: str | None = field(
        default=None, metadata=_figure(_STR, "Note", "text", json=19, csv=True)
    )
    method: str | None = field(default=None, metadata=_figure(_STR, "Method", "text", json=38))
    ci_method: str | None = field(
        default=None, metadata=_figure(_STR, "Difference CI method", "text", json=39)
    )
    rel_ci_method: str | None = field(
        default=None, metadata=_figure(_STR, "Lift CI method", "text", json=40)
    )
    decisive: bool | None = field(
        default=None, metadata=_figure(_BOOL, "Can decide", "flag", json=41)
    )
    sequential_n: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Planned units (sequential)", "count", json=42)
    )
    trusted: bool = field(
        default=True, metadata=_figure(_BOOL, "Trusted", "flag", json=50, csv=True)
    )
    # the Bayesian prior of the true relative lift (nsexp.analysis.priors)
    prior_mean: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Prior mean", "lift", json=51)
    )
    prior_sd: float | None = field(
        default=None, metadata=_figure(_FLOAT, "Prior SD", "share", json=52)
    )
    prior_source: str | None = field(default=None, metadata=_figure(_STR, "Prior", "text", json=53))
    prior_comparisons: int | None = field(
        default=None, metadata=_figure(_INT, "Prior comparisons", "count", json=54)
    )
    # CUPED by Lin's estimator: each arm's own slope, and the variance an adjustment that would
    # widen the interval would have added (it was refused; nsexp.stats.cuped)
    cuped_slope_control: float | None = field(
        default=None, metadata=_figure(_FLOAT, "CUPED slope (control)", "number")
    )
    cuped_slope_treatment: float | None = field(
        default=None, metadata=_figure(_FLOAT, "CUPED slope (treatment)", "number")
    )
    cuped_variance_increase: float | None = field(
        default=None,
        metadata=_figure(_FLOAT, "Variance CUPED would add (refused)", "share", json=55),
    )
    # how many tests the multiplicity correction counts with this one (its family: the North
    # Star across treatments, or every other metric of the experiment), so its interval is named
    family_size: int | None = field(
        default=None, metadata=_figure(_INT, "Tests corrected together", "count", json=56)
    )

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
    def decision_abs_interval(self) -> tuple[float | None, float | None]:
        """The absolute interval that agrees with p_adjusted (the plain one if none)."""
        if self.abs_ci_adj_low is not None or self.abs_ci_adj_high is not None:
            return self.abs_ci_adj_low, self.abs_ci_adj_high
        return self.abs_ci_low, self.abs_ci_high


RESULT_SCHEMA: dict[str, pl.DataType] = {f.name: f.metadata["dtype"] for f in fields(MetricResult)}

# Every field's Figure, and those of the derived figures the tables show: the metric's name,
# the lift that decides (decision_effect) and the outcome.
FIGURES: dict[str, Figure] = {f.name: f.metadata["figure"] for f in fields(MetricResult)} | {
    "name": Figure("Metric", "text"),
    "decision_effect": Figure("Lift", "lift"),
    "outcome": Figure("Result", "text"),
}
# The per-metric fields of the readout JSON, in their published order (a fixed contract: names
# only grow, a new one takes the next position).
JSON_FIELDS: tuple[str, ...] = tuple(
    k for _, k in sorted((f.json, k) for k, f in FIGURES.items() if f.json is not None)
)
# The figures the CSV export carries, in the model's order.
CSV_FIELDS: tuple[str, ...] = tuple(k for k, f in FIGURES.items() if f.csv)


def metric_results(frame: pl.DataFrame) -> tuple[MetricResult, ...]:
    """Records of the rows of a results frame (RESULT_SCHEMA columns; NaN already None),
    built positionally from whole columns: RESULT_SCHEMA is the dataclass's field order, and
    keyword arguments, or Polars' rows, cost several times more for a 1,000-experiment
    portfolio."""
    return tuple(map(MetricResult, *(frame.get_column(c).to_list() for c in RESULT_SCHEMA)))


@dataclass(slots=True, unsafe_hash=True)  # never changed once built: hashable by value
class TimelinePoint(DecisionFigure):
    """The North Star on one date as the readout of the data up to that date gives it (every
    unit exposed by then): its estimate, plain interval and p, and the figures that decide
    (adjusted p and interval, the posterior), so `decision_effect` and `decision_interval` read
    as the card's. A point of an older pin has none of the deciding figures: it reads as the
    plain ones. Read-only by convention, like MetricResult (frozen cost a setattr per field)."""

    date: dt.date = field(metadata=_DATE)
    n_control: int = field(metadata=_INT)
    n_treatment: int = field(metadata=_INT)
    rel_effect: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_high: float | None = field(default=None, metadata=_FLOAT)
    p_value: float | None = field(default=None, metadata=_FLOAT)
    p_adjusted: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_adj_low: float | None = field(default=None, metadata=_FLOAT)
    rel_ci_adj_high: float | None = field(default=None, metadata=_FLOAT)
    rel_post_mean: float | None = field(default=None, metadata=_FLOAT)
    rel_cred_low: float | None = field(default=None, metadata=_FLOAT)
    rel_cred_high: float | None = field(default=None, metadata=_FLOAT)
    engine: str | None = field(default=None, metadata=_STR)


TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    **{f.name: f.metadata["dtype"] for f in fields(TimelinePoint)},
}
TIMELINE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TimelinePoint) if f.name != "date")


def timeline_points(frame: pl.DataFrame) -> dict[tuple[str, str], tuple[TimelinePoint, ...]]:
    """Records of every comparison's timeline rows (TIMELINE_SCHEMA columns, in date order per
    comparison), keyed by (experiment, treatment) in order of first appearance: built
    positionally from whole columns and bucketed in one pass (Polars' rows of lists cost more
    than the records)."""
    names = [f.name for f in fields(TimelinePoint)]
    points = map(TimelinePoint, *(frame.get_column(c).to_list() for c in names))
    keys = zip(
        frame.get_column("experiment").to_list(), frame.get_column("variant").to_list(), strict=True
    )
    out: dict[tuple[str, str], list[TimelinePoint]] = {}
    for key, point in zip(keys, points, strict=True):
        out.setdefault(key, []).append(point)
    return {key: tuple(series) for key, series in out.items()}
