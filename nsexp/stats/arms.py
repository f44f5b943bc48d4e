"""Per-arm estimates from sufficient statistics: the metric's value and the variance of it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray
_NAN = float("nan")


class ArmSums(NamedTuple):
    """Sufficient statistics of one arm for many metrics at once (one array entry each).

    The shifted sums around `shift` s — `dev_sum` = Σ(y − s), `dev_sum_sq` = Σ(y − s)², for
    ratio metrics also the denominator's (`den_*`) and `num_den_dev_sum` = Σ(y − s)(x − t) —
    are what the estimates use: the readers keep them near the mean, so nothing cancels
    (nsexp.io.moments). Where they are NaN (or left at their default) the raw sums are used,
    Σy² − (Σy)²/n, exact only while the mean is not large against the spread. Types without
    ratio parts leave those NaN.
    """

    n: FloatArray
    sum: FloatArray
    sum_sq: FloatArray
    den_sum: FloatArray
    den_sum_sq: FloatArray
    num_den_sum: FloatArray
    shift: FloatArray | float = _NAN
    dev_sum: FloatArray | float = _NAN
    dev_sum_sq: FloatArray | float = _NAN
    den_shift: FloatArray | float = _NAN
    den_dev_sum: FloatArray | float = _NAN
    den_dev_sum_sq: FloatArray | float = _NAN
    num_den_dev_sum: FloatArray | float = _NAN
    dev_sum_cu: FloatArray | float = _NAN  # Σ(y − s)³: NaN where the reader had no third moment


class ArmEstimate(NamedTuple):
    """The arm's metric value, the per-unit variance and the variance of the estimate; the
    value is also kept as shift + offset (unrounded), so that the difference of two arms'
    values near a large common shift keeps its digits (`difference`)."""

    mean: FloatArray
    unit_var: FloatArray
    var: FloatArray
    shift: FloatArray
    offset: FloatArray


def difference(treatment: ArmEstimate, control: ArmEstimate) -> FloatArray:
    """treatment.mean − control.mean, as (shift_t − shift_c) + (offset_t − offset_c)."""
    return (treatment.shift - control.shift) + (treatment.offset - control.offset)


def given(value: FloatArray | float, fallback: FloatArray) -> FloatArray:
    """`value` where it is a number, else `fallback` (the figure derived from raw sums); where
    `value` is NaN for want of units (n = 0) the fallback is NaN too."""
    value = np.asarray(value, dtype=float)
    return np.where(np.isnan(value), fallback, value)


def sample_var(n: FloatArray, total: FloatArray, total_sq: FloatArray) -> FloatArray:
    """Sample variance (ddof=1) from n, sum and sum of squares; NaN when n < 2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (total_sq - total * total / n) / (n - 1)
    return np.where(n > 1, np.maximum(var, 0.0), np.nan)


def sample_cov(
    n: FloatArray, sum_x: FloatArray, sum_y: FloatArray, sum_xy: FloatArray
) -> FloatArray:
    """Sample covariance (ddof=1) of two unit-level columns from their sums and cross sum."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = (sum_xy - sum_x * sum_y / n) / (n - 1)
    return np.where(n > 1, cov, np.nan)


def centred_var(n: FloatArray, m2: FloatArray) -> FloatArray:
    """Sample (co)variance (ddof=1) from a centred moment Σ(y − ȳ)(x − x̄); NaN when n < 2."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 1, np.asarray(m2, dtype=float) / (n - 1), np.nan)


