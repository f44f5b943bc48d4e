"""Every metric of every treatment tested at once: the results frame of RESULT_SCHEMA.

One vectorised pass over the paired sums (nsexp.analysis.pairs): the comparison (CUPED where a
covariate exists), sequential intervals, the flat test, multiplicity, adjusted intervals, power,
the Bayesian posterior, guardrails' non-inferiority and the bootstrap. Each method's maths lives
in its own nsexp.stats module; this module only wires them, so no per-metric Python loop.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from nsexp.analysis.bootstrap import with_bootstrap
from nsexp.analysis.pairs import arm_sums, column, metric_frame, pair_arms
from nsexp.analysis.priors import PriorColumns, prior_columns, prior_series
from nsexp.analysis.results import RESULT_SCHEMA
from nsexp.analysis.settings import Settings
from nsexp.analysis.validity import check, cov_sums, planned_n, with_validity
from nsexp.io import Dataset
from nsexp.stats.adjusted import AdjustedIntervals, adjusted_intervals
from nsexp.stats.arms import ArmSums
from nsexp.stats.bayes import Posterior, central_interval, posterior
from nsexp.stats.bayes import units_needed as bayes_units_needed
from nsexp.stats.compare import Comparison, methods_of
from nsexp.stats.cuped import CupedResult, cuped_compare, widening_notes
from nsexp.stats.equivalence import equivalence_interval, units_needed
from nsexp.stats.exact import adjusted_rate
from nsexp.stats.multiplicity import adjust
from nsexp.stats.noninferiority import non_inferiority
from nsexp.stats.power import days_needed, mde
from nsexp.stats.sequential import (
    MixtureScale,
    sequential_adjusted_intervals,
    sequential_comparison,
    tuned_eta,
)
from nsexp.stats.skew import corrected, skewness
from nsexp.stats.validity import Validity, without_test


def compute_results(
    dataset: Dataset,
    settings: Settings,
    experiment_ids: list[str],
    priors: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per experiment x treatment x metric with every figure (RESULT_SCHEMA); the
    Bayesian figures under `priors` (nsexp.analysis.priors; the default prior where absent)."""
    summary = dataset.totals.filter(pl.col("experiment").is_in(experiment_ids))
    controls = {e: dataset.experiments[e].control for e in experiment_ids}
    pairs = (
        pair_arms(summary, controls, ["experiment", "metric"])
        .join(metric_frame(dataset.catalog), on="metric")
        .sort("experiment", "variant", "role_order", "metric_order")
    )
    kind = pairs["type"].to_numpy()
    tested = test_pairs(dataset, pairs, kind, settings)
    cuped, result, checks = tested.cuped, tested.comparison, tested.checks
    n_star, scale = tested.n_star, tested.scale
    threshold = pairs["practical_threshold"].to_numpy()
    # the flat test's (1 − 2α) interval, always valid too under --sequential
    equivalence_low, equivalence_high = equivalence_interval(result, settings.alpha, scale)
    with np.errstate(invalid="ignore"):
        flat = (equivalence_low > -threshold) & (equivalence_high < threshold)
    family = families(pairs)
    sign = np.where(pairs["direction"].to_numpy() == "increase", 1.0, -1.0)
    prior = prior_columns(pairs, priors)
    decided = decide_figures(tested, family, sign, prior, settings)
    p_adj = decided.p_adjusted
    codes = np.unique(family, return_inverse=True)[1]
    tested_in_family = np.bincount(codes, weights=np.isfinite(result.p_value))[codes]
    with np.errstate(invalid="ignore"):
        significant = p_adj < settings.alpha
        goodness = np.sign(result.abs_effect) * sign
    var_c, var_t, _ = _planning(result)
    needed = units_needed(var_c, var_t, result.control_mean, threshold, settings.alpha)
    frame = pairs.select(
        "experiment",
        "variant",
        "metric",
        "label",
        "role",
        "type",
        "direction",
        "practical_threshold",
        pl.col("n_c").alias("n_control"),
        pl.col("n").alias("n_treatment"),
    ).with_columns(
        pl.Series("control_mean", result.control_mean),
        pl.Series("treatment_mean", result.treatment_mean),
        pl.Series("abs_effect", result.abs_effect),
        pl.Series("abs_se", result.abs_se),
        pl.Series("abs_ci_low", result.abs_ci_low),
        pl.Series("abs_ci_high", result.abs_ci_high),
        pl.Series("rel_effect", result.rel_effect),
        pl.Series("rel_se", result.rel_se),
        pl.Series("rel_ci_low", result.rel_ci_low),
        pl.Series("rel_ci_high", result.rel_ci_high),
        pl.Series("equivalence_ci_low", equivalence_low),
        pl.Series("equivalence_ci_high", equivalence_high),
        pl.Series("p_value", result.p_value),
        pl.Series("p_adjusted", p_adj),
        pl.Series("family_size", tested_in_family.astype(np.int64)),
        pl.Series("significant", significant),
        pl.Series("better", significant & (goodness > 0)),
        pl.Series("worse", significant & (goodness < 0)),
        pl.Series("flat", flat & ~significant),
        pl.Series("units_needed", np.where(np.isfinite(needed), needed, np.nan)),
        pl.Series("variance_reduction", cuped.variance_reduction),
        pl.Series("cuped_theta", cuped.theta),
        pl.Series("cuped_slope_control", cuped.slope_control),
        pl.Series("cuped_slope_treatment", cuped.slope_treatment),
        pl.Series("cuped_variance_increase", cuped.variance_increase),
        pl.Series("__cuped_note", widening_notes(cuped.variance_increase), dtype=pl.String),
    )
    frame = _depth(frame, result, dataset, settings, sign, decided, prior)
    frame = with_validity(frame, result, checks, n_star)
    frame = with_bootstrap(frame, dataset, settings.bootstrap, settings.alpha, settings.seed)
    parts = [_note_expr(), pl.col("__note"), pl.col("__cuped_note")]
    note = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    frame = frame.with_columns(
        pl.col(pl.Float64).fill_nan(None),
        pl.when(pl.all_horizontal(p.is_null() for p in parts))
        .then(None)
        .otherwise(note)
        .alias("note"),
        pl.lit(True).alias("trusted"),
    )
    return frame.select(pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items())


