"""Readouts as frames for people: the portfolio, one treatment's metrics, the CSV export and
how often each metric moved with the North Star.

Everything here is pure (Polars in, Polars or text out) so the Streamlit pages only arrange it.
The readout page renders the experiment's JSON dict (nsexp.report.json.experiment_dict), which
is also what a pin freezes, so a live and a pinned readout go through the same functions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.readout import Readout
from nsexp.analysis.segments import SegmentReadout
from nsexp.analysis.timeline import TIMELINE_SCHEMA
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.config.catalog import ROLE_LABELS, ROLES

OUTCOMES = ("better", "worse", "not_significant", "no_estimate")
OUTCOME_LABELS = {
    "better": "Better",
    "worse": "Worse",
    "not_significant": "Not significant",
    "no_estimate": "No estimate",
}
ATTENTION = ("invalid", "north_star_loss", "guardrail_breach")
CSV_HEAD = ("experiment", "variant", "verdict", "north_star_status")

# The metric fields of the JSON contract that tables, charts and the CSV export use.
_METRIC_SCHEMA: dict[str, pl.DataType] = {
    "metric": pl.String(),
    "label": pl.String(),
    "role": pl.String(),
    "type": pl.String(),
    "direction": pl.String(),
    "practical_threshold": pl.Float64(),
    "n_control": pl.Int64(),
    "n_treatment": pl.Int64(),
    **{
        f: pl.Float64()
        for f in (
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
        )
    },
    "guardrail_status": pl.String(),
    "significant": pl.Boolean(),
    "note": pl.String(),
}
METRIC_COLUMNS = tuple(_METRIC_SCHEMA)
_TIMELINE_SCHEMA = {k: v for k, v in TIMELINE_SCHEMA.items() if k not in ("experiment", "variant")}


def metrics_frame(comparison: dict[str, Any]) -> pl.DataFrame:
    """One comparison's metric dicts (live or pinned) as a typed frame, with its outcome."""
    rows = [{k: m.get(k) for k in METRIC_COLUMNS} for m in comparison["metrics"]]
    frame = pl.DataFrame(rows, schema=_METRIC_SCHEMA, strict=False)
    return with_outcome(frame)


def timeline_frame(comparison: dict[str, Any]) -> pl.DataFrame:
    """The North Star's cumulative timeline of one comparison (empty when data has no dates)."""
    rows = comparison.get("north_star_timeline") or []
    frame = pl.DataFrame(
        [{k: r.get(k) for k in _TIMELINE_SCHEMA if k != "date"} for r in rows],
        schema={k: v for k, v in _TIMELINE_SCHEMA.items() if k != "date"},
    )
    dates = pl.Series("date", [r["date"] for r in rows], dtype=pl.String).str.to_date()
    return frame.with_columns(dates).select(list(_TIMELINE_SCHEMA))


def with_outcome(metrics: pl.DataFrame) -> pl.DataFrame:
    """Add `outcome`: better / worse (significant, in the metric's good or bad direction),
    not_significant, or no_estimate when the relative effect is undefined."""
    good = pl.when(pl.col("direction") == "decrease").then(-1).otherwise(1)
    outcome = (
        pl.when(pl.col("rel_effect").is_null())
        .then(pl.lit("no_estimate"))
        .when(pl.col("significant").fill_null(False) & (pl.col("rel_effect") * good > 0))
        .then(pl.lit("better"))
        .when(pl.col("significant").fill_null(False) & (pl.col("rel_effect") * good < 0))
        .then(pl.lit("worse"))
        .otherwise(pl.lit("not_significant"))
    )
    return metrics.with_columns(outcome.alias("outcome"))


def _p(p: float | None) -> str:
    return fmt.p_value(p).removeprefix("p ").removeprefix("= ")


