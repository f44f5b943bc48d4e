"""North Star equivalence (flat) by two one-sided tests, and the units needed to decide it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import make_units, write_frame, write_metrics
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.compare import Comparison
from nsexp.stats.equivalence import equivalence_interval, units_needed

RTOL = 1e-9
NS_ONLY = {"lessons": {"role": "north_star", "type": "mean", "practical_threshold": 0.02}}


def tost_p(rel: np.ndarray, se: np.ndarray, df: np.ndarray, threshold: float) -> np.ndarray:
    """The larger of the two one-sided p-values for H0: |effect| >= threshold."""
    lower = stats.t.sf((rel + threshold) / se, df)  # H0: effect <= -threshold
    upper = stats.t.cdf((rel - threshold) / se, df)  # H0: effect >= +threshold
    return np.maximum(lower, upper)


def is_flat(
    rel: np.ndarray, se: np.ndarray, df: np.ndarray, threshold: np.ndarray, alpha: float
) -> np.ndarray:
    """The readout's flat rule (nsexp.analysis.compute) on delta-method relative effects: the
    (1 - 2 alpha) equivalence interval lies inside +-threshold."""
    n, nan = rel.size, np.full(rel.size, np.nan)
    result = Comparison(
        control_mean=np.ones(n),
        treatment_mean=1 + rel,
        abs_effect=rel,
        abs_se=se,
        abs_ci_low=nan,
        abs_ci_high=nan,
        rel_effect=rel,
        rel_se=se,
        rel_ci_low=nan,
        rel_ci_high=nan,
        df=df,
        statistic=nan,
        p_value=nan,
        control_unit_var=nan,
        treatment_unit_var=nan,
        method=np.full(n, "welch_t"),
        ci_method=np.full(n, "t"),
        rel_ci_method=np.full(n, "delta"),
        n_control=np.full(n, 1000.0),
        n_treatment=np.full(n, 1000.0),
    )
    low, high = equivalence_interval(result, alpha)
    with np.errstate(invalid="ignore"):
        return (low > -threshold) & (high < threshold)


@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_is_flat_is_two_one_sided_tests(alpha: float) -> None:
    rng = np.random.default_rng(1)
    rel = rng.uniform(-0.05, 0.05, 4000)
    se = rng.uniform(0.001, 0.03, 4000)
    df = np.where(rng.random(4000) < 0.5, np.inf, rng.uniform(5, 500, 4000))
    p = tost_p(rel, se, df, 0.02)
    keep = np.abs(p - alpha) > 1e-9  # leave out knife-edge cases
    got = is_flat(rel, se, df, np.full(4000, 0.02), alpha)
    np.testing.assert_array_equal(got[keep], (p < alpha)[keep])
    assert 200 < got.sum() < 3800  # both outcomes are exercised


def test_untestable_is_never_flat() -> None:
    got = is_flat(
        np.array([np.nan, 0.0]),
        np.array([0.01, np.nan]),
        np.array([np.inf, np.inf]),
        np.array([0.02, 0.02]),
        0.05,
    )
    assert not got.any()


def test_units_needed_matches_statsmodels_power() -> None:
    vc, vt, mc, thr, alpha = 12.5, 13.1, 5.0, 0.02, 0.05
    got = units_needed(np.array([vc]), np.array([vt]), np.array([mc]), np.array([thr]), alpha)[0]
    d = thr * mc / math.sqrt((vc + vt) / 2)
    # one tail at alpha/2: the two-sided test's power without the negligible far tail
    n = NormalIndPower().solve_power(
        effect_size=d, alpha=alpha / 2, power=0.8, ratio=1.0, alternative="larger"
    )
    assert got == math.ceil(n)


@pytest.mark.parametrize(
    ("n", "status"), [(30000, "flat"), (150, "inconclusive")], ids=["large", "small"]
)
def test_full_path_north_star_status(tmp_path: Path, n: int, status: str) -> None:
    """Same true effect (none); enough units make it flat, few leave it inconclusive."""
    frame = make_units(31, {"control": n, "treatment": n}).select("variant", "lessons")
    write_frame(frame, tmp_path / "exp.parquet")
    write_metrics(tmp_path, NS_ONLY)
    alpha = 0.05
    t = build_readout(load_dataset(tmp_path), Settings(alpha=alpha)).experiments["exp"]
    ns = t.treatments[0].north_star
    xc = frame.filter(pl.col("variant") == "control")["lessons"].to_numpy()
    xt = frame.filter(pl.col("variant") == "treatment")["lessons"].to_numpy()
    res = stats.ttest_ind(xt, xc, equal_var=False)
    vc, vt = np.var(xc, ddof=1), np.var(xt, ddof=1)
    rel = xt.mean() / xc.mean() - 1
    rel_se = math.sqrt(vt / n / xc.mean() ** 2 + xt.mean() ** 2 * vc / n / xc.mean() ** 4)
    half = stats.t.ppf(1 - alpha, res.df) * rel_se
    assert ns.equivalence_ci_low == pytest.approx(rel - half, rel=RTOL, abs=0)
    assert ns.equivalence_ci_high == pytest.approx(rel + half, rel=RTOL, abs=0)
    p_tost = tost_p(np.array([rel]), np.array([rel_se]), np.array([res.df]), 0.02)[0]
    assert res.pvalue > alpha
    assert (p_tost < alpha) == (status == "flat")
    assert t.treatments[0].north_star_status == status
    assert t.treatments[0].verdict == status
    reason = t.treatments[0].reasons[0].text
    assert "lessons" in reason and "90% confidence interval" in reason and "±2%" in reason
    if status == "inconclusive":
        d = 0.02 * xc.mean() / math.sqrt((vc + vt) / 2)
        need = NormalIndPower().solve_power(
            effect_size=d, alpha=alpha / 2, power=0.8, ratio=1.0, alternative="larger"
        )
        assert ns.units_needed == math.ceil(need)
        assert f"about {math.ceil(need):,} units per arm (now {n})" in reason
    else:
        assert "inside its ±2% threshold: flat" in reason
