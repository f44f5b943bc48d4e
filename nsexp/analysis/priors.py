"""The Bayesian prior of each metric's true relative lift, per experiment, and its sentence.

nsexp.learning.predict.lift_priors learns the priors from the portfolio (the analysis layer never
imports learning) as a PRIOR_SCHEMA frame, one row per experiment and metric, and passes it to
`build_readout(priors=...)` the way the history records are passed. Where a row has a learned
mean and SD (at least MIN_COMPARISONS past comparisons in other experiments, the threshold of
nsexp.stats.evidence the tree uses) the prior is that Normal(mean, sd²), `prior_source`
"history"; else the default Normal(0, PRIOR_SD²) of nsexp.stats.bayes, "default". Each metric's
result carries the prior it was computed with, so a pin or an older readout keeps it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from nsexp import format as fmt
from nsexp.analysis.pairs import column, text_series
from nsexp.analysis.results import RESULT_SCHEMA, MetricResult
from nsexp.analysis.settings import Settings
from nsexp.stats.bayes import PRIOR_SD, Posterior, posterior
from nsexp.stats.evidence import MIN_COMPARISONS

# experiment, metric, and the learned prior in the metric's own direction (mean and sd null where
# the history is too short), with the comparisons in other experiments it rests on
PRIOR_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "metric": pl.String(),
    "prior_mean": pl.Float64(),
    "prior_sd": pl.Float64(),
    "prior_comparisons": pl.Int64(),
}


class PriorColumns(NamedTuple):
    """One prior per row of a paired frame: mean, SD, source and comparisons (NaN: unknown)."""

    mean: np.ndarray
    sd: np.ndarray
    source: np.ndarray
    comparisons: np.ndarray


def prior_columns(keys: pl.DataFrame, priors: pl.DataFrame | None) -> PriorColumns:
    """The prior of each row of `keys` (experiment, metric): the learned one where `priors`
    has it, else the default (comparisons unknown where no history was consulted)."""
    table = priors if priors is not None else pl.DataFrame(schema=PRIOR_SCHEMA)
    rows = keys.select("experiment", "metric").join(
        table.select(list(PRIOR_SCHEMA)),
        on=["experiment", "metric"],
        how="left",
        maintain_order="left",
    )
    sd = rows["prior_sd"].to_numpy().astype(float)
    learned = np.isfinite(sd) & (sd > 0)
    mean = rows["prior_mean"].fill_null(0.0).to_numpy().astype(float)
    return PriorColumns(
        mean=np.where(learned, mean, 0.0),
        sd=np.where(learned, sd, PRIOR_SD),
        source=np.where(learned, "history", "default"),
        comparisons=rows["prior_comparisons"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
    )


def prior_series(prior: PriorColumns, post: Posterior) -> list[pl.Series]:
    """The result columns (RESULT_SCHEMA) a prior sets: the prior itself and the posterior
    under it, with the frame's row order."""
    return [
        pl.Series("rel_post_mean", post.mean),
        pl.Series("chance_to_win", post.chance_to_win),
        pl.Series("expected_loss", post.expected_loss),
        pl.Series("rel_cred_low", post.cred_low),
        pl.Series("rel_cred_high", post.cred_high),
        pl.Series("prior_mean", prior.mean),
        pl.Series("prior_sd", prior.sd),
        text_series("prior_source", prior.source),
        pl.Series("prior_comparisons", prior.comparisons),
    ]


def priors_decide(settings: Settings) -> bool:
    """Whether a prior can change a decision under these settings: the Bayesian engine
    decides by the posterior; the frequentist one only reports it (prior_series)."""
    return settings.engine == "bayesian"


def with_priors(results: pl.DataFrame, priors: pl.DataFrame | None, alpha: float) -> pl.DataFrame:
    """A results frame (RESULT_SCHEMA) with its prior_series recomputed under `priors`: all a
    prior changes where it decides nothing (priors_decide false)."""
    prior = prior_columns(results, priors)
    sign = np.where(results["direction"].to_numpy() == "increase", 1.0, -1.0)
    post = posterior(
        column(results, "rel_effect"), column(results, "rel_se"), sign, alpha, prior.mean, prior.sd
    )
    fresh = pl.DataFrame(prior_series(prior, post)).with_columns(pl.col(pl.Float64).fill_nan(None))
    return results.with_columns(
        fresh.select(pl.col(c).cast(RESULT_SCHEMA[c]) for c in fresh.columns)
    )


def prior_sentence(m: MetricResult) -> str | None:
    """The prior a Bayesian figure rests on, in one sentence ('Prior from 56 past comparisons
    of Lessons completed: typical lift ±2.1%.'); None when the result carries none."""
    if m.prior_sd is None or m.prior_source is None:
        return None
    if m.prior_source == "history":
        centre = fmt.pct(m.prior_mean)
        around = "" if centre == fmt.pct(0.0) else f", centred on {centre}"
        return (
            f"Prior from {m.prior_comparisons} past comparisons of {m.name}: typical lift "
            f"±{fmt.pct(m.prior_sd, signed=False)}{around}."
        )
    have = (
        f"{m.prior_comparisons} past comparisons of {m.name}, {MIN_COMPARISONS} needed to learn one"
        if m.prior_comparisons is not None
        else f"no history of {m.name} consulted"
    )
    return (
        f"Default prior on {m.name}: Normal(0, {fmt.pct(m.prior_sd, 0, signed=False)}²) on the "
        f"lift, weakly informative ({have})."
    )
