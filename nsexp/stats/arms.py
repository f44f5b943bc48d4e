"""Per-arm estimates from sufficient statistics: the metric's value and the variance of it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray


class ArmSums(NamedTuple):
    """Sufficient statistics of one arm for many metrics at once (one array entry each).

    Ratio metrics also need the denominator sums and the numerator x denominator cross sum;
    other types leave them NaN.
    """

    n: FloatArray
    sum: FloatArray
    sum_sq: FloatArray
    den_sum: FloatArray
    den_sum_sq: FloatArray
    num_den_sum: FloatArray


class ArmEstimate(NamedTuple):
    """The arm's metric value, the per-unit variance and the variance of the estimate."""

    mean: FloatArray
    unit_var: FloatArray
    var: FloatArray


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


def estimate(kind: np.ndarray, arm: ArmSums) -> ArmEstimate:
    """Estimate each metric in one arm; `kind` holds "mean", "proportion" or "ratio" per entry.

    mean: sample mean, sample variance (ddof=1).
    proportion: share converted, Bernoulli variance p(1-p) (the unpooled Wald form).
    ratio: sum(numerator)/sum(denominator); delta-method variance
    (Var(Y) - 2R Cov(Y, X) + R^2 Var(X)) / (n mean(X)^2), as in Deng et al. (2018).
    """
    n = arm.n
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = arm.sum / n
        var_y = sample_var(n, arm.sum, arm.sum_sq)
        unit_var = np.where(kind == "proportion", mean * (1 - mean), var_y)
        ratio = arm.sum / arm.den_sum
        den_mean = arm.den_sum / n
        var_x = sample_var(n, arm.den_sum, arm.den_sum_sq)
        cov = sample_cov(n, arm.sum, arm.den_sum, arm.num_den_sum)
        ratio_unit_var = np.maximum(var_y - 2 * ratio * cov + ratio**2 * var_x, 0.0) / den_mean**2
        is_ratio = kind == "ratio"
        mean = np.where(is_ratio, ratio, mean)
        unit_var = np.where(is_ratio, ratio_unit_var, unit_var)
        return ArmEstimate(mean=mean, unit_var=unit_var, var=unit_var / n)
