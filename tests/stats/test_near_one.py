"""Rates near 100% (issue 18, item 2): the lift's interval, the flat (TOST) test, the guardrail
non-inferiority test and the power figures follow the few-events rule, and their exact size at
the margin is at most α, shown by enumerating every outcome of both arms (binomial laws)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import arms_of, counts_readout
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from nsexp.stats.compare import compare, methods_of
from nsexp.stats.equivalence import equivalence_interval
from nsexp.stats.exact import farrington_manning, farrington_manning_power
from nsexp.stats.noninferiority import non_inferiority

ALPHA = 0.05
THRESHOLD = 0.01  # the flat test's ±1%
MARGIN = 0.005  # the guardrail's non-inferiority margin, higher is better
REACH = 80  # non-events enumerated per arm: beyond, the binomial mass is below 1e-30 here


def outcomes(n: int, p_c: float, p_t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of counts (x_c, x_t) with up to REACH non-events per arm, and its probability
    when the arms' true rates are p_c and p_t."""
    k = np.arange(REACH + 1)
    k_c, k_t = (a.ravel() for a in np.meshgrid(k, k, indexing="ij"))
    prob = stats.binom.pmf(k_c, n, 1 - p_c) * stats.binom.pmf(k_t, n, 1 - p_t)
    return (n - k_c).astype(float), (n - k_t).astype(float), prob


def readout_of(n: int, x_c: np.ndarray, x_t: np.ndarray):
    """nsexp's comparison of every outcome (one proportion metric of n units per arm)."""
    kind = np.full(x_c.size, "proportion")
    return compare(kind, arms_of(x_c, n), arms_of(x_t, n), ALPHA)


def flat(n: int, x_c: np.ndarray, x_t: np.ndarray) -> np.ndarray:
    """The readout's flat rule: the (1 − 2α) interval inside ±threshold, not significant."""
    result = readout_of(n, x_c, x_t)
    low, high = equivalence_interval(result, ALPHA)
    return (low > -THRESHOLD) & (high < THRESHOLD) & ~(result.p_value < ALPHA)


def safe(n: int, x_c: np.ndarray, x_t: np.ndarray) -> np.ndarray:
    """The guardrail rule: non-inferiority shown at the margin."""
    result = readout_of(n, x_c, x_t)
    size = x_c.size
    ni = non_inferiority(
        result.rel_effect,
        result.rel_se,
        result.df,
        np.ones(size),
        np.full(size, MARGIN),
        ALPHA,
        methods_of(result),
    )
    return ni.safe


@pytest.mark.parametrize("n", [300, 1000])
@pytest.mark.parametrize("p_c", [1.0, 0.999])
def test_flat_has_exact_size_at_most_alpha_at_the_margin(n: int, p_c: float) -> None:
    """True lift −1% (the threshold): P(flat) by enumeration ≤ α (it was 0.20, 0.15, 0.07,
    0.08 with the adjusted log ratio of events)."""
    x_c, x_t, prob = outcomes(n, p_c, p_c * (1 - THRESHOLD))
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    assert prob[flat(n, x_c, x_t)].sum() <= ALPHA


@pytest.mark.parametrize("n", [300, 1000])
@pytest.mark.parametrize("p_c", [1.0, 0.999])
def test_safe_has_exact_size_at_most_alpha_at_the_margin(n: int, p_c: float) -> None:
    """Truly worse by the margin: P(safe) by enumeration ≤ α."""
    x_c, x_t, prob = outcomes(n, p_c, p_c * (1 - MARGIN))
    assert prob[safe(n, x_c, x_t)].sum() <= ALPHA


def exact_tost_flat(n: int, x_c: np.ndarray, x_t: np.ndarray) -> np.ndarray:
    """An exact unconditional TOST (Chan 1998): each one-sided hypothesis H0: p_t = theta p_c
    (theta = 1 ∓ threshold) gets the p-value sup over the control rate of P(Z ≥ z_obs), Z the
    Farrington–Manning statistic, the supremum over a grid of control rates from 0.97 to 1
    (the enumerated outcomes hold all but 1e-12 of the mass there)."""
    flat_ = np.ones(x_c.size, dtype=bool)
    n_arr = np.full(x_c.size, float(n))
    for theta, side in ((1 - THRESHOLD, 1.0), (1 + THRESHOLD, -1.0)):
        z = side * farrington_manning(n_arr, x_c, n_arr, x_t, np.full(x_c.size, theta))
        order = np.argsort(-z, kind="stable")
        p = np.zeros(x_c.size)
        for rate in np.linspace(0.97, min(1.0, 1 / theta), 301):
            prob = stats.binom.pmf(n - x_c, n, 1 - rate) * stats.binom.pmf(
                n - x_t, n, 1 - theta * rate
            )
            tail = np.cumsum(prob[order])
            # ties share the tail of the largest index of their value
            z_sorted = z[order]
            last = np.searchsorted(-z_sorted, -z_sorted, side="right") - 1
            p_rate = np.empty(x_c.size)
            p_rate[order] = tail[last]
            p = np.maximum(p, p_rate)
        flat_ &= p <= ALPHA
    return flat_


