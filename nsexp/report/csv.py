"""One experiment's readout as CSV: a row per treatment x metric with the raw figures at full
precision, led by what a reader looks for (experiment, treatment, metric label, role, lift, the
interval that decides, adjusted p, result, verdict), then every other figure, the settings that
produced them and the link back to the view.

Text cells that a spreadsheet would run as a formula (starting with =, +, -, @, a tab or a
carriage return; OWASP's CSV-injection guidance) get a leading apostrophe, and so does each
such start after a `;`, `,`, tab or line break inside a cell, where a spreadsheet that splits
on another separator (semicolon locales) starts a new cell; numbers are numbers and are left
alone."""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import ExperimentReadout
from nsexp.analysis.results import CSV_FIELDS, RESULT_SCHEMA

# The export's columns: what a reader looks for first (the lift and interval that decide: the
# posterior mean and credible interval under the Bayesian engine), then the rest of the figures
# a spreadsheet needs (CSV_FIELDS, declared on the result model), then how.
_LIFT = {
    "frequentist": ("rel_effect", "rel_ci_adj_low", "rel_ci_adj_high"),
    "bayesian": ("rel_post_mean", "rel_cred_low", "rel_cred_high"),
}
HOW = ("alpha", "correction", "engine", "sequential", "view")


def lead(engine: str) -> tuple[str, ...]:
    """The columns a reader needs, first, under this engine."""
    head = ("experiment", "variant", "label", "role", *_LIFT[engine], "p_adjusted", "outcome")
    return (*head, "verdict", "north_star_status")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# a formula start after a field separator of any locale (and spaces): x;=1+1 -> x;'=1+1
_INNER_FORMULA = r"([;,\t\r\n][ ]*)([=+\-@])"


def readout_csv(e: ExperimentReadout, view: str = "") -> str:
    """The experiment's figures, one row per treatment and metric, with the settings that
    produced them and `view`, the link that reopens the readout."""
    settings = e.settings
    first = lead(settings.engine)
    rest = [k for k in CSV_FIELDS if k not in first]
    figures = [k for k in first if k in RESULT_SCHEMA] + rest
    schema = {"outcome": pl.String, "verdict": pl.String, "north_star_status": pl.String} | {
        k: RESULT_SCHEMA[k] for k in figures
    }
    rows = [
        {"outcome": m.outcome, "verdict": t.verdict, "north_star_status": t.north_star_status}
        | {k: getattr(m, k) for k in figures}
        for t in e.treatments
        for m in t.metrics
    ]
    frame = pl.DataFrame(rows, schema=schema).with_columns(
        pl.lit(settings.alpha).alias("alpha"),
        pl.lit(settings.correction).alias("correction"),
        pl.lit(settings.engine).alias("engine"),
        pl.lit(settings.sequential).alias("sequential"),
        pl.lit(view).alias("view"),
    )
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.select(*first, *rest, *HOW).with_columns(inert(c) for c in text).write_csv()


def inert(column: str) -> pl.Expr:
    """A text column with every cell, and every part of a cell after a field separator, that a
    spreadsheet would evaluate prefixed by an apostrophe."""
    col = pl.col(column).str.replace_all(_INNER_FORMULA, "$1'$2")
    risky = pl.any_horizontal(col.str.starts_with(s) for s in _FORMULA_START)
    return pl.when(risky).then(pl.lit("'") + col).otherwise(col).alias(column)
