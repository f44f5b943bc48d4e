"""The readout's statistical-depth columns: CUPED, power, Bayesian, guardrails, adjusted CIs.

compute_results (nsexp.analysis.readout) calls `analyse` for the comparison itself (CUPED or
not) and `extend` for the extra columns, so each method's maths stays in its own nsexp.stats module.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from nsexp.config.catalog import Catalog
from nsexp.io import Dataset
from nsexp.io.moments import FLAGS
from nsexp.stats.adjusted import adjusted_intervals
from nsexp.stats.arms import ArmSums, rounding_error
from nsexp.stats.bayes import PRIOR_SD, posterior
from nsexp.stats.compare import Comparison, compare, methods_of
from nsexp.stats.cuped import CovSums, cov_moments, cuped_compare
from nsexp.stats.noninferiority import non_inferiority
from nsexp.stats.power import days_needed, mde
from nsexp.stats.sequential import DEFAULT_N
from nsexp.stats.validity import Validity, validity

Engine = Literal["frequentist", "bayesian"]
ENGINES: tuple[Engine, ...] = ("frequentist", "bayesian")
COV_COLUMNS = (
    *("cov_sum", "cov_sum_sq", "num_cov_sum"),
    *("cov_shift", "cov_dev_sum", "cov_dev_sum_sq", "num_cov_dev_sum"),
)


def cov_sums(frame: pl.DataFrame, suffix: str = "") -> CovSums:
    """Numpy arrays of one arm's covariate sums from a paired frame (NaN where absent)."""
    return CovSums(
        *(
            frame[f"{c}{suffix}"].cast(pl.Float64).fill_null(np.nan).to_numpy()
            if f"{c}{suffix}" in frame.columns
            else np.full(frame.height, np.nan)
            for c in COV_COLUMNS
        )
    )


def analyse(
    pairs: pl.DataFrame,
    kind: np.ndarray,
    control: ArmSums,
    treatment: ArmSums,
    alpha: float,
    cuped: bool | None,
) -> tuple[Comparison, np.ndarray, np.ndarray]:
    """The comparison, CUPED-adjusted where a covariate exists unless `cuped` is False; also
    the share of variance removed and theta (both NaN where not adjusted)."""
    if cuped is False:
        nan = np.full(kind.size, np.nan)
        return compare(kind, control, treatment, alpha), nan, nan
    res = cuped_compare(kind, control, treatment, cov_sums(pairs, "_c"), cov_sums(pairs), alpha)
    return res.comparison, res.variance_reduction, res.theta


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