def metric_table(metrics: pl.DataFrame, alpha: float, engine: str = "frequentist") -> pl.DataFrame:
    """Every figure of one treatment, formatted for people, North Star first; with the
    Bayesian engine also each metric's chance to beat control, expected loss and credible
    interval."""
    level = f"{(1 - alpha) * 100:g}% CI"
    bayesian = engine == "bayesian"
    rows = []
    for m in metrics.iter_rows(named=True):
        kind = m["type"]
        row = {
            "Metric": m["label"] or m["metric"],
            "Role": ROLE_LABELS.get(m["role"], m["role"]),
            "Control": fmt.value(m["control_mean"], kind),
            "Treatment": fmt.value(m["treatment_mean"], kind),
            "Difference": fmt.effect(m["abs_effect"], kind),
            "Lift": fmt.pct(m["rel_effect"]),
            level: fmt.pct_ci(m["rel_ci_low"], m["rel_ci_high"]),
            "Adjusted CI": fmt.pct_ci(m["rel_ci_adj_low"], m["rel_ci_adj_high"]),
            "p": _p(m["p_value"]),
            "p (adjusted)": _p(m["p_adjusted"]),
        }
        if bayesian:
            row |= {
                "Chance to win": fmt.chance(m["chance_to_win"]),
                "Expected loss": fmt.pct(m["expected_loss"], 2, signed=False),
                "Credible interval": fmt.pct_ci(m["rel_cred_low"], m["rel_cred_high"]),
            }
        row |= {
            "Result": OUTCOME_LABELS[m["outcome"]],
            "Detectable today": fmt.pct(m["mde"], signed=False),
            "Guardrail": guardrail_text(m),
            "Units": f"{fmt.count(m['n_control'])} / {fmt.count(m['n_treatment'])}",
            "Note": m["note"] or "",
        }
        rows.append(row)
    return pl.DataFrame(rows, schema={k: pl.String for k in _table_columns(level, bayesian)})


def guardrail_text(m: dict[str, Any]) -> str:
    """'safe (margin 10%, power 96%)', 'unproven (no margin set)', 'breached (...)'; '' for
    metrics that are not guardrails."""
    status = m.get("guardrail_status")
    if not status:
        return ""
    if m.get("non_inferiority_margin") is None:
        return status if status == "breached" else f"{status} (no margin set)"
    power = m.get("guardrail_power")
    margin = f"margin {m['non_inferiority_margin'] * 100:g}%"
    return f"{status} ({margin})" if power is None else f"{status} ({margin}, power {power:.0%})"


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
        *(("Chance to win", "Expected loss", "Credible interval") if bayesian else ()),
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


def readout_csv(payload: dict[str, Any]) -> str:
    """One experiment's readout as CSV: a row per treatment x metric with the raw figures."""
    frames = [
        metrics_frame(c).select(
            pl.lit(payload["experiment"]).alias("experiment"),
            pl.lit(c["variant"]).alias("variant"),
            pl.lit(c["verdict"]).alias("verdict"),
            pl.lit(c["north_star_status"]).alias("north_star_status"),
            *METRIC_COLUMNS,
        )
        for c in payload["comparisons"]
    ]
    return pl.concat(frames).write_csv()


def readout_url(query: dict[str, str]) -> str:
    """A relative link to the readout page with these query parameters."""
    return "readout?" + urlencode(query)


def portfolio_table(readout: Readout) -> pl.DataFrame:
    """One row per experiment: who, how big, how long, each treatment's verdict and North Star
    effect, sorted so the experiments that need attention come first."""
    rows = []
    for e in readout.experiments.values():
        info, many = e.experiment.info, len(e.treatments) > 1
        verdicts = [t.verdict for t in e.treatments]
        effects = [
            f"{t.variant}: {_ns_text(t.north_star)}" if many else _ns_text(t.north_star)
            for t in e.treatments
        ]
        rows.append(
            {
                "experiment": e.id,
                "name": info.title,
                "owner": info.owner,
                "variants": f"{e.experiment.control} vs {', '.join(e.experiment.treatments)}",
                "days": e.days,
                "units": e.units,
                "verdicts": verdicts,
                "badges": [badge_text(t.variant, t.verdict, many) for t in e.treatments],
                "north_star": " · ".join(effects),
                "rank": min(VERDICTS.index(v) for v in verdicts),
            }
        )
    schema = {
        "experiment": pl.String,
        "name": pl.String,
        "owner": pl.String,
        "variants": pl.String,
        "days": pl.Int64,
        "units": pl.Int64,
        "verdicts": pl.List(pl.String),
        "badges": pl.List(pl.String),
        "north_star": pl.String,
        "rank": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema).sort("rank", "name")


def _ns_text(ns: dict[str, Any]) -> str:
    return f"{fmt.pct(ns['rel_effect'])} {fmt.pct_ci(ns['rel_ci_low'], ns['rel_ci_high'])}"


def badge_text(variant: str, verdict: str, many: bool) -> str:
    """A verdict as a badge reads: the label, prefixed by the variant when there are several."""
    return f"{variant}: {VERDICT_LABELS[verdict]}" if many else VERDICT_LABELS[verdict]


def badge_verdicts(table: pl.DataFrame) -> dict[str, str]:
    """Every badge text of a portfolio table with the verdict it stands for, by text."""
    pairs: dict[str, str] = {}
    for badges, verdicts in zip(table["badges"], table["verdicts"], strict=True):
        pairs.update(zip(badges, verdicts, strict=True))
    return dict(sorted(pairs.items()))


