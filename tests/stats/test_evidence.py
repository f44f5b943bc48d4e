"""Evidence on many edges at once (nsexp.stats.evidence) against the one-edge reference
(tests/meta_reference.py) and against simulated portfolios with a known slope."""

from __future__ import annotations

import numpy as np
import pytest
from meta_reference import effect_correlation

from nsexp.stats.evidence import edge_evidence


def portfolio(
    rng: np.random.Generator, n: int, rho: float, slope_sd: tuple[float, float], noise: float = 0.5
) -> dict:
    a = rng.standard_normal(n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    tx, ty = 0.003 + slope_sd[0] * a, 0.001 + slope_sd[1] * b
    se_x, se_y = 0.01 * rng.uniform(0.5, 1.5, n), 0.008 * rng.uniform(0.5, 1.5, n)
    z = rng.standard_normal((2, n))
    e2 = noise * z[0] + np.sqrt(1 - noise**2) * z[1]
    return {
        "x": tx + se_x * z[0],
        "y": ty + se_y * e2,
        "se_x": se_x,
        "se_y": se_y,
        "cov": noise * se_x * se_y,
    }


def test_each_edge_equals_the_one_edge_estimate() -> None:
    rng = np.random.default_rng(3)
    n = 50
    groups = np.repeat(np.arange(25), 2)  # two comparisons per experiment
    sims = [portfolio(rng, n, rho, (0.02, 0.015)) for rho in (0.0, 0.6, 0.9)]
    mask = np.ones((3, n), bool)
    mask[2, 40:] = False  # the third edge has only 40 comparisons

    def stack(key: str) -> np.ndarray:
        return np.vstack([s[key] for s in sims])

    got = edge_evidence(
        mask,
        stack("x"),
        stack("y"),
        stack("se_x"),
        stack("se_y"),
        stack("cov"),
        groups,
        n_boot=400,
        seed=5,
    )
    for e, sim in enumerate(sims):
        keep = mask[e]
        # the one-edge version resamples the same experiments when the groups are the same
        one = effect_correlation(
            sim["x"][keep],
            sim["y"][keep],
            sim["se_x"][keep],
            sim["se_y"][keep],
            sim["cov"][keep],
            groups[keep],
            n_boot=400,
            seed=5,
        )
        assert got.n[e] == keep.sum()
        assert got.naive[e] == pytest.approx(one.naive, rel=1e-10)
        assert got.corrected[e] == pytest.approx(one.corrected, rel=1e-10)
        assert got.slope[e] == pytest.approx(one.slope, rel=1e-10)
        assert got.intercept[e] == pytest.approx(one.intercept, rel=1e-9, abs=1e-12)
        if e < 2:  # same groups, same draws: the same interval
            assert got.ci_low[e] == pytest.approx(one.ci_low, rel=1e-9)
            assert got.ci_high[e] == pytest.approx(one.ci_high, rel=1e-9)


def test_slope_is_unbiased_and_its_interval_covers() -> None:
    """True slope = rho * sd_y / sd_x = 0.8 * 0.015 / 0.02 = 0.6: the corrected slope recovers
    it on average where the naive regression slope is attenuated by the child's noise (to about
    0.47), and the
    95% percentile interval covers it in about 95% of 200 portfolios of 60 comparisons
    (floor: three binomial SDs below 0.95)."""
    rng = np.random.default_rng(17)
    truth, covered, slopes, naive = 0.6, 0, [], []
    reps, n = 200, 60
    for r in range(reps):
        s = portfolio(rng, n, 0.8, (0.02, 0.015), noise=0.0)
        est = edge_evidence(
            np.ones((1, n), bool),
            s["x"][None],
            s["y"][None],
            s["se_x"][None],
            s["se_y"][None],
            s["cov"][None],
            np.arange(n),
            n_boot=400,
            seed=r,
        )
        covered += est.slope_low[0] <= truth <= est.slope_high[0]
        slopes.append(est.slope[0])
        naive.append(np.polyfit(s["x"], s["y"], 1)[0])
    assert covered / reps >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps), covered / reps
    assert np.median(slopes) == pytest.approx(truth, abs=0.05)
    # the naive slope: Cov(a, b) / (Var(a) + E[se_x²]) = 0.00024 / (0.0004 + 0.0001 · 13/12)
    assert np.median(naive) == pytest.approx(0.00024 / (0.0004 + 0.0001 * 13 / 12), abs=0.05)
