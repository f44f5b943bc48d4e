"""Holm and Benjamini–Hochberg against statsmodels' multipletests, within families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import make_units, write_frame, write_metrics
from statsmodels.stats.multitest import multipletests

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.multiplicity import adjust

RTOL = 1e-9
SM_METHOD = {"holm": "holm", "bh": "fdr_bh"}


def reference(p: np.ndarray, family: np.ndarray, method: str) -> np.ndarray:
    """multipletests per family on the non-NaN p-values; NaN stays NaN."""
    out = np.full(p.size, np.nan)
    for fam in np.unique(family):
        idx = np.flatnonzero((family == fam) & ~np.isnan(p))
        if idx.size:
            out[idx] = multipletests(p[idx], method=SM_METHOD[method])[1]
    return out


@pytest.mark.parametrize("method", ["holm", "bh"])
@pytest.mark.parametrize("seed", range(5))
def test_random_families_match_multipletests(method: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, size=6)
    family = np.repeat([f"exp{i}|{'ns' if i % 2 else 'other'}" for i in range(6)], sizes)
    p = np.where(
        rng.random(family.size) < 0.3, rng.random(family.size) * 0.01, rng.random(family.size)
    )
    order = rng.permutation(family.size)  # families interleaved, rows unsorted
    p, family = p[order], family[order]
    np.testing.assert_allclose(adjust(p, family, method), reference(p, family, method), rtol=RTOL)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_ties_match_multipletests(method: str) -> None:
    p = np.array([0.01, 0.03, 0.01, 0.5, 0.03, 0.03, 0.002, 0.002])
    family = np.array(["a"] * 6 + ["b"] * 2)
    got = adjust(p, family, method)
    np.testing.assert_allclose(got, reference(p, family, method), rtol=RTOL)
    assert got[0] == got[2] and got[1] == got[4] == got[5]


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_nan_stays_nan_and_does_not_count(method: str) -> None:
    p = np.array([0.01, np.nan, 0.04, 0.02, np.nan])
    family = np.array(["a"] * 5)
    got = adjust(p, family, method)
    assert np.isnan(got[[1, 4]]).all()
    want = multipletests(p[[0, 2, 3]], method=SM_METHOD[method])[1]
    np.testing.assert_allclose(got[[0, 2, 3]], want, rtol=RTOL)
    # the family has three testable members, not five
    if method == "holm":
        assert got[0] == pytest.approx(3 * 0.01, rel=RTOL, abs=0)


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_edges(method: str) -> None:
    all_nan = adjust(np.array([np.nan, np.nan]), np.array(["a", "a"]), method)
    assert np.isnan(all_nan).all()
    lone = adjust(np.array([0.03]), np.array(["a"]), method)
    assert lone[0] == pytest.approx(0.03, rel=RTOL, abs=0)
    bounds = adjust(np.array([0.0, 1.0, 0.9]), np.array(["a"] * 3), method)
    np.testing.assert_allclose(
        bounds, reference(np.array([0.0, 1.0, 0.9]), np.array(["a"] * 3), method)
    )
    assert (bounds <= 1.0).all()


def test_none_is_the_raw_p_value_and_a_copy() -> None:
    p = np.array([0.01, np.nan, 0.2])
    got = adjust(p, np.array(["a", "a", "b"]), "none")
    np.testing.assert_array_equal(got, p)
    got[0] = 1.0
    assert p[0] == 0.01


@pytest.mark.parametrize("method", ["holm", "bh"])
def test_full_path_families_per_experiment(tmp_path: Path, method: str) -> None:
    """Two families per experiment: the North Star across treatments, the rest together."""
    three_arms = make_units(
        21,
        {"control": 900, "alpha": 900, "beta": 900},
        effects={"alpha": {"clicks": 1.1, "lessons": 1.06}, "beta": {"retained": 1.12}},
        experiment="three_arms",
    )
    two_arms = make_units(22, {"control": 800, "treatment": 800}, experiment="two_arms")
    write_frame(three_arms, tmp_path / "a.csv")
    write_frame(two_arms, tmp_path / "b.parquet")
    write_metrics(tmp_path)
    alpha = 0.1
    results = build_readout(
        load_dataset(tmp_path), Settings(alpha=alpha, correction=method)
    ).results
    assert results.height == (2 + 1) * 5
    family = (
        results["experiment"] + "|" + (results["role"] == "north_star").cast(pl.String)
    ).to_numpy()
    raw = results["p_value"].to_numpy()
    want = reference(raw, family, method)
    np.testing.assert_allclose(results["p_adjusted"].to_numpy(), want, rtol=RTOL)
    # sizes: the three-arm NS family has 2 members, its other family 8; two_arms: 1 and 4
    sizes = pl.DataFrame({"f": family}).group_by("f").len().sort("f")["len"].to_list()
    assert sorted(sizes) == [1, 2, 4, 8]
    np.testing.assert_array_equal(results["significant"].to_numpy(), want < alpha)
