"""How often each metric moved across the portfolio, and the North Star with it (North Star
page): counted over the valid comparisons, from the result model."""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import Readout
from nsexp.config.catalog import ROLE_LABELS, ROLES

COUNTS = (
    "comparisons",
    "experiments",
    "experiments_moved",
    "comparisons_moved",
    "better",
    "worse",
    "ns_moved_with",
    "ns_followed",
)
_ROWS = {
    "experiment": pl.String,
    "variant": pl.String,
    "metric": pl.String,
    "moved": pl.Boolean,
    "outcome": pl.String,
    "ns_moved": pl.Boolean,
    "ns_outcome": pl.String,
}


def metric_movement(readout: Readout) -> pl.DataFrame:
    """Per metric, over the valid comparisons (one treatment against its control, verdict not
    invalid): how many comparisons (and experiments) moved it significantly, better or worse,
    and in how many of those comparisons the North Star moved significantly too, and in the
    same good direction."""
    rows = [
        (m.experiment, m.variant, m.metric, bool(m.significant), m.outcome, ns_moved, ns.outcome)
        for t in readout.valid_treatments()
        for ns in [t.north_star]
        for ns_moved in [bool(ns.significant)]
        for m in t.metrics
    ]
    results = pl.DataFrame(rows, schema=_ROWS, orient="row")
    moved = pl.col("moved")
    per_metric = results.group_by("metric").agg(
        pl.len().alias("comparisons"),
        pl.col("experiment").n_unique().alias("experiments"),
        pl.col("experiment").filter(moved).n_unique().alias("experiments_moved"),
        moved.sum().alias("comparisons_moved"),
        (pl.col("outcome") == "better").sum().alias("better"),
        (pl.col("outcome") == "worse").sum().alias("worse"),
        (moved & pl.col("ns_moved")).sum().alias("ns_moved_with"),
        (moved & (pl.col("outcome") == pl.col("ns_outcome"))).sum().alias("ns_followed"),
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
    return (
        catalog.join(per_metric, on="metric", how="left")
        .with_columns(pl.col(COUNTS).fill_null(0).cast(pl.Int64))
        .sort("role_order", "metric_order")
        .drop("role_order", "metric_order")
    )


def movement_table(movement: pl.DataFrame) -> pl.DataFrame:
    """metric_movement for people: one row per metric with counts in words."""
    columns = [
        "Metric",
        "Role",
        "Comparisons that moved it",
        "Better / worse",
        "North Star moved too",
        "North Star followed",
    ]
    rows = []
    for m in movement.iter_rows(named=True):
        is_ns = m["role"] == "north_star"
        moved = m["comparisons_moved"]
        cells = (
            m["label"],
            ROLE_LABELS[m["role"]],
            f"{moved} of {m['comparisons']}",
            f"{m['better']} / {m['worse']}",
            "—" if is_ns else _share(m["ns_moved_with"], moved),
            "—" if is_ns else _share(m["ns_followed"], moved),
        )
        rows.append(dict(zip(columns, cells, strict=True)))
    return pl.DataFrame(rows, schema={c: pl.String for c in columns})


def _share(part: int, whole: int) -> str:
    return "never moved" if whole == 0 else f"{part} of {whole} ({part / whole:.0%})"
