"""Treatment-versus-control tests for many metrics at once, on sufficient statistics only.

mean metrics: Welch's t-test with Welch–Satterthwaite degrees of freedom.
proportion and ratio metrics: two-sided z-test with unpooled (delta-method) standard errors.
The relative lift treatment/control - 1 gets a delta-method interval (Kohavi et al. 2020, ch. 18).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from nsexp.stats.arms import ArmSums, difference, estimate

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


def critical_value(level: float | FloatArray, df: FloatArray) -> FloatArray:
    """Two-sided critical value at confidence `level`; df = inf gives the normal quantile."""
    return stats.t.ppf(1 - (1 - np.asarray(level)) / 2, df)


def compare(kind: np.ndarray, control: ArmSums, treatment: ArmSums, alpha: float) -> Comparison:
    """Test every entry; `kind` is "mean", "proportion" or "ratio" per entry."""
    c, t = estimate(kind, control), estimate(kind, treatment)
    var = t.var + c.var
    with np.errstate(divide="ignore", invalid="ignore"):
        welch_df = var**2 / (t.var**2 / (treatment.n - 1) + c.var**2 / (control.n - 1))
        rel_se = np.sqrt(t.var / c.mean**2 + t.mean**2 * c.var / c.mean**4)
    return finish(
        c.mean,
        t.mean,
        np.sqrt(var),
        rel_se,
        np.where(kind == "mean", welch_df, np.inf),
        alpha,
        c.unit_var,
        t.unit_var,
        diff=difference(t, c),
    )


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
) -> Comparison:
    """Effects, (1 - alpha) intervals and two-sided p-values from estimates, SEs and df.

    `diff` is treatment − control where the caller has it more exactly than the difference of
    the rounded means (nsexp.stats.arms.difference); the relative lift is diff / control.
    An undefined Welch df (both arms constant) falls back to the normal distribution.
    """
    if diff is None:
        diff = treatment_mean - control_mean
    df = np.where(np.isnan(df), np.inf, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = diff / se
        rel = np.where(control_mean == 0, np.nan, diff / control_mean)
    p = 2 * stats.t.sf(np.abs(statistic), df)
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
    )
