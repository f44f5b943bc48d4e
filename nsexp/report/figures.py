"""One treatment's figures as frames for the readout page: the table of every metric, the
North Star's timeline and the bootstrap check, all from the result model (live or pinned)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import isfinite

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.intervals import IntervalKind, interval_name
from nsexp.analysis.readout import TreatmentReadout
from nsexp.analysis.results import (
    FIGURES,
    OUTCOME_LABELS,
    TIMELINE_SCHEMA,
    MetricResult,
    TimelinePoint,
)
from nsexp.analysis.settings import Settings
from nsexp.config.catalog import ROLE_LABELS
from nsexp.report.notes import guardrail_text


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a table of metrics for people: its header and how one metric's cell reads."""

    header: str
    cell: Callable[[MetricResult], str]


def figure_column(name: str) -> Column:
    """The column of one figure of the result model: its declared label, read as its kind (a
    metric's own values to the decimals of the larger arm's, so its row reads one way)."""
    figure = FIGURES[name]
    if figure.kind == "mean":
        return Column(
            figure.label, lambda m: fmt.figure(getattr(m, name), "mean", m.type, arm_scale(m))
        )
    return Column(figure.label, lambda m: fmt.figure(getattr(m, name), figure.kind, m.type))


def arm_scale(m: MetricResult) -> float | None:
    """The larger of the two arms' values in size (None: neither shown)."""
    means = [abs(x) for x in (m.control_mean, m.treatment_mean) if x is not None and isfinite(x)]
    return max(means, default=None)


# Which interval each interval figure is (nsexp.analysis.intervals), by its low end; the
# bootstrap's percentile interval keeps its own label.
INTERVAL_KINDS: dict[str, IntervalKind] = {
    "abs_ci_low": "plain",
    "rel_ci_low": "plain",
    "equivalence_ci_low": "flat",
    "abs_ci_adj_low": "adjusted",
    "rel_ci_adj_low": "adjusted",
    "rel_cred_low": "credible",
}


def interval_column(low: str, settings: Settings) -> Column:
    """The column of an interval (`low` and its `_high` twin), headed by the interval's short
    name: 'CI (95%)', 'Adjusted CI (95%, Holm)', 'Difference always-valid CI (95%)', ..."""
    figure, high = FIGURES[low], low.removesuffix("_low") + "_high"
    kind = INTERVAL_KINDS.get(low)
    if kind is None:
        header = f"{figure.label.removesuffix(' low')} ({(1 - settings.alpha) * 100:g}%)"
    else:
        name = interval_name(settings, kind, short=True)
        difference = f"Difference {name if name.startswith('CI') else name[0].lower() + name[1:]}"
        header = difference if low.startswith("abs_") else name
    return Column(
        header, lambda m: fmt.interval(getattr(m, low), getattr(m, high), figure.kind, m.type)
    )


def columns(settings: Settings) -> dict[str, Column]:
    """Every column a table of metrics can show, by key: a figure, an interval by its low end,
    or one of the composed columns (role by its label, guardrail status, units per arm)."""
    out = {k: figure_column(k) for k, f in FIGURES.items() if not k.endswith(("_low", "_high"))}
    out |= {k: interval_column(k, settings) for k in FIGURES if k.endswith("_low")}
    return out | {
        "role": Column(FIGURES["role"].label, lambda m: ROLE_LABELS.get(m.role, m.role)),
        "outcome": Column(FIGURES["outcome"].label, lambda m: OUTCOME_LABELS[m.outcome]),
        "guardrail_status": Column(FIGURES["guardrail_status"].label, guardrail_text),
        "units": Column(
            "Units", lambda m: f"{fmt.count(m.n_control)} / {fmt.count(m.n_treatment)}"
        ),
    }


# The table of every figure of one treatment (the readout page's), and the Bayesian engine's
# figures it adds after the p-values.
TABLE = (
    "name",
    "role",
    "control_mean",
    "treatment_mean",
    "abs_effect",
    "decision_effect",
    "rel_ci_low",
    "rel_ci_adj_low",
    "p_value",
    "p_adjusted",
    "outcome",
    "mde",
    "guardrail_status",
    "units",
    "note",
)
BAYESIAN = ("rel_effect", "chance_to_win", "expected_loss", "rel_cred_low")


def table_keys(engine: str = "frequentist") -> tuple[str, ...]:
    """The columns of metric_table, by key, under this engine."""
    if engine != "bayesian":
        return TABLE
    cut = TABLE.index("p_adjusted") + 1
    return TABLE[:cut] + BAYESIAN + TABLE[cut:]


def metric_table(metrics: Sequence[MetricResult], settings: Settings) -> pl.DataFrame:
    """Every figure of one treatment, formatted for people, North Star first. Lift is the
    decision effect (the posterior mean under the Bayesian engine, beside the raw Estimate,
    chance to beat control, expected loss and credible interval)."""
    every = columns(settings)
    shown = [every[k] for k in table_keys(settings.engine)]
    return pl.DataFrame(
        {c.header: [c.cell(m) for m in metrics] for c in shown},
        schema={c.header: pl.String for c in shown},
    )


