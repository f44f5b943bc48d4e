"""Within-experiment sampling covariance of two metrics' relative lifts, from each arm's
covariances of the metrics' unit-level parts (nsexp.io.cross) by the delta method.

Each relative lift L = A_t / A_c − 1 is a smooth function of the arms' part means (the value,
a ratio's denominator, a CUPED covariate), so Cov(L_a, L_b) = Σ_arm g_aᵀ Σ_arm g_b, with g the
gradient of each lift with respect to that arm's part means and Σ_arm the covariance of those
means. Arms are independent. Parts are ordered PARTS = (num, den, cov); a part a metric does not
have gets a zero gradient. Applied to a metric and itself it gives exactly the variance behind
the readout's relative standard error (plain, ratio and CUPED; nsexp.stats.compare, cuped).

Two means over different units share only the units in both: Cov(x̄_A, ȳ_B) = n_AB s_xy /
(n_A n_B), with s_xy the sample covariance over the n_AB units with both values.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

FloatArray = np.ndarray
PARTS = ("num", "den", "cov")


class Gradients(NamedTuple):
    """d lift / d part means, (rows, 3) per arm."""

    treatment: FloatArray
    control: FloatArray


def lift_gradients(
    kind: np.ndarray,
    mean_c: FloatArray,
    mean_t: FloatArray,
    slope_c: FloatArray,
    slope_t: FloatArray,
    den_c: FloatArray,
    den_t: FloatArray,
) -> Gradients:
    """Gradients of each row's relative lift.

    mean/proportion: A = ȳ (CUPED, Lin's estimator: ȳ − β(x̄ − pooled x̄) with each arm's own
    slope β, NaN or 0 when not adjusted; the pooled x̄ held fixed, as the readout's variance
    does), so with a = the arms' (adjusted) means: treatment (1/a_c, 0, −β_t/a_c), control
    (−a_t/a_c², 0, β_c a_t/a_c²).
    ratio: A = N̄ / D̄ = R: treatment (1/(R_c D̄_t), −R_t/(R_c D̄_t), 0), control
    (−R_t/(R_c² D̄_c), R_t/(R_c D̄_c), 0); `mean_*` are the ratios, `den_*` the D̄.
    """
    rows = np.asarray(mean_c, float).size
    b_c, b_t = (np.nan_to_num(np.asarray(b, float)) for b in (slope_c, slope_t))
    t_grad, c_grad = np.zeros((rows, 3)), np.zeros((rows, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = kind == "ratio"
        t_grad[:, 0] = np.where(ratio, 1 / (mean_c * den_t), 1 / mean_c)
        t_grad[:, 1] = np.where(ratio, -mean_t / (mean_c * den_t), 0.0)
        t_grad[:, 2] = np.where(ratio, 0.0, -b_t / mean_c)
        c_grad[:, 0] = np.where(ratio, -mean_t / (mean_c**2 * den_c), -mean_t / mean_c**2)
        c_grad[:, 1] = np.where(ratio, mean_t / (mean_c * den_c), 0.0)
        c_grad[:, 2] = np.where(ratio, 0.0, b_c * mean_t / mean_c**2)
    return Gradients(t_grad, c_grad)


def mean_covariance(
    comoment: FloatArray, n_pair: FloatArray, n_a: FloatArray, n_b: FloatArray
) -> FloatArray:
    """Covariance of two part means (over n_a and n_b units) from the co-moment over the n_pair
    units with both: n_pair s_xy / (n_a n_b), s_xy = comoment / (n_pair − 1); (rows, 3, 3) in,
    n's broadcast over the parts."""
    n_pair = np.asarray(n_pair, float)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(n_pair > 1, comoment / (n_pair - 1), 0.0)
        return (
            s
            * n_pair
            / (np.asarray(n_a, float)[:, None, None] * np.asarray(n_b, float)[:, None, None])
        )


def lift_covariance(a: Gradients, b: Gradients, cov_t: FloatArray, cov_c: FloatArray) -> FloatArray:
    """Cov(L_a, L_b) = g_a,tᵀ Σ_t g_b,t + g_a,cᵀ Σ_c g_b,c per row; Σ (rows, 3, 3) with rows
    the metric's parts and columns the other's."""
    treatment = np.einsum("ri,rij,rj->r", a.treatment, np.nan_to_num(cov_t), b.treatment)
    control = np.einsum("ri,rij,rj->r", a.control, np.nan_to_num(cov_c), b.control)
    return treatment + control
