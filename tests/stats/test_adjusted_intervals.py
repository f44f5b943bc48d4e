"""Adjusted intervals exclude zero exactly when the adjusted p-value is below alpha."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nsexp.stats.adjusted import adjusted_intervals
from nsexp.stats.multiplicity import adjust


@pytest.mark.parametrize("method", ["holm", "bh", "none"])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_interval_excludes_zero_iff_adjusted_p_below_alpha(method: str, alpha: float) -> None:
    rng = np.random.default_rng(11)
    size = 20_000
    family = rng.integers(0, 2_000, size).astype(str)
    se = rng.uniform(0.1, 2.0, size)
    effect = rng.normal(0, 1, size) * se * rng.choice([0.5, 2.0, 4.0, 9.0], size)
    df = np.where(rng.random(size) < 0.5, np.inf, rng.uniform(5, 500, size))
    p = 2 * stats.t.sf(np.abs(effect / se), df)
    rel_se = se * rng.uniform(0.7, 1.4, size) / 10
    rel = effect / 10 * rng.uniform(0.8, 1.2, size)
    p_adj = adjust(p, family, method)  # type: ignore[arg-type]
    ci = adjusted_intervals(effect, se, rel, rel_se, df, p, p_adj, alpha)
    significant = p_adj < alpha
    assert 0.05 < significant.mean() < 0.95
    np.testing.assert_array_equal((ci.abs_low > 0) | (ci.abs_high < 0), significant)
    np.testing.assert_array_equal((ci.rel_low > 0) | (ci.rel_high < 0), significant)
    # Never narrower than the unadjusted interval for the absolute effect.
    crit = stats.t.isf(alpha / 2, df)
    assert (ci.abs_high - ci.abs_low >= 2 * crit * se * (1 - 1e-12)).all()


def test_no_correction_gives_the_ordinary_interval() -> None:
    effect, se, df = np.array([1.0, -0.3]), np.array([0.4, 0.5]), np.array([np.inf, 30.0])
    p = 2 * stats.t.sf(np.abs(effect / se), df)
    ci = adjusted_intervals(effect, se, effect, se, df, p, p, 0.05)
    crit = stats.t.isf(0.025, df)
    np.testing.assert_allclose(ci.abs_low, effect - crit * se, rtol=1e-9)
    np.testing.assert_allclose(ci.abs_high, effect + crit * se, rtol=1e-9)


def test_holm_level_is_alpha_over_the_step_count() -> None:
    p = np.array([0.001, 0.01, 0.04])
    p_adj = adjust(p, np.array(["f"] * 3), "holm")
    se = np.ones(3)
    effect = stats.norm.isf(p / 2)
    ci = adjusted_intervals(effect, se, effect, se, np.full(3, np.inf), p, p_adj, 0.05)
    np.testing.assert_allclose(1 - ci.abs_level[:2], [0.05 / 3, 0.05 / 2], rtol=1e-9)


def test_relative_interval_is_not_widened_when_nothing_is_corrected() -> None:
    """A very significant metric alone in its family: the relative statistic's own p-value is
    far below the absolute test's, yet the adjusted relative interval is the ordinary one."""
    effect, se, df = np.array([0.6]), np.array([0.05]), np.array([np.inf])
    rel, rel_se = np.array([0.06]), np.array([0.004])  # z = 15 against the absolute z = 12
    p = 2 * stats.t.sf(np.abs(effect / se), df)
    ci = adjusted_intervals(effect, se, rel, rel_se, df, p, p, 0.05)
    crit = stats.norm.isf(0.025)
    np.testing.assert_allclose(ci.rel_low, rel - crit * rel_se, rtol=1e-9)
    np.testing.assert_allclose(ci.rel_high, rel + crit * rel_se, rtol=1e-9)