def every_treatment(treatments: Sequence[TreatmentReadout], first: str) -> tuple[MetricResult, ...]:
    """The metrics of every treatment of an experiment, each metric's treatments together and
    `first` (the one on view) first among them, metrics in its order: what a readout's forest
    plot shows, so a verdict card about any treatment has its figures on view."""
    ordered = sorted(treatments, key=lambda t: t.variant != first)
    rank = {m.metric: i for i, m in enumerate(ordered[0].metrics)}
    return tuple(
        sorted(
            (m for t in ordered for m in t.metrics),
            key=lambda m: rank.get(m.metric, len(rank)),  # stable: treatments keep their order
        )
    )


def compact_columns(settings: Settings) -> list[str]:
    """The headers of metric_table shown by default, key columns first so they show in a
    1024 px window: the metric, its lift with the interval that decides (adjusted, or credible),
    the adjusted p (or chance to beat control) and the result; then role, means and guardrail.
    Difference, unadjusted figures, what is detectable today, units and notes are in
    all columns."""
    bayesian = settings.engine == "bayesian"
    decide = ("rel_cred_low", "chance_to_win") if bayesian else ("rel_ci_adj_low", "p_adjusted")
    keys = ("name", "decision_effect", *decide, "outcome", "role", "control_mean")
    every = columns(settings)
    return [every[k].header for k in (*keys, "treatment_mean", "guardrail_status")]


def timeline_rows(points: Sequence[TimelinePoint]) -> pl.DataFrame:
    """A comparison's North Star timeline points as a frame, one row per date
    (TIMELINE_SCHEMA without the keys, and each point's decision figure: `decision_effect`,
    `decision_low`, `decision_high`, as the card reads them; empty when the data has no
    dates)."""
    schema = {k: v for k, v in TIMELINE_SCHEMA.items() if k not in ("experiment", "variant")}
    decision: dict[str, pl.DataType] = {
        k: pl.Float64() for k in ("decision_effect", "decision_low", "decision_high")
    }
    rows = [
        {k: getattr(p, k) for k in schema}
        | dict(zip(decision, (p.decision_effect, *p.decision_interval), strict=True))
        for p in points
    ]
    return pl.DataFrame(rows, schema=schema | decision)


def bootstrap_headers(settings: Settings) -> list[str]:
    """The bootstrap check's columns: the metric, its estimate, the two unadjusted intervals
    it compares (analytic and bootstrap, like with like) and the interval the card quotes,
    each named (nsexp.analysis.intervals)."""
    level = f"{(1 - settings.alpha) * 100:g}%"
    return [
        "Metric",
        FIGURES["rel_effect"].label,
        f"Analytic: {interval_name(settings, 'unadjusted', short=True)}",
        f"Bootstrap: unadjusted CI ({level})",
        f"On the card: {interval_name(settings, 'decision', short=True)}",
    ]


def bootstrap_table(metrics: Sequence[MetricResult], settings: Settings) -> pl.DataFrame:
    """Each resampled metric of one treatment: the bootstrap percentile interval beside the
    analytic interval of the same kind (the test's own, unadjusted: the bootstrap is adjusted
    for nothing either), and the card's interval (adjusted, or credible) named as such."""
    columns = bootstrap_headers(settings)
    rows = [
        dict(
            zip(
                columns,
                (
                    m.name,
                    fmt.pct(m.rel_effect),
                    fmt.pct_ci(m.rel_ci_low, m.rel_ci_high),
                    fmt.pct_ci(m.rel_ci_boot_low, m.rel_ci_boot_high),
                    fmt.pct_ci(*m.decision_interval),
                ),
                strict=True,
            )
        )
        for m in metrics
        if m.rel_ci_boot_low is not None
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def bootstrap_caption(metrics: Sequence[MetricResult], settings: Settings, resamples: int) -> str:
    """What the bootstrap check compares, with every interval named for the tests it counts:
    the two unadjusted intervals side by side, and what the card quotes instead."""
    boot = [m for m in metrics if m.rel_ci_boot_low is not None]
    families = {
        ("the North Star's" if m.role == "north_star" else "the other metrics'"): m.family_size
        for m in boot
    }
    cards = "; ".join(
        f"{who} is its {interval_name(settings, 'decision', tests)}"
        for who, tests in families.items()
    )
    compared = (
        ", but the analytic one is always valid (safe to peek), so wider than the bootstrap's, "
        "which holds at a single look."
        if settings.sequential
        else ", so like is compared with like: close to each other, the normal approximation holds."
    )
    return (
        f"Percentile intervals of the relative lift from {resamples:,} Poisson resamples of the "
        "units (seeded, so the same every time), for mean metrics, beside the analytic "
        f"{interval_name(settings, 'unadjusted')}: neither is widened for many tests{compared} "
        f"The card answers another question (did it move, every test counted): {cards}."
    )
