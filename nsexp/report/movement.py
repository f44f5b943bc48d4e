"""How often each metric moved across the portfolio, and the North Star with it (North Star
page): counted over the valid comparisons as the tree counts its edges (nsexp.learning.tree:
`moved`, `followed`), each metric paired with the North Star."""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import Readout
from nsexp.config.catalog import ROLE_LABELS, ROLES
from nsexp.learning.tree import paired, valid_results

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


def metric_movement(readout: Readout) -> pl.DataFrame:
    """Per metric, over the valid comparisons (one treatment against its control, verdict not
    invalid): how many comparisons (and experiments) moved it significantly, better or worse,
    in how many of those the North Star moved significantly too (`ns_moved_with`) and in how
    many it followed, the same good way (`ns_followed`)."""
    ns = readout.catalog.north_star.id
    edges = [(m, ns, True) for m in readout.catalog.metrics]
    moved = pl.col("moved")
    per_metric = (
        paired(readout.judgement, edges)
        .group_by(pl.col("child").alias("metric"))
        .agg(
            pl.len().alias("comparisons"),
            pl.col("experiment").n_unique().alias("experiments"),
            pl.col("experiment").filter(moved).n_unique().alias("experiments_moved"),
            moved.sum().alias("comparisons_moved"),
            (moved & pl.col("parent_significant").fill_null(False)).sum().alias("ns_moved_with"),
            pl.col("followed").sum().alias("ns_followed"),
        )
    )
    placed = pl.col("rel_effect").is_not_null()  # an outcome needs a relative effect
    outcomes = (
        valid_results(readout.judgement)
        .group_by("metric")
        .agg(
            (placed & pl.col("better")).sum().alias("better"),
            (placed & pl.col("worse")).sum().alias("worse"),
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
    return (
        catalog.join(per_metric, on="metric", how="left")
        .join(outcomes, on="metric", how="left")
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
