"""The North Star day by day: its point at day d is the North Star figure of the readout of the
data up to and including d (nsexp.analysis.asof), for the readout's over-time chart.

One compute over rows keyed by date, not a readout per date: the running totals of the summary
(the CUPED covariate's sums included) are paired and compared by the readout's own functions
(nsexp.analysis.compute.test_pairs and decide_figures), with each date's North Star family
corrected on its own and the readout's priors, so the last point is the card's figure.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.analysis.compute import decide_figures, families, test_pairs
from nsexp.analysis.pairs import metric_frame, pair_arms
from nsexp.analysis.priors import prior_columns
from nsexp.analysis.results import TIMELINE_SCHEMA
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.io.moments import null_columns, running
from nsexp.io.schema import SUMS


def cumulative(summary: pl.DataFrame) -> pl.DataFrame:
    """Running totals per experiment, variant and metric over every date of the experiment.

    Days on which an arm had no new units carry its previous totals forward. The shifted sums
    accumulate on one shift per series (nsexp.io.moments.running), never from raw sums; a sum
    no row of a series has (a metric without covariate) stays null, as in Dataset.totals.
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
        .with_columns(pl.col("n").fill_null(0))
        .sort(*series, "date")
        .with_columns(pl.struct(series).rank("dense").alias("__series"))  # one integer key
    )
    over = "__series"
    empty = null_columns(rows)  # null running totals: left as they are
    sums = [
        pl.when(pl.col(c).is_not_null().any().over(over))
        .then(pl.col(c).fill_null(0.0).cum_sum().over(over))
        .alias(c)
        for c in SUMS
        if c not in empty
    ]
    return running(rows, [over]).with_columns(pl.col("n").cum_sum().over(over), *sums).drop(over)


def north_star_timelines(
    dataset: Dataset,
    settings: Settings,
    experiment_ids: list[str] | None = None,
    metric: str | None = None,
    priors: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Per date, the North Star (or `metric`) of many experiments' treatments as the readout of
    the data up to that date gives it (TIMELINE_SCHEMA): the same estimator, CUPED, always-valid
    boundary under settings.sequential (tuned once to the planned sample, so every look is safe),
    multiplicity correction within that date's family and engine, under the readout's `priors`
    (nsexp.analysis.priors). Without settings.sequential each date is a fixed-horizon test,
    uncorrected for looking repeatedly.
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
        .filter((pl.col("n") > 0) & (pl.col("n_c") > 0))  # the arms the as-of readout has
        .join(metric_frame(dataset.catalog), on="metric")
        .sort("experiment", "variant", "date")
    )
    tested = test_pairs(dataset, pairs, pairs["type"].to_numpy(), settings)
    sign = np.where(pairs["direction"].to_numpy() == "increase", 1.0, -1.0)
    family = families(pairs, ("experiment", "date"))
    decided = decide_figures(tested, family, sign, prior_columns(pairs, priors), settings)
    result, adj, post = tested.comparison, decided.adjusted, decided.posterior
    return (
        pairs.select(
            "experiment",
            "variant",
            "date",
            pl.col("n_c").alias("n_control"),
            pl.col("n").alias("n_treatment"),
            pl.Series("rel_effect", result.rel_effect),
            pl.Series("rel_ci_low", result.rel_ci_low),
            pl.Series("rel_ci_high", result.rel_ci_high),
            pl.Series("p_value", result.p_value),
            pl.Series("p_adjusted", decided.p_adjusted),
            pl.Series("rel_ci_adj_low", adj.rel_low),
            pl.Series("rel_ci_adj_high", adj.rel_high),
            pl.Series("rel_post_mean", post.mean),
            pl.Series("rel_cred_low", post.cred_low),
            pl.Series("rel_cred_high", post.cred_high),
            pl.lit(settings.engine).alias("engine"),
        )
        .filter((pl.col("n_control") > 1) & (pl.col("n_treatment") > 1))
        .with_columns(pl.col(pl.Float64).fill_nan(None))
        .select(pl.col(c).cast(t) for c, t in TIMELINE_SCHEMA.items())
    )
