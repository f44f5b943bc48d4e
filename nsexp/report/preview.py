"""What a data directory holds, as tables for people: experiments, the catalog, summary rows
and each arm's share of units against the planned split."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from nsexp.analysis.srm import Srm
from nsexp.config.catalog import ROLE_LABELS, Catalog
from nsexp.errors import InputError
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


def split_table(checks: Mapping[str, Srm]) -> pl.DataFrame:
    """One row per arm of every experiment: units, observed and planned share (planned as the
    check used it: declared, or equal when `assumed`), and the experiment's SRM p-value."""
    rows = [
        {
            "experiment": eid,
            "variant": variant,
            "units": units,
            "observed_share": units / total,
            "planned_share": srm.expected[variant],
            "assumed": srm.assumed,
            "p_value": srm.p_value,
            "mismatch": srm.mismatch,
        }
        for eid, srm in checks.items()
        for total in [sum(srm.counts.values())]
        for variant, units in srm.counts.items()
    ]
    schema = {
        "experiment": pl.String,
        "variant": pl.String,
        "units": pl.Int64,
        "observed_share": pl.Float64,
        "planned_share": pl.Float64,
        "assumed": pl.Boolean,
        "p_value": pl.Float64,
        "mismatch": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema)


def planned_splits(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, float]]:
    """The splits a person changed in a split table (`after` is `before` edited): experiment ->
    variant -> share, for each experiment whose shares, as relative weights, now differ.
    InputError when a changed experiment has an arm without a positive share."""
    joined = before.select("experiment", "variant", old="planned_share").join(
        after.select("experiment", "variant", new="planned_share"),
        on=["experiment", "variant"],
        maintain_order="left",
    )
    out: dict[str, dict[str, float]] = {}
    for (eid,), part in joined.partition_by("experiment", as_dict=True).items():
        new = part["new"]
        if new.null_count() or (new <= 0).any() or not new.is_finite().all():
            raise InputError(
                f"experiment {eid}: every arm needs a positive planned share",
                file="experiments.toml",
                fix="give each arm its planned share, e.g. 10 / 80 / 10, or undo the edit",
            )
        old = part["old"]
        if ((new / new.sum() - old / old.sum()).abs() > 1e-9).any():
            out[str(eid)] = {str(v): float(x) for v, x in zip(part["variant"], new, strict=True)}
    return out
