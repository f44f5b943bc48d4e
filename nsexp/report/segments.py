"""The segment readout for people and machines: JSON, text, Markdown and the page's frames."""

from __future__ import annotations

from typing import Any

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.intervals import interval_name
from nsexp.analysis.results import FIGURES, finite
from nsexp.analysis.segments import SegmentReadout
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.report.json import dumps, experiment_dict, readout_dict
from nsexp.report.markdown import to_markdown, to_table
from nsexp.report.text import aligned, markdown_table, md_code, md_escape

HETEROGENEITY_FIELDS = (
    "variant",
    "metric",
    "segments",
    "pooled_rel_effect",
    "q",
    "df",
    "p_value",
    "i2",
)


def segment_dict(sr: SegmentReadout) -> dict[str, Any]:
    """JSON: per experiment its segments (each a full experiment readout) and the Q tests."""
    whole = readout_dict(sr.readout)
    experiments = []
    for base, members in sr.segments.items():
        het = sr.heterogeneity.filter(pl.col("experiment") == base)
        experiments.append(
            {
                "experiment": base,
                "segments": [
                    {"segment": value, **experiment_dict(sr.readout.experiments[eid])}
                    for value, eid in members
                ],
                "heterogeneity": [
                    {k: finite(row[k]) for k in HETEROGENEITY_FIELDS}
                    for row in het.iter_rows(named=True)
                ],
            }
        )
    return {
        "segment_column": sr.column,
        "settings": whole["settings"],
        "methods": [*whole["methods"], HETEROGENEITY_METHOD],
        "north_star": whole["north_star"],
        "data_fingerprint": whole["data_fingerprint"],
        "experiments": experiments,
    }


HETEROGENEITY_METHOD = (
    "Segments: each segment is read out on its own (own SRM check and correction families); "
    "Cochran's Q tests whether the relative effect differs across segments (χ² with k − 1 df; "
    "I² is the share of the spread beyond chance)."
)


def heterogeneity_rows(sr: SegmentReadout, base: str) -> list[list[str]]:
    """Formatted rows of the Q tests of one experiment, for a table or Markdown."""
    return [
        [
            row["variant"],
            row["metric"],
            str(row["segments"]),
            fmt.pct(row["pooled_rel_effect"]),
            "—" if row["q"] is None else f"{row['q']:.2f}",
            fmt.p_bare(row["p_value"]),
            "—" if row["i2"] is None else f"{row['i2'] * 100:.0f}%",
        ]
        for row in sr.heterogeneity.filter(pl.col("experiment") == base).iter_rows(named=True)
    ]


HETEROGENEITY_HEADERS = ["Variant", "Metric", "Segments", "Pooled lift", "Q", "p", "I²"]


def segment_text(sr: SegmentReadout, markdown: bool) -> str:
    """The per-segment readout (table or Markdown) followed by each experiment's Q tests."""
    body = to_markdown(sr.readout) if markdown else to_table(sr.readout)
    lines = [body.rstrip("\n"), ""]
    for base in sr.segments:
        rows = heterogeneity_rows(sr, base)
        if markdown:
            title = f"Does the effect differ by {md_escape(sr.column)}? {md_code(base)}"
            rows = [[md_code(variant), md_code(metric), *rest] for variant, metric, *rest in rows]
            lines += [f"### {title} (Cochran's Q)", "", markdown_table(HETEROGENEITY_HEADERS, rows)]
        else:
            title = f"Does the effect differ by {sr.column}? {base} (Cochran's Q)"
            lines += [title, aligned(HETEROGENEITY_HEADERS, rows, indent="  ", rule=False)]
        lines.append("")
    return "\n".join(lines)


def segment_output(sr: SegmentReadout, output: str) -> str:
    """The segment readout as table, markdown or json text."""
    if output == "json":
        text = dumps(segment_dict(sr))
    else:
        text = segment_text(sr, markdown=output == "markdown")
    return text


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
        low, high = ns.decision_interval
        rows.append(
            {
                "segment": value,
                "units": e.units,
                "rel_effect": ns.decision_effect,
                "ci_low": low,
                "ci_high": high,
                "p_adjusted": ns.p_adjusted,
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


def segment_table(frame: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """segment_frame for people, the interval named for what it is under `settings`."""
    return frame.select(
        pl.col("segment").alias("Segment"),
        pl.col("units").map_elements(fmt.count, return_dtype=pl.String).alias("Units"),
        pl.struct("rel_effect", "ci_low", "ci_high")
        .map_elements(
            lambda r: f"{fmt.pct(r['rel_effect'])} {fmt.pct_ci(r['ci_low'], r['ci_high'])}",
            return_dtype=pl.String,
        )
        .alias(f"North Star lift, {interval_name(settings, short=True)}"),
        pl.col("p_adjusted")
        .map_elements(fmt.p_bare, return_dtype=pl.String)
        .fill_null("—")
        .alias(FIGURES["p_adjusted"].label),
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
