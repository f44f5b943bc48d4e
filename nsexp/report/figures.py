"""One treatment's figures as frames for the readout page: the table of every metric, the
North Star's timeline and the bootstrap check, all from the result model (live or pinned)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import OUTCOME_LABELS, TIMELINE_SCHEMA, MetricResult, TimelinePoint
from nsexp.analysis.settings import Settings
from nsexp.config.catalog import ROLE_LABELS
from nsexp.report.notes import guardrail_text


def metric_table(metrics: Sequence[MetricResult], settings: Settings) -> pl.DataFrame:
    """Every figure of one treatment, formatted for people, North Star first. Lift is the
    decision effect (the posterior mean under the Bayesian engine, beside the raw Estimate,
    chance to beat control, expected loss and credible interval)."""
    level = f"{(1 - settings.alpha) * 100:g}% CI"
    bayesian = settings.engine == "bayesian"
    rows = []
    for m in metrics:
        row = {
            "Metric": m.name,
            "Role": ROLE_LABELS.get(m.role, m.role),
            "Control": fmt.value(m.control_mean, m.type),
            "Treatment": fmt.value(m.treatment_mean, m.type),
            "Difference": fmt.effect(m.abs_effect, m.type),
            "Lift": fmt.pct(m.decision_effect),
            level: fmt.pct_ci(m.rel_ci_low, m.rel_ci_high),
            "Adjusted CI": fmt.pct_ci(m.rel_ci_adj_low, m.rel_ci_adj_high),
            "p": fmt.p_bare(m.p_value),
            "p (adjusted)": fmt.p_bare(m.p_adjusted),
        }
        if bayesian:
            row |= {
                "Estimate": fmt.pct(m.rel_effect),
                "Chance to win": fmt.chance(m.chance_to_win),
                "Expected loss": fmt.pct(m.expected_loss, 2, signed=False),
                "Credible interval": fmt.pct_ci(m.rel_cred_low, m.rel_cred_high),
            }
        row |= {
            "Result": OUTCOME_LABELS[m.outcome],
            "Detectable today": fmt.pct(m.mde, signed=False),
            "Guardrail": guardrail_text(m),
            "Units": f"{fmt.count(m.n_control)} / {fmt.count(m.n_treatment)}",
            "Note": m.note or "",
        }
        rows.append(row)
    return pl.DataFrame(rows, schema={k: pl.String for k in _table_columns(level, bayesian)})


def _table_columns(level: str, bayesian: bool = False) -> list[str]:
    return [
        "Metric",
        "Role",
        "Control",
        "Treatment",
        "Difference",
        "Lift",
        level,
        "Adjusted CI",
        "p",
        "p (adjusted)",
        *(("Estimate", "Chance to win", "Expected loss", "Credible interval") if bayesian else ()),
        "Result",
        "Detectable today",
        "Guardrail",
        "Units",
        "Note",
    ]


def compact_columns(bayesian: bool = False) -> list[str]:
    """The columns of metric_table shown by default, narrow enough for a laptop screen: the
    lift with the interval that decides (adjusted, or credible), the result and the guardrail.
    Difference, unadjusted figures, what is detectable today, units and notes are in
    all columns."""
    decide = ("Chance to win", "Credible interval") if bayesian else ("Adjusted CI", "p (adjusted)")
    return ["Metric", "Role", "Control", "Treatment", "Lift", *decide, "Result", "Guardrail"]


def timeline_rows(points: Sequence[TimelinePoint]) -> pl.DataFrame:
    """A comparison's North Star timeline points as a frame, one row per date
    (TIMELINE_SCHEMA without the keys; empty when the data has no dates)."""
    schema = {k: v for k, v in TIMELINE_SCHEMA.items() if k not in ("experiment", "variant")}
    rows = [{k: getattr(p, k) for k in schema} for p in points]
    return pl.DataFrame(rows, schema=schema)


def bootstrap_table(metrics: Sequence[MetricResult], settings: Settings) -> pl.DataFrame:
    """The analytic and the bootstrap interval of each resampled metric of one treatment."""
    level = f"{(1 - settings.alpha) * 100:g}%"
    columns = ["Metric", "Lift", f"Analytic {level} CI", f"Bootstrap {level} CI"]
    rows = [
        dict(
            zip(
                columns,
                (
                    m.name,
                    fmt.pct(m.rel_effect),
                    fmt.pct_ci(m.rel_ci_low, m.rel_ci_high),
                    fmt.pct_ci(m.rel_ci_boot_low, m.rel_ci_boot_high),
                ),
                strict=True,
            )
        )
        for m in metrics
        if m.rel_ci_boot_low is not None
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})
