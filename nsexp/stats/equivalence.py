"""Is a non-significant North Star really flat, or just not measured well enough yet?"""

from __future__ import annotations

import numpy as np

from nsexp.stats import dist
from nsexp.stats.compare import Comparison, methods_of
from nsexp.stats.intervals import FixedScale, Scale, bounds

POWER = 0.8


def equivalence_interval(
    result: Comparison, alpha: float, scale: Scale | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The (1 - 2 alpha) interval of the relative effect by each entry's own method (for the
    two one-sided tests); `scale`: fixed horizon (default) or the always-valid boundary."""
    scale = scale or FixedScale(result.df)
    crit = scale.crit(2 * alpha)
    _, _, low, high = bounds(
        result.abs_effect,
        result.abs_se,
        result.rel_effect,
        result.rel_se,
        methods_of(result),
        crit,
        crit,
    )
    return low, high


def units_needed(
    unit_var_c: np.ndarray,
    unit_var_t: np.ndarray,
    control_mean: np.ndarray,
    threshold: np.ndarray,
    alpha: float,
    power: float = POWER,
) -> np.ndarray:
    """Units per arm to detect a relative change of `threshold` with the given power.

    n = (z_{1-alpha/2} + z_power)^2 (s_c^2 + s_t^2) / (threshold * mean_c)^2, the normal
    approximation for two independent means (e.g. Chow, Shao & Wang 2008, ch. 3).
    """
    z = dist.norm_ppf(1 - alpha / 2) + dist.norm_ppf(power)
    with np.errstate(divide="ignore", invalid="ignore"):
        n = z**2 * (unit_var_c + unit_var_t) / (threshold * control_mean) ** 2
    return np.ceil(n)
