"""Every interval of a comparison at any level, by the method each entry uses.

An entry's absolute interval is est ± crit · se (Welch t, Wald or delta method), or Newcombe's
score interval for a proportion with few events (nsexp.stats.exact). Its relative interval is
the delta method's rel ± crit · rel_se by default — the industry's (Kohavi et al. 2020, ch. 18)
and what the cross-checks against gbstats and tea-tasting rely on — or, where that interval
would leave the possible range (below −100%) or the control mean is poorly determined
(Fieller's g = (crit · se_c / mean_c)² above G_MAX), the log-ratio interval
exp(log(1 + rel) ± crit · rel_se / (1 + rel)) − 1: the delta method on log(mean_t / mean_c),
which stays above −100% and follows the ratio's skew (e.g. Hirschberg & Lye 2010 on Fieller
versus the delta method; Kohavi et al. 2020, ch. 18). Few-event proportions get the adjusted
log-ratio interval, or near 100% the score interval of the non-event rates over the control's
rate ("newcombe_relative"). Which method an entry uses is fixed once, at the readout's level.

`crit` maps a level to each entry's critical value and `p_of` a statistic to its p-value: the
t distribution for fixed-horizon readouts (`FixedScale`), the normal-mixture boundary for
always-valid ones (nsexp.stats.sequential.MixtureScale). Each interval's own statistic
(`statistics`) says at which level it just reaches zero, so multiplicity-adjusted intervals can
agree with the adjusted p-values whatever the method (nsexp.stats.adjusted).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from nsexp.stats import dist
from nsexp.stats.exact import (
    log_ratio,
    log_ratio_interval,
    newcombe,
    newcombe_relative,
    newcombe_z,
)

FloatArray = np.ndarray
G_MAX = 0.1  # Fieller's g above which the control mean counts as poorly determined


class Scale(Protocol):
    """How an entry's statistic maps to a two-sided level, and a level to a critical value."""

    def crit(self, level_alpha: FloatArray | float) -> FloatArray:
        """Critical value (in standard errors) of a two-sided interval at 1 − level_alpha."""
        ...

    def p_of(self, z: FloatArray) -> FloatArray:
        """Two-sided p-value (or always-valid p) of the statistic |z|."""
        ...


class FixedScale:
    """Fixed-horizon: Student's t with each entry's df (df = inf: the normal)."""

    def __init__(self, df: FloatArray) -> None:
        """Each entry's degrees of freedom (NaN: the normal)."""
        self.df = np.where(np.isnan(df), np.inf, np.asarray(df, dtype=float))

    def crit(self, level_alpha: FloatArray | float) -> FloatArray:
        """T quantile at 1 − level_alpha / 2."""
        return dist.t_isf(np.asarray(level_alpha) / 2, self.df)

    def p_of(self, z: FloatArray) -> FloatArray:
        """2 · P(T > |z|)."""
        return 2 * dist.t_sf(np.abs(z), self.df)


class Methods(NamedTuple):
    """Per entry: the absolute interval's method ("t", "z" or "newcombe"), the relative one's
    ("delta", "log", "log_adjusted" or "newcombe_relative"), and the arms' units and events
    (NaN unless counted)."""

    ci: np.ndarray
    rel_ci: np.ndarray
    n_c: FloatArray
    x_c: FloatArray
    n_t: FloatArray
    x_t: FloatArray

    @classmethod
    def default(cls, size: int) -> Methods:
        """Every entry by the delta method."""
        nan = np.full(size, np.nan)
        return cls(np.full(size, "z"), np.full(size, "delta"), nan, nan, nan, nan)


def log_switch(
    rel: FloatArray,
    rel_se: FloatArray,
    control_mean: FloatArray,
    treatment_mean: FloatArray,
    control_var: FloatArray,
    crit: FloatArray,
) -> np.ndarray:
    """Where the relative interval should be the log-ratio one: both means positive, and the
    delta interval reaching below −100% or Fieller's g = (crit · se_c / mean_c)² above G_MAX."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = crit**2 * control_var / control_mean**2
        below = rel - crit * rel_se < -1
        return (control_mean > 0) & (treatment_mean > 0) & (below | (g > G_MAX))


def bounds(
    effect: FloatArray,
    se: FloatArray,
    rel: FloatArray,
    rel_se: FloatArray,
    methods: Methods,
    crit_abs: FloatArray,
    crit_rel: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """abs_low, abs_high, rel_low, rel_high at the given critical values (one per entry)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        half = np.where(se == 0, 0.0, crit_abs * se)
        abs_low, abs_high = effect - half, effect + half
        score_low, score_high = newcombe(
            methods.n_c, methods.x_c, methods.n_t, methods.x_t, crit_abs
        )
        score = methods.ci == "newcombe"
        abs_low, abs_high = (
            np.where(score, score_low, abs_low),
            np.where(score, score_high, abs_high),
        )
        rel_half = np.where(rel_se == 0, 0.0, crit_rel * rel_se)
        rel_low, rel_high = rel - rel_half, rel + rel_half
        log_half = crit_rel * rel_se / (1 + rel)
        log_low, log_high = np.expm1(np.log1p(rel) - log_half), np.expm1(np.log1p(rel) + log_half)
        is_log = methods.rel_ci == "log"
        rel_low, rel_high = np.where(is_log, log_low, rel_low), np.where(is_log, log_high, rel_high)
        adj_low, adj_high = log_ratio_interval(
            methods.n_c, methods.x_c, methods.n_t, methods.x_t, crit_rel
        )
        adjusted = (methods.rel_ci == "log_adjusted") & np.isfinite(rel)
        rel_low = np.where(adjusted, adj_low, rel_low)
        rel_high = np.where(adjusted, adj_high, rel_high)
        near_one = methods.rel_ci == "newcombe_relative"
        if near_one.any():
            one_low, one_high = newcombe_relative(
                methods.n_c, methods.x_c, methods.n_t, methods.x_t, crit_rel
            )
            rel_low = np.where(near_one, one_low, rel_low)
            rel_high = np.where(near_one, one_high, rel_high)
    return abs_low, abs_high, rel_low, rel_high


def statistics(
    effect: FloatArray, se: FloatArray, rel: FloatArray, rel_se: FloatArray, methods: Methods
) -> tuple[FloatArray, FloatArray]:
    """|z| of each interval's own test: an interval at critical value c excludes 0 exactly when
    c < |z| (se = 0: infinite for a nonzero estimate, 0 for a zero one)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z_abs = np.where(se == 0, np.where(effect == 0, 0.0, np.inf), np.abs(effect / se))
        score = methods.ci == "newcombe"
        exact = (
            newcombe_z(methods.n_c, methods.x_c, methods.n_t, methods.x_t) if score.any() else z_abs
        )
        z_abs = np.where(score, exact, z_abs)
        z_rel = np.where(rel_se == 0, np.where(rel == 0, 0.0, np.inf), np.abs(rel / rel_se))
        z_log = np.abs(np.log1p(rel)) / (rel_se / (1 + rel))
        z_rel = np.where(methods.rel_ci == "log", z_log, z_rel)
        estimate, log_se = log_ratio(methods.n_c, methods.x_c, methods.n_t, methods.x_t)
        z_rel = np.where(methods.rel_ci == "log_adjusted", np.abs(estimate / log_se), z_rel)
        z_rel = np.where(methods.rel_ci == "newcombe_relative", exact, z_rel)
    return z_abs, z_rel