def filter_portfolio(
    table: pl.DataFrame, verdicts: list[str], owner: str | None, search: str
) -> pl.DataFrame:
    """Rows with any of the verdicts (all when none given), of the owner, matching the search
    text in name or id (case-insensitive, literal)."""
    keep = pl.lit(True)
    if verdicts:
        keep &= pl.col("verdicts").list.eval(pl.element().is_in(verdicts)).list.any()
    if owner:
        keep &= pl.col("owner") == owner
    needle = search.strip().lower()
    if needle:
        keep &= pl.col("name").str.to_lowercase().str.contains(needle, literal=True) | pl.col(
            "experiment"
        ).str.to_lowercase().str.contains(needle, literal=True)
    return table.filter(keep)


def portfolio_counts(readout: Readout) -> dict[str, int]:
    """How many experiments there are, and how many have a treatment with a win, a vanity-only
    result or a verdict that needs attention (invalid, North Star loss, guardrail breach)."""
    verdicts = [{t.verdict for t in e.treatments} for e in readout.experiments.values()]
    return {
        "experiments": len(verdicts),
        "north_star_win": sum("north_star_win" in v for v in verdicts),
        "vanity_only": sum("vanity_only" in v for v in verdicts),
        "attention": sum(bool(v & set(ATTENTION)) for v in verdicts),
    }


def metric_movement(readout: Readout) -> pl.DataFrame:
    """Per metric, over the valid comparisons (one treatment against its control, verdict not
    invalid): how many comparisons (and experiments) moved it significantly, better or worse,
    and in how many of those comparisons the North Star moved significantly too, and in the
    same good direction."""
    verdicts = pl.DataFrame(
        [(e.id, t.variant, t.verdict) for e in readout.experiments.values() for t in e.treatments],
        schema={"experiment": pl.String, "variant": pl.String, "verdict": pl.String},
        orient="row",
    )
    results = with_outcome(
        readout.results.join(verdicts, on=["experiment", "variant"]).filter(
            pl.col("verdict") != "invalid"
        )
    )
    ns = results.filter(pl.col("role") == "north_star").select(
        "experiment",
        "variant",
        pl.col("significant").fill_null(False).alias("ns_moved"),
        pl.col("outcome").alias("ns_outcome"),
    )
    moved = pl.col("significant").fill_null(False)
    per_metric = (
        results.join(ns, on=["experiment", "variant"])
        .group_by("metric")
        .agg(
            pl.len().alias("comparisons"),
            pl.col("experiment").n_unique().alias("experiments"),
            pl.col("experiment").filter(moved).n_unique().alias("experiments_moved"),
            moved.sum().alias("comparisons_moved"),
            (pl.col("outcome") == "better").sum().alias("better"),
            (pl.col("outcome") == "worse").sum().alias("worse"),
            (moved & pl.col("ns_moved")).sum().alias("ns_moved_with"),
            (moved & (pl.col("outcome") == pl.col("ns_outcome"))).sum().alias("ns_followed"),
        )
    )
    catalog = pl.DataFrame(
        [
            (m.id, m.label, m.role, ROLES.index(m.role), i, m.description)
            for i, m in enumerate(readout.catalog.metrics.values())
        ],
        schema={
            "metric": pl.String,
            "label": pl.String,
            "role": pl.String,
            "role_order": pl.Int64,
            "metric_order": pl.Int64,
            "description": pl.String,
        },
        orient="row",
    )
    counts = [
        "comparisons",
        "experiments",
        "experiments_moved",
        "comparisons_moved",
        "better",
        "worse",
        "ns_moved_with",
        "ns_followed",
    ]
    return (
        catalog.join(per_metric, on="metric", how="left")
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .sort("role_order", "metric_order")
        .drop("role_order", "metric_order")
    )


