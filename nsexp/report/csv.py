"""One experiment's readout as CSV: a row per treatment x metric with the raw figures."""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import ExperimentReadout
from nsexp.analysis.results import RESULT_SCHEMA

# The export's columns: who, the verdict, then the figures a spreadsheet needs.
HEAD = ("experiment", "variant", "verdict", "north_star_status")
FIGURES = (
    "metric",
    "label",
    "role",
    "type",
    "direction",
    "practical_threshold",
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
    "rel_ci_adj_low",
    "rel_ci_adj_high",
    "variance_reduction",
    "mde",
    "days_needed",
    "chance_to_win",
    "expected_loss",
    "rel_cred_low",
    "rel_cred_high",
    "non_inferiority_margin",
    "guardrail_power",
    "guardrail_status",
    "significant",
    "note",
)


def readout_csv(e: ExperimentReadout) -> str:
    """The experiment's figures, one row per treatment and metric."""
    schema = {"verdict": pl.String, "north_star_status": pl.String} | {
        k: RESULT_SCHEMA[k] for k in ("experiment", "variant", *FIGURES)
    }
    rows = [
        {"verdict": t.verdict, "north_star_status": t.north_star_status}
        | {k: getattr(m, k) for k in ("experiment", "variant", *FIGURES)}
        for t in e.treatments
        for m in t.metrics
    ]
    return pl.DataFrame(rows, schema=schema).select(*HEAD, *FIGURES).write_csv()
