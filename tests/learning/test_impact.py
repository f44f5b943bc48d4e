"""Compounded impact (nsexp.learning.impact): the product of shrunk lifts with an interval from
their posterior, checked against a hand computation and a Monte Carlo of the posterior."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from nsexp.analysis.readout import judge
from nsexp.io import Dataset
from nsexp.learning.impact import ASSUMPTIONS, compound, impact_of, shrinkage
from nsexp.stats.meta import shrink


def monte_carlo(lifts: np.ndarray, sds: np.ndarray, draws: int = 400_000) -> np.ndarray:
    """Draws of ∏(1 + lift) − 1 with each lift ~ N(mean, sd²) independently."""
    rng = np.random.default_rng(20)
    sample = rng.normal(lifts, sds, size=(draws, lifts.size))
    return np.prod(1.0 + sample, axis=1) - 1.0


def test_two_lifts_compound_by_hand() -> None:
    impact = compound([0.03, 0.03], [0.0, 0.0])
    assert impact.combined == pytest.approx(1.03 * 1.03 - 1)  # +6.09%, not the sum +6%
    assert impact.low == pytest.approx(impact.combined) and impact.high == pytest.approx(0.0609)
    assert impact.count == 2 and impact.median_lift == pytest.approx(0.03)
    assert impact.assumptions == ASSUMPTIONS and "shipped to everyone" in ASSUMPTIONS
    assert "independent" in ASSUMPTIONS and "lasting" in ASSUMPTIONS


@pytest.mark.parametrize(
    ("lifts", "sds"),
    [
        ([0.03, 0.01, 0.05, 0.02], [0.007, 0.01, 0.012, 0.004]),  # wins like the demo's
        ([0.2, -0.1, 0.15], [0.08, 0.05, 0.1]),  # large and noisy: the log scale matters
        ([0.01] * 30, [0.006] * 30),  # many small ones
    ],
)
def test_interval_matches_a_monte_carlo_of_the_posterior(lifts: list, sds: list) -> None:
    m, s = np.array(lifts), np.array(sds)
    impact = compound(m, s)
    draws = monte_carlo(m, s)
    assert impact.combined == pytest.approx(np.prod(1 + m) - 1)
    # the point is the posterior mean of the product (independent lifts)
    error = draws.std() / math.sqrt(draws.size)
    assert impact.combined == pytest.approx(draws.mean(), abs=4 * error)
    low, high = np.quantile(draws, [0.025, 0.975])
    width = high - low
    assert impact.low == pytest.approx(low, abs=0.02 * width)
    assert impact.high == pytest.approx(high, abs=0.02 * width)
    assert np.mean((draws >= impact.low) & (draws <= impact.high)) == pytest.approx(0.95, abs=0.005)


def test_level_and_nothing_to_combine() -> None:
    wide, narrow = compound([0.02, 0.04], [0.01, 0.01]), compound([0.02, 0.04], [0.01, 0.01], 0.8)
    assert wide.low < narrow.low < narrow.combined < narrow.high < wide.high
    none = compound([], [])
    assert (none.count, none.median_lift, none.combined, none.low, none.high) == (0, None, 0, 0, 0)


@pytest.mark.parametrize(
    ("lifts", "sds"), [([0.1], [0.1, 0.2]), ([-1.0], [0.1]), ([0.1], [-0.1]), ([np.nan], [0.1])]
)
def test_bad_input_is_refused(lifts: list, sds: list) -> None:
    with pytest.raises(ValueError, match="compound"):
        compound(lifts, sds)


def test_shrinkage_and_a_selection_of_it(demo_dataset: Dataset) -> None:
    judged = judge(demo_dataset)
    frame, fit = shrinkage(judged, "lessons_completed")
    assert fit is not None
    # the posterior by hand: the prior fitted over every valid comparison, then each pulled in
    by_hand = shrink(frame["rel_effect"].to_numpy(), frame["rel_se"].to_numpy())
    assert np.allclose(frame["shrunk_effect"].to_numpy(), by_hand.posterior_mean)
    assert (frame["verdict"] != "invalid").all() and frame.height == 56
    wins = frame.filter(pl.col("verdict") == "north_star_win")
    pairs = list(wins.select("experiment", "variant").iter_rows())
    chosen = impact_of(frame, [*pairs, ("nope", "none")])
    assert chosen == impact_of(wins) == compound(wins["shrunk_effect"], wins["shrunk_sd"])
    assert chosen.count == 17
    assert chosen.combined == pytest.approx(np.prod(1 + wins["shrunk_effect"].to_numpy()) - 1)
    assert chosen.combined > wins["shrunk_effect"].sum()  # compounding is not adding
