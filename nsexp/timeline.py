"""The North Star's cumulative effect day by day, for the readout's over-time chart."""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.io import Dataset
from nsexp.io.schema import SUMS
from nsexp.readout import Settings, arm_sums, pair_arms
from nsexp.stats import compare

TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    "date": pl.Date(),
    "n_control": pl.Int64(),
    "n_treatment": pl.Int64(),
    "rel_effect": pl.Float64(),
    "rel_ci_low": pl.Float64(),
    "rel_ci_high": pl.Float64(),
    "p_value": pl.Float64(),
}


def cumulative(summary: pl.DataFrame) -> pl.DataFrame:
    """Running totals per experiment, variant and metric over every date of the experiment.

    Days on which an arm had no new units carry its previous totals forward.
    """
    dated = summary.drop_nulls("date")
    grid = (
        dated.select("experiment", "variant", "metric")
        .unique()
        .join(dated.select("experiment", "date").unique(), on="experiment")
    )
    return (
        grid.join(dated, on=["experiment", "variant", "metric", "date"], how="left")
        .with_columns(pl.col("n").fill_null(0), *(pl.col(c).fill_null(0.0) for c in SUMS))
        .sort("experiment", "variant", "metric", "date")
        .with_columns(
            pl.col("n", *SUMS).cum_sum().over("experiment", "variant", "metric"),
        )
    )


def north_star_timeline(
    dataset: Dataset, settings: Settings, experiment_id: str, metric: str | None = None
) -> pl.DataFrame:
    """Cumulative relative effect of the North Star (or `metric`) per treatment and date.

    Each date's figures use every unit exposed up to that date: a fixed-horizon test at each
    look, so the intervals are not corrected for looking repeatedly.
    """
    metric = metric or dataset.catalog.north_star.id
    summary = dataset.summary.filter(
        (pl.col("experiment") == experiment_id) & (pl.col("metric") == metric)
    )
    if summary["date"].null_count() == summary.height:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    control = dataset.experiments[experiment_id].control
    pairs = pair_arms(
        cumulative(summary), {experiment_id: control}, ["experiment", "metric", "date"]
    )
    pairs = pairs.filter((pl.col("n") > 1) & (pl.col("n_c") > 1)).sort("variant", "date")
    kind = np.full(pairs.height, dataset.catalog.metrics[metric].type)
    result = compare(kind, arm_sums(pairs, "_c"), arm_sums(pairs), settings.alpha)
    return pairs.select(
        "experiment",
        "variant",
        "date",
        pl.col("n_c").alias("n_control"),
        pl.col("n").alias("n_treatment"),
        pl.Series("rel_effect", result.rel_effect),
        pl.Series("rel_ci_low", result.rel_ci_low),
        pl.Series("rel_ci_high", result.rel_ci_high),
        pl.Series("p_value", result.p_value),
    ).with_columns(pl.col(pl.Float64).fill_nan(None))
