"""What a data directory holds, as tables for people: experiments, the catalog, summary rows."""

from __future__ import annotations

import polars as pl

from nsexp.config.catalog import ROLE_LABELS, Catalog
from nsexp.io import Dataset

SUMMARY_PREVIEW_ROWS = 20


def experiments_table(dataset: Dataset) -> pl.DataFrame:
    """One row per experiment found: name, owner, control, variants, units, metrics and dates."""
    units = dataset.units.group_by("experiment").agg(
        pl.col("units").sum().alias("units"),
        pl.col("date").min().alias("first_date"),
        pl.col("date").max().alias("last_date"),
    )
    metrics = dataset.summary.group_by("experiment").agg(pl.col("metric").n_unique())
    rows = [
        {
            "experiment": e.id,
            "name": e.info.title,
            "owner": e.info.owner,
            "control": e.control,
            "variants": ", ".join(e.variants),
        }
        for e in dataset.experiments.values()
    ]
    schema = {c: pl.String for c in ("experiment", "name", "owner", "control", "variants")}
    return (
        pl.DataFrame(rows, schema=schema)
        .join(units, on="experiment", how="left")
        .join(metrics.rename({"metric": "metrics"}), on="experiment", how="left")
        .select(
            "experiment",
            "name",
            "owner",
            "control",
            "variants",
            "units",
            "metrics",
            "first_date",
            "last_date",
        )
    )


def metrics_table(catalog: Catalog) -> pl.DataFrame:
    """The catalog in role order: id, label, role, type, direction, columns, threshold."""
    return pl.DataFrame(
        [
            {
                "metric": m.id,
                "label": m.label,
                "role": ROLE_LABELS[m.role],
                "type": m.type,
                "direction": m.direction,
                "columns": " / ".join(m.columns),
                "practical_threshold": m.practical_threshold,
            }
            for m in catalog.ordered()
        ],
        schema={
            "metric": pl.String,
            "label": pl.String,
            "role": pl.String,
            "type": pl.String,
            "direction": pl.String,
            "columns": pl.String,
            "practical_threshold": pl.Float64,
        },
    )


def summary_head(dataset: Dataset, rows: int = SUMMARY_PREVIEW_ROWS) -> pl.DataFrame:
    """The first rows of the summary table the statistics read (n, sum, sum_sq per arm)."""
    return dataset.summary.head(rows)