def test_flat_at_no_effect_keeps_the_exact_tests_power() -> None:
    """True lift 0, 1,000 per arm at 99.9%: P(flat) within 5 points of the exact TOST's."""
    n, rate = 1000, 0.999
    x_c, x_t, prob = outcomes(n, rate, rate)
    ours = prob[flat(n, x_c, x_t)].sum()
    exact = prob[exact_tost_flat(n, x_c, x_t)].sum()
    assert ours >= exact - 0.05
    # and the exact TOST itself holds its size at the margin (the reference is valid)
    x_c, x_t, prob_margin = outcomes(n, rate, rate * (1 - THRESHOLD))
    assert prob_margin[exact_tost_flat(n, x_c, x_t)].sum() <= ALPHA


def test_relative_interval_near_one_is_newcombes_over_the_control_rate() -> None:
    """Near 100% the lift's interval is statsmodels' Newcombe interval of the difference over
    the control's rate; 300/300 vs 300/300 is never [0%, 0%]."""
    x_c, x_t = np.array([300.0, 300.0, 998.0]), np.array([300.0, 299.0, 1000.0])
    ns = np.array([300, 300, 1000])
    for i in range(3):
        n = int(ns[i])
        result = readout_of(n, x_c[i : i + 1], x_t[i : i + 1])
        want = confint_proportions_2indep(
            x_t[i], n, x_c[i], n, method="newcomb", compare="diff", alpha=ALPHA
        )
        assert result.rel_ci_method[0] == "newcombe_relative"
        np.testing.assert_allclose(
            [result.rel_ci_low[0], result.rel_ci_high[0]],
            np.array(want) / (x_c[i] / n),
            rtol=1e-9,
        )
        assert result.rel_ci_high[0] - result.rel_ci_low[0] > 0.005


def test_near_zero_keeps_the_adjusted_log_ratio() -> None:
    """Few events (not non-events) keep their interval: the rule near 0% is unchanged."""
    result = readout_of(1000, np.array([5.0]), np.array([0.0]))
    assert result.rel_ci_method[0] == "log_adjusted"


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # statsmodels at p = 1
def test_farrington_manning_matches_statsmodels() -> None:
    """The score statistic equals statsmodels' Farrington–Manning test of the ratio."""
    from statsmodels.stats.proportion import test_proportions_2indep

    rng = np.random.default_rng(18)
    for _ in range(40):
        n_c, n_t = rng.integers(50, 3000, 2)
        x_c, x_t = n_c - rng.integers(0, 12), n_t - rng.integers(0, 12)
        theta = rng.uniform(0.98, 1.02)
        got = farrington_manning(
            np.array([n_c]), np.array([x_c]), np.array([n_t]), np.array([x_t]), np.array([theta])
        )[0]
        want = test_proportions_2indep(
            x_t, n_t, x_c, n_c, value=theta, method="score", compare="ratio", correction=False
        ).statistic
        assert got == pytest.approx(want, rel=1e-7)


def test_guardrail_power_is_the_enumerated_probability_of_safe() -> None:
    """The reported power equals P(safe) by enumeration of the readout's own rule at the rate
    it plans with ((x + 1)/(n + 2) of the control), and it is not 1 at 300/300."""
    n = 1000
    rate = 1000 / 1002 + 1 / 1002  # (x + 1) / (n + 2) at 1000/1000
    power = farrington_manning_power(
        np.array([n]), np.array([n]), np.array([rate]), np.array([1 - MARGIN]), np.ones(1), ALPHA
    )[0]
    x_c, x_t, prob = outcomes(n, rate, rate)
    assert power == pytest.approx(prob[safe(n, x_c, x_t)].sum(), abs=1e-9)


def test_readout_at_300_of_300_has_a_real_interval(tmp_path: Path) -> None:
    """300/300 vs 300/300: an interval of nonzero width, a detectable effect above 0, and
    units needed above 0."""
    readout = counts_readout(tmp_path, {"control": (300, 300), "treatment": (300, 300)})
    row = readout.results.row(0, named=True)
    assert row["rel_ci_low"] < -0.005 and row["rel_ci_high"] > 0.005
    assert row["equivalence_ci_low"] < -0.005
    assert row["mde"] > 0.005
    assert row["units_needed"] > 0


@pytest.mark.parametrize(("n", "rate", "margin"), [(1000, 0.003, 0.5), (3000, 0.002, 0.5)])
def test_guardrails_near_zero_keep_their_size(n: int, rate: float, margin: float) -> None:
    """Few events near 0% (an error rate, lower is better) keep the log-ratio test, whose exact
    size at the margin is ≤ α here (0.027, 0.044); the score test would reach 0.056 at the
    first design, so it is used near 100% only."""
    k = np.arange(REACH + 1)
    k_c, k_t = (a.ravel().astype(float) for a in np.meshgrid(k, k, indexing="ij"))
    prob = stats.binom.pmf(k_c, n, rate) * stats.binom.pmf(k_t, n, rate * (1 + margin))
    result = readout_of(n, k_c, k_t)
    ni = non_inferiority(
        result.rel_effect,
        result.rel_se,
        result.df,
        -np.ones(k_c.size),
        np.full(k_c.size, margin),
        ALPHA,
        methods_of(result),
    )
    assert prob[ni.safe].sum() <= ALPHA