class Tested(NamedTuple):
    """The comparisons of a paired frame as a readout makes them, with what the later figures
    rest on: the planned sample and always-valid scale under --sequential, the validity checks."""

    cuped: CupedResult
    comparison: Comparison  # CUPED, sequential, skew-corrected, lost tests dropped
    checks: Validity
    n_both: np.ndarray
    n_star: np.ndarray | None
    scale: MixtureScale | None


def test_pairs(
    dataset: Dataset, pairs: pl.DataFrame, kind: np.ndarray, settings: Settings
) -> Tested:
    """Every row of a paired frame (nsexp.analysis.pairs; rows keyed by whatever the caller
    chose: a comparison and metric, or also a date) compared the one way the readout does: CUPED
    where a covariate exists, the always-valid boundary tuned once to the planned sample, Welch's
    t corrected for skew, no test where the sums could not hold the variance."""
    arms = arm_sums(pairs, "_c"), arm_sums(pairs)
    cuped = _compare(pairs, kind, arms, settings)
    result = cuped.comparison
    n_both = column(pairs, "n") + column(pairs, "n_c")
    n_star, scale = None, None
    if settings.sequential:  # tuned once, to a sample fixed before the data (planned_n)
        n_star = planned_n(dataset, pairs["experiment"], settings.sequential_n)
        result = sequential_comparison(result, n_both, settings.alpha, n_star)
        scale = MixtureScale(n_both, tuned_eta(n_star, settings.alpha))
    normal_only = settings.sequential or settings.engine == "bayesian"
    skew = skewness(kind, *arms)  # a skewed smaller arm: Welch's t corrected (nsexp.stats.skew)
    if not normal_only:
        result = corrected(result, skew, settings.alpha)
    checks = check(pairs, kind, result, normal_only, arms, skew)
    return Tested(cuped, without_test(result, checks.lost), checks, n_both, n_star, scale)


def families(pairs: pl.DataFrame, keys: tuple[str, ...] = ("experiment",)) -> np.ndarray:
    """Each row's multiplicity family as a code, the tests corrected together: the North Star
    across an experiment's treatments, and every other metric of the experiment (per `keys`:
    the timeline adds the date, each day's readout being corrected on its own)."""
    north_star = (pl.col("role") == "north_star").alias("__north_star")
    return pairs.select(pl.struct(*keys, north_star).rank("dense")).to_series().to_numpy()


