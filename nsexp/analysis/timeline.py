"""The North Star's cumulative effect day by day, for the readout's over-time chart."""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.analysis.pairs import arm_sums, pair_arms
from nsexp.analysis.results import TIMELINE_SCHEMA
from nsexp.analysis.settings import Settings
from nsexp.analysis.validity import check, planned_n
from nsexp.io import Dataset
from nsexp.io.moments import running
from nsexp.io.schema import SUMS
from nsexp.stats.compare import compare
from nsexp.stats.sequential import sequential_comparison
from nsexp.stats.skew import corrected, skewness
from nsexp.stats.validity import without_test


def cumulative(summary: pl.DataFrame) -> pl.DataFrame:
    """Running totals per experiment, variant and metric over every date of the experiment.

    Days on which an arm had no new units carry its previous totals forward. The shifted sums
    accumulate on one shift per series (nsexp.io.moments.running), never from raw sums.
    """
    dated = summary.drop_nulls("date")
    grid = (
        dated.select("experiment", "variant", "metric")
        .unique()
        .join(dated.select("experiment", "date").unique(), on="experiment")
    )
    series = ["experiment", "variant", "metric"]
    rows = (
        grid.join(dated, on=[*series, "date"], how="left")
        .with_columns(pl.col("n").fill_null(0), *(pl.col(c).fill_null(0.0) for c in SUMS))
        .sort(*series, "date")
    )
    return running(rows, series).with_columns(pl.col("n", *SUMS).cum_sum().over(series))


def north_star_timelines(
    dataset: Dataset,
    settings: Settings,
    experiment_ids: list[str] | None = None,
    metric: str | None = None,
) -> pl.DataFrame:
    """Cumulative per-date comparisons of the North Star (or `metric`) for many experiments.

    Each date's figures use every unit exposed up to that date: a fixed-horizon test at each
    look, uncorrected for looking repeatedly — unless settings.sequential: then the intervals
    and p-values come from the normal-mixture confidence sequence tuned once to the planned
    sample (nsexp.analysis.validity.planned_n), the same boundary at every date, so the last
    entry matches the sequential readout.
    """
    metric = metric or dataset.catalog.north_star.id
    ids = list(dataset.experiments) if experiment_ids is None else experiment_ids
    summary = dataset.summary.filter(
        pl.col("experiment").is_in(ids) & (pl.col("metric") == metric)
    ).drop_nulls("date")
    if summary.height == 0:
        return pl.DataFrame(schema=TIMELINE_SCHEMA)
    controls = {e: dataset.experiments[e].control for e in summary["experiment"].unique()}
    pairs = (
        pair_arms(cumulative(summary), controls, ["experiment", "metric", "date"])
        .filter((pl.col("n") > 1) & (pl.col("n_c") > 1))
        .sort("experiment", "variant", "date")
        .with_columns((pl.col("n") + pl.col("n_c")).cast(pl.Float64).alias("n_both"))
    )
    kind = np.full(pairs.height, dataset.catalog.metrics[metric].type)
    arms = arm_sums(pairs, "_c"), arm_sums(pairs)
    result = compare(kind, *arms, settings.alpha)
    skew = skewness(kind, *arms)  # the readout's own skewness correction (nsexp.stats.skew)
    if not settings.sequential:
        result = corrected(result, skew, settings.alpha)
    if settings.sequential:  # the readout's own planned sample: one boundary for every look
        n_star = planned_n(dataset, pairs["experiment"], settings.sequential_n)
        result = sequential_comparison(result, pairs["n_both"].to_numpy(), settings.alpha, n_star)
    # a variance the summary rows could not hold: no p-value on any day either
    result = without_test(result, check(pairs, kind, result, False, arms, skew).lost)
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
