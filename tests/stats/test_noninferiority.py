"""Guardrail non-inferiority against statsmodels' generic t-test and a power simulation."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.weightstats import _tstat_generic

from nsexp.stats.noninferiority import non_inferiority


@pytest.mark.parametrize(
    ("rel", "se", "df", "sign", "margin"),
    [
        (0.01, 0.02, np.inf, 1.0, 0.05),
        (-0.03, 0.02, 40.0, 1.0, 0.05),
        (0.02, 0.03, np.inf, -1.0, 0.1),
    ],
)
def test_p_value_matches_statsmodels(
    rel: float, se: float, df: float, sign: float, margin: float
) -> None:
    out = non_inferiority(
        np.array([rel]), np.array([se]), np.array([df]), np.array([sign]), np.array([margin]), 0.05
    )
    # On the log-ratio scale: H0 log(1 + rel) <= log(1 - margin) (higher is better) or
    # >= log(1 + margin) (lower is better); the statistic flips sign for the latter.
    dof = 1e12 if np.isinf(df) else df
    log_se = se / (1 + rel)
    bound = np.log(1 - margin) if sign > 0 else np.log(1 + margin)
    _, p = _tstat_generic(sign * np.log(1 + rel), 0.0, log_se, dof, "larger", diff=sign * bound)
    assert out.p_value[0] == pytest.approx(p, rel=1e-6)
    assert out.safe[0] == (p < 0.05)


def test_power_matches_a_simulation_at_zero_effect() -> None:
    se, margin = 0.03, 0.06
    out = non_inferiority(
        np.array([0.0]),
        np.array([se]),
        np.array([np.inf]),
        np.array([1.0]),
        np.array([margin]),
        0.05,
    )
    # Estimates of a true lift of 0, normal on the log-ratio scale with that scale's SE.
    rng = np.random.default_rng(2)
    log_ratio = rng.normal(0.0, se, 200_000)
    rel = np.expm1(log_ratio)
    sim = non_inferiority(
        rel,
        se * (1 + rel),
        np.full(rel.size, np.inf),
        np.ones(rel.size),
        np.full(rel.size, margin),
        0.05,
    )
    assert out.power[0] == pytest.approx(sim.safe.mean(), abs=4 * np.sqrt(0.25 / rel.size))


def test_without_a_margin_nothing_is_tested() -> None:
    out = non_inferiority(
        np.array([0.0]),
        np.array([0.01]),
        np.array([np.inf]),
        np.array([1.0]),
        np.array([np.nan]),
        0.05,
    )
    assert np.isnan(out.p_value[0]) and not out.safe[0] and np.isnan(out.power[0])