class Decided(NamedTuple):
    """What decides each row: the adjusted p-value, the intervals that agree with it and the
    posterior (the Bayesian engine's figures)."""

    p_adjusted: np.ndarray
    adjusted: AdjustedIntervals
    posterior: Posterior


def decide_figures(
    tested: Tested,
    family: np.ndarray,
    sign: np.ndarray,
    prior: PriorColumns,
    settings: Settings,
) -> Decided:
    """The multiplicity adjustment within each `family` (rows tested together), the adjusted
    intervals and the posterior under each row's prior: the figures MetricResult.decision_effect
    and decision_interval read."""
    result = tested.comparison
    p_adj = adjust(result.p_value, family, settings.correction)
    adj = _adjusted(result, p_adj, tested.n_both, settings, tested.n_star)
    post = posterior(result.rel_effect, result.rel_se, sign, settings.alpha, prior.mean, prior.sd)
    return Decided(p_adj, adj, post)


def _compare(
    pairs: pl.DataFrame, kind: np.ndarray, arms: tuple[ArmSums, ArmSums], settings: Settings
) -> CupedResult:
    """The comparison, CUPED-adjusted where a covariate exists unless settings.cuped is False
    (then nothing is adjusted: `use` is all False)."""
    control, treatment = arms
    use = np.full(kind.size, settings.cuped is not False)
    return cuped_compare(
        kind, control, treatment, cov_sums(pairs, "_c"), cov_sums(pairs), settings.alpha, use
    )


