"""Treatment-versus-control tests for many metrics at once, on sufficient statistics only.

mean metrics: Welch's t-test with Welch–Satterthwaite degrees of freedom.
proportion and ratio metrics: two-sided z-test with unpooled (delta-method) standard errors;
proportions with few events: Fisher's exact test and score intervals (nsexp.stats.exact).
The relative lift treatment/control - 1 gets a delta-method interval (Kohavi et al. 2020, ch. 18),
or a log-ratio one where the delta method fails (nsexp.stats.intervals). Each entry records its
methods: `method` (the test), `ci_method` and `rel_ci_method` (the intervals).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats import dist
from nsexp.stats.arms import ArmSums, difference, estimate
from nsexp.stats.exact import few_events, fisher_p, near_one
from nsexp.stats.intervals import FixedScale, Methods, bounds, log_switch

FloatArray = np.ndarray


class Comparison(NamedTuple):
    """One entry per metric x treatment: estimates, intervals at 1 - alpha, and p-values."""

    control_mean: FloatArray
    treatment_mean: FloatArray
    abs_effect: FloatArray
    abs_se: FloatArray
    abs_ci_low: FloatArray
    abs_ci_high: FloatArray
    rel_effect: FloatArray
    rel_se: FloatArray
    rel_ci_low: FloatArray
    rel_ci_high: FloatArray
    df: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    control_unit_var: FloatArray
    treatment_unit_var: FloatArray
    method: np.ndarray
    ci_method: np.ndarray
    rel_ci_method: np.ndarray
    n_control: FloatArray
    n_treatment: FloatArray


TESTS = {"mean": "welch_t", "proportion": "z_unpooled", "ratio": "z_delta"}


def methods_of(result: Comparison) -> Methods:
    """The interval methods of a comparison's entries, with the arms' units and events."""
    with np.errstate(invalid="ignore"):
        x_c = np.round(result.control_mean * result.n_control)
        x_t = np.round(result.treatment_mean * result.n_treatment)
    return Methods(
        result.ci_method, result.rel_ci_method, result.n_control, x_c, result.n_treatment, x_t
    )


def with_methods(
    result: Comparison,
    kind: np.ndarray,
    control_var: FloatArray,
    alpha: float,
    few: np.ndarray | None = None,
) -> Comparison:
    """Choose each entry's test and intervals and compute them at 1 − alpha: Fisher's exact
    test, Newcombe's interval and the adjusted log ratio (near 100%: Newcombe's over the
    control's rate) for proportions with few events or non-events (`few`,
    found from the counts unless given); elsewhere the comparison's own test, and a log-ratio
    relative interval where the delta one fails (nsexp.stats.intervals.log_switch)."""
    n_c, n_t = result.n_control, result.n_treatment
    counts = methods_of(result)
    if few is None:
        few = (kind == "proportion") & few_events(n_c, counts.x_c, n_t, counts.x_t)
    scale = FixedScale(result.df)
    crit = scale.crit(alpha)
    logs = log_switch(
        result.rel_effect,
        result.rel_se,
        result.control_mean,
        result.treatment_mean,
        control_var,
        crit,
    )
    methods = counts._replace(
        ci=np.where(few, "newcombe", np.where(kind == "mean", "t", "z")),
        rel_ci=np.where(
            few,
            np.where(
                near_one(n_c, counts.x_c, n_t, counts.x_t), "newcombe_relative", "log_adjusted"
            ),
            np.where(logs, "log", "delta"),
        ),
    )
    p = result.p_value
    if few.any():
        p = np.where(few, fisher_p(n_c, counts.x_c, n_t, counts.x_t), p)
    low, high, rel_low, rel_high = bounds(
        result.abs_effect, result.abs_se, result.rel_effect, result.rel_se, methods, crit, crit
    )
    test = np.select(
        [kind == "mean", kind == "ratio"], [TESTS["mean"], TESTS["ratio"]], TESTS["proportion"]
    )
    return result._replace(
        abs_ci_low=low,
        abs_ci_high=high,
        rel_ci_low=rel_low,
        rel_ci_high=rel_high,
        p_value=p,
        method=np.where(few, "fisher_exact", test),
        ci_method=methods.ci,
        rel_ci_method=methods.rel_ci,
    )


def critical_value(level: float | FloatArray, df: FloatArray) -> FloatArray:
    """Two-sided critical value at confidence `level`; df = inf gives the normal quantile."""
    return dist.t_ppf(1 - (1 - np.asarray(level)) / 2, df)


def compare(kind: np.ndarray, control: ArmSums, treatment: ArmSums, alpha: float) -> Comparison:
    """Test every entry; `kind` is "mean", "proportion" or "ratio" per entry."""
    c, t = estimate(kind, control), estimate(kind, treatment)
    var = t.var + c.var
    with np.errstate(divide="ignore", invalid="ignore"):
        welch_df = var**2 / (t.var**2 / (treatment.n - 1) + c.var**2 / (control.n - 1))
        rel_se = np.sqrt(t.var / c.mean**2 + t.mean**2 * c.var / c.mean**4)
    result = finish(
        c.mean,
        t.mean,
        np.sqrt(var),
        rel_se,
        np.where(kind == "mean", welch_df, np.inf),
        alpha,
        c.unit_var,
        t.unit_var,
        diff=difference(t, c),
        n=(control.n, treatment.n),
    )
    return with_methods(result, kind, c.var, alpha)


def finish(
    control_mean: FloatArray,
    treatment_mean: FloatArray,
    se: FloatArray,
    rel_se: FloatArray,
    df: FloatArray,
    alpha: float,
    control_unit_var: FloatArray,
    treatment_unit_var: FloatArray,
    diff: FloatArray | None = None,
    n: tuple[FloatArray, FloatArray] | None = None,
) -> Comparison:
    """Effects, (1 - alpha) intervals and two-sided p-values from estimates, SEs and df.

    `diff` is treatment − control where the caller has it more exactly than the difference of
    the rounded means (nsexp.stats.arms.difference); the relative lift is diff / control. `n`:
    the arms' units. Methods are the plain t/z and delta ones (see `with_methods`).
    An undefined Welch df (both arms constant) falls back to the normal distribution.
    """
    if diff is None:
        diff = treatment_mean - control_mean
    df = np.where(np.isnan(df), np.inf, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = diff / se
        rel = np.where(control_mean == 0, np.nan, diff / control_mean)
    p = 2 * dist.t_sf(np.abs(statistic), df)
    # Both arms without variance: identical values are no evidence; different ones are certain.
    p = np.where(se == 0, np.where(diff == 0, 1.0, 0.0), p)
    crit = critical_value(1 - alpha, df)
    return Comparison(
        control_mean=control_mean,
        treatment_mean=treatment_mean,
        abs_effect=diff,
        abs_se=se,
        abs_ci_low=diff - crit * se,
        abs_ci_high=diff + crit * se,
        rel_effect=rel,
        rel_se=rel_se,
        rel_ci_low=rel - crit * rel_se,
        rel_ci_high=rel + crit * rel_se,
        df=df,
        statistic=np.where(se == 0, np.nan, statistic),
        p_value=p,
        control_unit_var=control_unit_var,
        treatment_unit_var=treatment_unit_var,
        method=np.where(np.isfinite(df), "welch_t", "z_unpooled"),
        ci_method=np.where(np.isfinite(df), "t", "z"),
        rel_ci_method=np.full(np.shape(diff), "delta"),
        n_control=np.full(np.shape(diff), np.nan) if n is None else np.asarray(n[0], dtype=float),
        n_treatment=np.full(np.shape(diff), np.nan) if n is None else np.asarray(n[1], dtype=float),
    )
