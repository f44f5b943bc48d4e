"""One experiment's readout as CSV: a row per treatment x metric with the raw figures, the
settings that produced them and the link back to the view.

Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return; OWASP's CSV-injection guidance) get a leading apostrophe; numbers are numbers
and are left alone."""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import ExperimentReadout
from nsexp.analysis.results import RESULT_SCHEMA

# The export's columns: who, the verdict, then the figures a spreadsheet needs, then how.
HEAD = ("experiment", "variant", "verdict", "north_star_status")
HOW = ("alpha", "correction", "engine", "sequential", "view")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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
    "rel_post_mean",
    "equivalence_ci_low",
    "equivalence_ci_high",
    "significant",
    "trusted",
    "note",
)


def readout_csv(e: ExperimentReadout, view: str = "") -> str:
    """The experiment's figures, one row per treatment and metric, with the settings that
    produced them and `view`, the link that reopens the readout."""
    schema = {"verdict": pl.String, "north_star_status": pl.String} | {
        k: RESULT_SCHEMA[k] for k in ("experiment", "variant", *FIGURES)
    }
    rows = [
        {"verdict": t.verdict, "north_star_status": t.north_star_status}
        | {k: getattr(m, k) for k in ("experiment", "variant", *FIGURES)}
        for t in e.treatments
        for m in t.metrics
    ]
    settings = e.settings
    frame = pl.DataFrame(rows, schema=schema).with_columns(
        pl.lit(settings.alpha).alias("alpha"),
        pl.lit(settings.correction).alias("correction"),
        pl.lit(settings.engine).alias("engine"),
        pl.lit(settings.sequential).alias("sequential"),
        pl.lit(view).alias("view"),
    )
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.select(*HEAD, *FIGURES, *HOW).with_columns(inert(c) for c in text).write_csv()


def inert(column: str) -> pl.Expr:
    """A text column with every cell a spreadsheet would evaluate prefixed by an apostrophe."""
    col = pl.col(column)
    risky = pl.any_horizontal(col.str.starts_with(s) for s in _FORMULA_START)
    return pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(column)