def movement_table(movement: pl.DataFrame) -> pl.DataFrame:
    """metric_movement for people: one row per metric with counts in words."""
    rows = []
    for m in movement.iter_rows(named=True):
        is_ns = m["role"] == "north_star"
        moved = m["comparisons_moved"]
        rows.append(
            {
                "Metric": m["label"],
                "Role": ROLE_LABELS[m["role"]],
                "Comparisons that moved it": f"{moved} of {m['comparisons']}",
                "Better / worse": f"{m['better']} / {m['worse']}",
                "North Star moved too": "—" if is_ns else _share(m["ns_moved_with"], moved),
                "North Star followed": "—" if is_ns else _share(m["ns_followed"], moved),
            }
        )
    columns = [
        "Metric",
        "Role",
        "Comparisons that moved it",
        "Better / worse",
        "North Star moved too",
        "North Star followed",
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def _share(part: int, whole: int) -> str:
    return "never moved" if whole == 0 else f"{part} of {whole} ({part / whole:.0%})"


def segment_frame(sr: SegmentReadout, experiment: str, variant: str) -> pl.DataFrame:
    """The North Star of one treatment in each segment of an experiment: units, lift, its
    interval (adjusted like the readout's) and verdict, one row per segment value."""
    rows = []
    for value, eid in sr.segments.get(experiment, []):
        e = sr.readout.experiments[eid]
        t = next((t for t in e.treatments if t.variant == variant), None)
        if t is None:
            continue
        ns = t.north_star
        rows.append(
            {
                "segment": value,
                "units": e.units,
                "rel_effect": ns["rel_effect"],
                "ci_low": _first(ns.get("rel_ci_adj_low"), ns["rel_ci_low"]),
                "ci_high": _first(ns.get("rel_ci_adj_high"), ns["rel_ci_high"]),
                "p_adjusted": ns["p_adjusted"],
                "verdict": t.verdict,
            }
        )
    schema = {
        "segment": pl.String,
        "units": pl.Int64,
        "rel_effect": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_adjusted": pl.Float64,
        "verdict": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def segment_table(frame: pl.DataFrame) -> pl.DataFrame:
    """segment_frame for people."""
    return frame.select(
        pl.col("segment").alias("Segment"),
        pl.col("units").map_elements(fmt.count, return_dtype=pl.String).alias("Units"),
        pl.struct("rel_effect", "ci_low", "ci_high")
        .map_elements(
            lambda r: f"{fmt.pct(r['rel_effect'])} {fmt.pct_ci(r['ci_low'], r['ci_high'])}",
            return_dtype=pl.String,
        )
        .alias("North Star lift (adjusted CI)"),
        pl.col("p_adjusted")
        .map_elements(_p, return_dtype=pl.String)
        .fill_null("—")
        .alias("p (adjusted)"),
        pl.col("verdict").replace_strict(VERDICT_LABELS, return_dtype=pl.String).alias("Verdict"),
    )


def heterogeneity_row(sr: SegmentReadout, experiment: str, variant: str) -> dict[str, Any] | None:
    """Cochran's Q of the North Star across the segments of one treatment, or None."""
    ns = sr.readout.catalog.north_star.id
    het = sr.heterogeneity.filter(
        (pl.col("experiment") == experiment)
        & (pl.col("variant") == variant)
        & (pl.col("metric") == ns)
    )
    return het.row(0, named=True) if het.height else None


def card_notes(comparison: dict[str, Any], engine: str = "frequentist") -> list[str]:
    """Short notes for a treatment's verdict card, from its JSON dict: the variance CUPED
    removed from the North Star, what it can detect today and the days still needed when
    inconclusive, and each guardrail's non-inferiority status with its power."""
    metrics = comparison["metrics"]
    ns = next(m for m in metrics if m["role"] == "north_star")
    notes = []
    if ns.get("variance_reduction") is not None:
        notes.append(
            f"CUPED removed {fmt.pct(ns['variance_reduction'], 0, signed=False)} of the North "
            "Star's variance."
        )
    if comparison["north_star_status"] == "inconclusive" and ns.get("mde") is not None:
        text = f"Detectable today: {fmt.pct(ns['mde'], signed=False)}"
        days = ns.get("days_needed")
        if days is not None and days > 0:
            text += (
                f"; about {fmt.count(days)} more days at current traffic to detect "
                f"{fmt.threshold(ns['practical_threshold'])}"
            )
        notes.append(text + ".")
    guards = [m for m in metrics if m["role"] == "guardrail" and m.get("guardrail_status")]
    if guards:
        notes.append(
            "Guardrails: "
            + "; ".join(f"{m['label'] or m['metric']} {guardrail_text(m)}" for m in guards)
            + "."
        )
    return notes


def bootstrap_table(results: pl.DataFrame, variant: str, alpha: float) -> pl.DataFrame:
    """The analytic and the bootstrap interval of each resampled metric of one treatment
    (results with rel_ci_boot_* columns, as build_readout gives them with a bootstrap)."""
    level = f"{(1 - alpha) * 100:g}%"
    rows = [
        {
            "Metric": r["label"] or r["metric"],
            "Lift": fmt.pct(r["rel_effect"]),
            f"Analytic {level} CI": fmt.pct_ci(r["rel_ci_low"], r["rel_ci_high"]),
            f"Bootstrap {level} CI": fmt.pct_ci(r["rel_ci_boot_low"], r["rel_ci_boot_high"]),
        }
        for r in results.filter(
            (pl.col("variant") == variant) & pl.col("rel_ci_boot_low").is_not_null()
        ).iter_rows(named=True)
    ]
    columns = ["Metric", "Lift", f"Analytic {level} CI", f"Bootstrap {level} CI"]
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})