def _planning(result: Comparison) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-unit variances (control, treatment) and the standard error the power figures
    plan with: the comparison's, but for few-event proportions those of the rates with one
    event and one non-event added (p(1 − p) is zero at 0% or 100%: mde 0, power 1)."""
    counts = methods_of(result)
    few = counts.ci == "newcombe"
    rate_c, rate_t = adjusted_rate(counts.n_c, counts.x_c), adjusted_rate(counts.n_t, counts.x_t)
    var_c = np.where(few, rate_c * (1 - rate_c), result.control_unit_var)
    var_t = np.where(few, rate_t * (1 - rate_t), result.treatment_unit_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(few, np.sqrt(var_c / counts.n_c + var_t / counts.n_t), result.abs_se)
    return var_c, var_t, se


def _adjusted(
    result: Comparison,
    p_adj: np.ndarray,
    n_both: np.ndarray,
    settings: Settings,
    n_star: np.ndarray | None,
) -> AdjustedIntervals:
    """Intervals that exclude zero exactly when p_adjusted < α, by each metric's own interval
    method (always valid under --sequential, on the same planned boundary)."""
    if settings.sequential and n_star is not None:
        return sequential_adjusted_intervals(
            result, result.p_value, p_adj, n_both, settings.alpha, n_star
        )
    return adjusted_intervals(
        result.abs_effect,
        result.abs_se,
        result.rel_effect,
        result.rel_se,
        result.df,
        result.p_value,
        p_adj,
        settings.alpha,
        methods=methods_of(result),
    )


def _daily_units(dataset: Dataset) -> pl.DataFrame:
    """Units per arm per day over each dated experiment's run (the smaller arm's pace)."""
    dated = dataset.units.drop_nulls("date")
    if dated.height == 0:
        return pl.DataFrame(schema={"experiment": pl.String, "daily_units": pl.Float64})
    days = dated.group_by("experiment").agg(
        ((pl.col("date").max() - pl.col("date").min()).dt.total_days() + 1).alias("days")
    )
    arms = dated.group_by("experiment", "variant").agg(pl.col("units").sum())
    return (
        arms.group_by("experiment")
        .agg(pl.col("units").min())
        .join(days, on="experiment")
        .select("experiment", (pl.col("units") / pl.col("days")).alias("daily_units"))
    )


def _depth(
    frame: pl.DataFrame,
    result: Comparison,
    dataset: Dataset,
    settings: Settings,
    sign: np.ndarray,
    decided: Decided,
    prior: PriorColumns,
) -> pl.DataFrame:
    """Power, adjusted intervals, Bayesian (under each row's prior) and guardrail columns; with
    the Bayesian engine, `significant` follows the chance to win."""
    alpha = settings.alpha
    adj, post = decided.adjusted, decided.posterior
    by_metric = {mid: m.non_inferiority_margin for mid, m in dataset.catalog.metrics.items()}
    margins = column(
        frame.select(pl.col("metric").replace_strict(by_metric, return_dtype=pl.Float64)),
        "metric",
    )
    ni = non_inferiority(
        result.rel_effect, result.rel_se, result.df, sign, margins, alpha, methods_of(result)
    )
    out = frame.with_columns(
        pl.Series("mde", mde(_planning(result)[2], result.control_mean, alpha)),
        pl.Series("abs_ci_adj_low", adj.abs_low),
        pl.Series("abs_ci_adj_high", adj.abs_high),
        pl.Series("rel_ci_adj_low", adj.rel_low),
        pl.Series("rel_ci_adj_high", adj.rel_high),
        pl.Series("non_inferiority_margin", margins),
        pl.Series("non_inferiority_p", ni.p_value),
        pl.Series("guardrail_power", ni.power),
        pl.Series("ni_safe", ni.safe),
        *prior_series(prior, post),
    )
    if settings.engine == "bayesian":
        out = _bayesian_decisions(out, result, post, alpha, prior.sd)
    daily = out.select("experiment").join(_daily_units(dataset), on="experiment", how="left")
    now = np.minimum(out["n_control"].to_numpy(), out["n_treatment"].to_numpy())
    days = days_needed(column(out, "units_needed"), now, column(daily, "daily_units"))
    out = out.with_columns(pl.Series("days_needed", days))
    status = (
        pl.when(pl.col("role") != "guardrail")
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("worse"))
        .then(pl.lit("breached"))
        .when(pl.col("ni_safe"))
        .then(pl.lit("safe"))
        .otherwise(pl.lit("unproven"))
    )
    return out.with_columns(
        status.alias("guardrail_status"), pl.lit(settings.engine).alias("engine")
    ).drop("ni_safe")


def _bayesian_decisions(
    frame: pl.DataFrame, result: Comparison, post: Posterior, alpha: float, prior_sd: np.ndarray
) -> pl.DataFrame:
    """The Bayesian engine decides from the posterior alone: significant when the chance to
    win is at least 1 − α/2 (or at most α/2), flat when the (1 − 2α) credible interval lies
    inside ±threshold (that interval replaces the equivalence interval), and the units needed
    are the posterior's (nsexp.stats.bayes.units_needed)."""
    threshold = frame["practical_threshold"].to_numpy()
    low, high = central_interval(post.mean, post.sd, 2 * alpha)
    needed = bayes_units_needed(
        result.control_unit_var,
        result.treatment_unit_var,
        result.control_mean,
        threshold,
        alpha,
        prior_sd=prior_sd,
    )
    ctw = pl.col("chance_to_win")
    decided = ((ctw >= 1 - alpha / 2) | (ctw <= alpha / 2)).fill_null(False)
    with np.errstate(invalid="ignore"):
        inside = (low > -threshold) & (high < threshold)
    return (
        frame.with_columns(
            decided.alias("significant"),
            (decided & (ctw > 0.5)).alias("better"),
            (decided & (ctw < 0.5)).alias("worse"),
            pl.Series("equivalence_ci_low", low),
            pl.Series("equivalence_ci_high", high),
            pl.Series("units_needed", np.where(np.isfinite(needed), needed, np.nan)),
            pl.Series("inside", inside),
        )
        .with_columns((pl.col("inside") & ~pl.col("significant")).alias("flat"))
        .drop("inside")
    )


def _note_expr() -> pl.Expr:
    """Why a metric's figures are missing or degenerate, for people."""
    few = (pl.col("n_control") < 2) | (pl.col("n_treatment") < 2)
    return (
        pl.when(few)
        .then(pl.lit("fewer than 2 units in an arm: not testable"))
        .when(pl.col("control_mean") == 0)
        .then(pl.lit("control value is 0: relative effect undefined"))
        .when(pl.col("p_value").is_null())
        .then(pl.lit("not testable"))
    )