def extend(
    frame: pl.DataFrame,
    result: Comparison,
    dataset: Dataset,
    catalog: Catalog,
    alpha: float,
    engine: Engine,
    variance_reduction: np.ndarray,
    theta: np.ndarray,
) -> pl.DataFrame:
    """Add variance_reduction, mde, days_needed, adjusted CIs, Bayesian and guardrail columns;
    with the Bayesian engine, `significant` follows the chance to win."""
    sign = np.where(frame["direction"].to_numpy() == "increase", 1.0, -1.0)
    p_adj = frame["p_adjusted"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    adj = adjusted_intervals(
        result.abs_effect,
        result.abs_se,
        result.rel_effect,
        result.rel_se,
        result.df,
        result.p_value,
        p_adj,
        alpha,
        methods=methods_of(result),
    )
    post = posterior(result.rel_effect, result.rel_se, sign, alpha)
    margins = np.array(
        [
            np.nan if (m := catalog.metrics[mid].non_inferiority_margin) is None else m
            for mid in frame["metric"]
        ],
        dtype=float,
    )
    ni = non_inferiority(result.rel_effect, result.rel_se, result.df, sign, margins, alpha)
    daily = frame.select("experiment").join(_daily_units(dataset), on="experiment", how="left")
    needed = frame["units_needed"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    now = np.minimum(frame["n_control"].to_numpy(), frame["n_treatment"].to_numpy())
    out = frame.with_columns(
        pl.Series("variance_reduction", variance_reduction),
        pl.Series("cuped_theta", theta),
        pl.Series("mde", mde(result.abs_se, result.control_mean, alpha)),
        pl.Series(
            "days_needed",
            days_needed(needed, now, daily["daily_units"].fill_null(np.nan).to_numpy()),
        ),
        pl.Series("abs_ci_adj_low", adj.abs_low),
        pl.Series("abs_ci_adj_high", adj.abs_high),
        pl.Series("rel_ci_adj_low", adj.rel_low),
        pl.Series("rel_ci_adj_high", adj.rel_high),
        pl.Series("chance_to_win", post.chance_to_win),
        pl.Series("expected_loss", post.expected_loss),
        pl.Series("rel_cred_low", post.cred_low),
        pl.Series("rel_cred_high", post.cred_high),
        pl.Series("non_inferiority_margin", margins),
        pl.Series("non_inferiority_p", ni.p_value),
        pl.Series("guardrail_power", ni.power),
        pl.Series("ni_safe", ni.safe),
    )
    if engine == "bayesian":
        ctw = pl.col("chance_to_win")
        decided = (ctw > 1 - alpha / 2) | (ctw < alpha / 2)
        out = out.with_columns(
            decided.fill_null(False).alias("significant"),
            (decided & (ctw > 0.5)).fill_null(False).alias("better"),
            (decided & (ctw < 0.5)).fill_null(False).alias("worse"),
        ).with_columns((pl.col("flat") & ~pl.col("significant")).alias("flat"))
    status = (
        pl.when(pl.col("role") != "guardrail")
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("worse"))
        .then(pl.lit("breached"))
        .when(pl.col("ni_safe"))
        .then(pl.lit("safe"))
        .otherwise(pl.lit("unproven"))
    )
    return out.with_columns(status.alias("guardrail_status"), pl.lit(engine).alias("engine")).drop(
        "ni_safe"
    )


# --- issue 11: per-metric methods, validity and the planned sample of --sequential ----------
# New result columns: method, ci_method, rel_ci_method, decisive, sequential_n (see README).


def planned_n(dataset: Dataset, experiments: pl.Series, sequential_n: int | None) -> np.ndarray:
    """The sample each row's always-valid boundary is tuned to, fixed before the data: the
    experiment's planned_units (experiments.toml), else `sequential_n` (--sequential-n), else
    DEFAULT_N (GrowthBook's default)."""
    fallback = sequential_n or DEFAULT_N
    planned = {eid: x.info.planned_units or fallback for eid, x in dataset.experiments.items()}
    return experiments.replace_strict(planned, return_dtype=pl.Float64).to_numpy()


def check(
    pairs: pl.DataFrame,
    kind: np.ndarray,
    result: Comparison,
    normal_only: bool,
    arms: tuple[ArmSums, ArmSums],
) -> Validity:
    """nsexp.stats.validity on a paired frame: an arm whose summary came from raw sums gets the
    rounding-error bound of its variances (nsexp.stats.arms.rounding_error)."""
    errors = []
    for arm, suffix in zip(arms, ("_c", ""), strict=True):
        cov = cov_sums(pairs, suffix)
        _, cov_m2, _ = cov_moments(arm, cov)
        raw = [pairs[f"{f}{suffix}"].fill_null(False).to_numpy() for f in FLAGS.values()]
        errors.append(rounding_error(arm, cov.cov_sum_sq, cov_m2, raw))
    return validity(kind, result, np.fmax(*errors), normal_only)


def with_validity(
    frame: pl.DataFrame, result: Comparison, checks: Validity, n_star: np.ndarray | None
) -> pl.DataFrame:
    """Add the method columns, `decisive` and `sequential_n`; a metric that is not decisive is
    neither significant, better, worse nor flat, and its note says why."""
    decisive = pl.col("decisive")
    note = pl.Series("__note", checks.note).replace("", None)
    return frame.with_columns(
        pl.Series("method", result.method),
        pl.Series("ci_method", result.ci_method),
        pl.Series("rel_ci_method", result.rel_ci_method),
        pl.Series("decisive", checks.decisive),
        pl.Series("sequential_n", n_star, dtype=pl.Float64)
        if n_star is not None
        else pl.lit(None, dtype=pl.Float64).alias("sequential_n"),
        note,
    ).with_columns(
        *(pl.col(c) & decisive for c in ("significant", "better", "worse", "flat")),
        pl.when(pl.col("guardrail_status").is_in(["breached", "safe"]) & ~decisive)
        .then(pl.lit("unproven"))
        .otherwise(pl.col("guardrail_status"))
        .alias("guardrail_status"),
    )


def methods(engine: Engine, cuped: bool | None, alpha: float, bootstrap: int = 0) -> list[str]:
    """Method lines for the readout's Methods section."""
    lines = [
        "CUPED (Deng et al. 2013): metrics with a pre-experiment covariate are adjusted by the "
        "pooled within-arm slope; means and effects shown are adjusted, variance_reduction is "
        "the share of variance removed. Ratio metrics are not adjusted."
        if cuped is not False
        else "CUPED off: no covariate adjustment.",
        f"Power: mde is the relative effect detectable with 80% power at α = {alpha:g} at "
        "today's sample; days_needed extrapolates the daily traffic of dated data.",
        "Adjusted intervals (rel_ci_adj_*, abs_ci_adj_*) use per-test levels α·p/p_adjusted, so "
        "they exclude zero exactly when p_adjusted < α.",
        "Guardrails with a non_inferiority_margin: safe when a one-sided test at α on the log "
        "ratio treatment ÷ control shows them no worse than the margin (Schultzberg et al. "
        "2024), breached when significantly worse, else unproven; guardrail_power is that "
        "test's power if the true effect is 0.",
    ]
    if bootstrap:
        lines.append(
            f"Bootstrap: {bootstrap:,} Poisson resamples of unit-level mean metrics (capped and "
            "CUPED-adjusted like the analytic figures); percentile interval of the relative lift."
        )
    if engine == "bayesian":
        lines.append(
            f"Bayesian engine: Normal(0, {PRIOR_SD:g}²) prior on the relative lift, normal "
            "likelihood from the delta method; significant when the chance to win exceeds "
            f"{1 - alpha / 2:g} or falls below {alpha / 2:g}; no multiplicity correction; the "
            "North Star's flat test stays the frequentist equivalence test."
        )
    return lines