def shifted_moments(
    n: FloatArray,
    shift: FloatArray | float,
    dev_sum: FloatArray | float,
    dev_sum_sq: FloatArray | float,
) -> tuple[FloatArray, FloatArray]:
    """Mean s + Σ(y − s)/n and M2 = Σ(y − s)² − (Σ(y − s))²/n from shifted sums (NaN where the
    shift is NaN)."""
    dev = np.asarray(dev_sum, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.asarray(shift, dtype=float) + dev / n
        m2 = np.maximum(np.asarray(dev_sum_sq, dtype=float) - dev * dev / n, 0.0)
    return mean, m2


def arm_moments(arm: ArmSums) -> tuple[FloatArray, ...]:
    """shift, offset (mean = shift + offset), var(y), den_mean, var(x), cov(y, x) of an arm
    (ddof=1), from its shifted sums where given, else from its raw sums (shift 0)."""
    n = arm.n
    shift = np.asarray(arm.shift, dtype=float)
    dev = np.asarray(arm.dev_sum, dtype=float)
    _, m2 = shifted_moments(n, shift, dev, arm.dev_sum_sq)
    den_mean, den_m2 = shifted_moments(n, arm.den_shift, arm.den_dev_sum, arm.den_dev_sum_sq)
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = np.asarray(arm.num_den_dev_sum, dtype=float) - (
            dev * np.asarray(arm.den_dev_sum, dtype=float) / n
        )
        raw = np.isnan(shift)
        offset = np.where(raw, arm.sum / n, dev / n)
        shift = np.where(raw, 0.0, shift)
        den_mean = given(den_mean, arm.den_sum / n)
    var_y = given(centred_var(n, m2), sample_var(n, arm.sum, arm.sum_sq))
    var_x = given(centred_var(n, den_m2), sample_var(n, arm.den_sum, arm.den_sum_sq))
    cov = given(centred_var(n, cross), sample_cov(n, arm.sum, arm.den_sum, arm.num_den_sum))
    return shift, offset, var_y, den_mean, var_x, cov


def estimate(kind: np.ndarray, arm: ArmSums) -> ArmEstimate:
    """Estimate each metric in one arm; `kind` holds "mean", "proportion" or "ratio" per entry.

    mean: sample mean, sample variance (ddof=1).
    proportion: share converted, Bernoulli variance p(1-p) (the unpooled Wald form).
    ratio: mean(numerator)/mean(denominator); delta-method variance
    (Var(Y) - 2R Cov(Y, X) + R^2 Var(X)) / (n mean(X)^2), as in Deng et al. (2018).
    """
    n = arm.n
    shift, offset, var_y, den_mean, var_x, cov = arm_moments(arm)
    mean = shift + offset
    with np.errstate(divide="ignore", invalid="ignore"):
        unit_var = np.where(kind == "proportion", mean * (1 - mean), var_y)
        ratio = mean / den_mean
        ratio_unit_var = np.maximum(var_y - 2 * ratio * cov + ratio**2 * var_x, 0.0) / den_mean**2
        is_ratio = kind == "ratio"
        mean = np.where(is_ratio, ratio, mean)
        unit_var = np.where(is_ratio, ratio_unit_var, unit_var)
        return ArmEstimate(
            mean=mean,
            unit_var=unit_var,
            var=unit_var / n,
            shift=np.where(is_ratio, 0.0, shift),
            offset=np.where(is_ratio, ratio, offset),
        )


def rounding_error(
    arm: ArmSums,
    cov_sum_sq: FloatArray | None,
    cov_m2: FloatArray | None,
    derived: list[np.ndarray],
) -> FloatArray:
    """Relative bound on the rounding error of an arm's variances where they were derived from
    raw sums (Σy² − (Σy)²/n): each row's subtraction errs by at most 2ε(Σy² + (Σy)²/n) ≤ 4εΣy²,
    so the arm's M2 by at most 4ε times its total Σy² (and a co-moment's by 2ε(Σx² + Σy²)),
    over the M2 itself (or √(M2ₓ M2ᵧ)). The largest over the parts `derived` flags (numerator,
    denominator with its cross sum, CUPED covariate with its cross sum); 0 where none was
    derived; infinite where the M2 is 0 but the bound is not."""
    eps = np.finfo(float).eps
    n = arm.n
    _, m2 = shifted_moments(n, arm.shift, arm.dev_sum, arm.dev_sum_sq)
    _, den_m2 = shifted_moments(n, arm.den_shift, arm.den_dev_sum, arm.den_dev_sum_sq)
    y, den, cov = derived
    parts = [(y, 4 * eps * np.abs(arm.sum_sq), m2), (den, 4 * eps * np.abs(arm.den_sum_sq), den_m2)]
    cross = 2 * eps * (np.abs(arm.sum_sq) + np.abs(arm.den_sum_sq))
    parts.append((den, cross, np.sqrt(m2 * den_m2)))
    if cov_sum_sq is not None and cov_m2 is not None:
        parts.append((cov, 4 * eps * np.abs(cov_sum_sq), cov_m2))
        cross = 2 * eps * (np.abs(arm.sum_sq) + np.abs(cov_sum_sq))
        parts.append((cov, cross, np.sqrt(m2 * cov_m2)))
    out = np.zeros(np.shape(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        for flag, bound, moment in parts:
            relative = np.where(bound == 0, 0.0, np.where(moment > 0, bound / moment, np.inf))
            relative = np.where(np.isnan(bound), np.nan, relative)
            out = np.fmax(out, np.where(np.asarray(flag, dtype=bool), relative, 0.0))
    return out
