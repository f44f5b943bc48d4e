"""Large means against small spreads (issue 11, items 1 and 2): every reader keeps the variance.

Revenue in cents, timestamps and durations in ms live where Σy² − (Σy)²/n loses every digit.
Each case is read through load_dataset + build_readout and checked against scipy (or
statsmodels) on the same units centred by subtracting the large constant — arithmetic that is
exact for these values — never against nsexp's own output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from engine_helpers import (
    assert_large_means_read_right,
    large_mean_rows,
    write_large_catalog,
    write_source,
)
from helpers import write_metrics
from scipy import stats

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset

ONE = {"value": {"role": "north_star", "type": "mean"}}
SIX_C = [100000000.1, 100000000.2, 100000000.3]
SIX_T = [100000000.2, 100000000.3, 100000000.4]


def north_star(root: Path, settings: Settings | None = None) -> dict:
    """The only experiment's North Star result row."""
    readout = build_readout(load_dataset(root), settings or Settings())
    return readout.results.filter(pl.col("metric") == "value").row(0, named=True)


def welch(t: np.ndarray, c: np.ndarray, shift: float):
    """scipy's Welch test of the centred units, and its 95% interval."""
    res = stats.ttest_ind(t - shift, c - shift, equal_var=False)
    return res.pvalue, res.confidence_interval(0.95)


def six_rows(root: Path) -> Path:
    """The issue's six units: control 1e8 + .1/.2/.3, treatment 1e8 + .2/.3/.4 (a CSV)."""
    root.mkdir(parents=True, exist_ok=True)
    write_metrics(root, ONE)
    frame = pl.DataFrame({"variant": ["control"] * 3 + ["treatment"] * 3, "value": SIX_C + SIX_T})
    frame.write_csv(root / "six.csv")
    return root


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_six_units_around_1e8(tmp_path: Path, engine: str) -> None:
    """Before: CI [−3.41, 3.61], p = 0.914. scipy: [−0.127, 0.327], p = 0.288."""
    root = six_rows(tmp_path / "d")
    if engine == "duckdb":
        pytest.importorskip("duckdb")
        write_source(root, engine="duckdb", path="six.csv")
    got = north_star(root)
    p, ci = welch(np.array(SIX_T), np.array(SIX_C), 1e8)
    assert p == pytest.approx(0.288, abs=5e-4)
    assert got["p_value"] == pytest.approx(p, rel=1e-9)
    assert (got["abs_ci_low"], got["abs_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert not got["decisive"] and "fewer than 30 units" in got["note"]  # n = 3 (item 7)


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_a_million_units_mean_1e6_sd_001(tmp_path: Path, engine: str) -> None:
    """1e6 units per arm, mean 1e6, sd 0.01. Before: variance 0, p = 0, a zero-width interval
    and north_star_win. Now scipy's figures, on every part (mean, CUPED pair, ratio)."""
    rows = large_mean_rows(1_000_000)
    root = tmp_path / engine
    write_large_catalog(root)
    rows.write_parquet(root / "big.parquet")
    if engine == "duckdb":
        pytest.importorskip("duckdb")
        (root / "parts").mkdir()
        (root / "big.parquet").rename(root / "parts" / "big.parquet")
        write_source(root, engine="duckdb", path="parts")
    assert_large_means_read_right(root, rows)


def test_mean_and_variance_rows_are_kept_as_given(tmp_path: Path) -> None:
    """n = 3, mean 1e8, variance 0.01 per arm: the test sees exactly those (before: rebuilt
    into sum_sq, p = 0.914); equals scipy's ttest_ind_from_stats."""
    write_metrics(tmp_path, ONE)
    pl.DataFrame(
        {
            "experiment": ["e", "e"],
            "variant": ["control", "treatment"],
            "metric": ["value", "value"],
            "n": [3, 3],
            "mean": [100000000.2, 100000000.3],
            "variance": [0.01, 0.01],
        }
    ).write_csv(tmp_path / "s.csv")
    got = north_star(tmp_path)
    want = stats.ttest_ind_from_stats(100000000.3, 0.1, 3, 100000000.2, 0.1, 3, equal_var=False)
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-12)
    assert got["abs_effect"] == pytest.approx(100000000.3 - 100000000.2, rel=1e-15)


def test_sum_and_sum_sq_rows_that_cannot_hold_the_variance_say_so(tmp_path: Path) -> None:
    """The same million units as plain sum/sum_sq rows: the variance is gone before nsexp reads
    it. No p = 0 and no zero-width interval: no test, a note, and no verdict from it."""
    rows = large_mean_rows(1_000_000).select("arm", "value")
    sums = rows.group_by("arm").agg(
        pl.len().alias("n"),
        pl.col("value").sum().alias("sum"),
        (pl.col("value") ** 2).sum().alias("sum_sq"),
    )
    write_metrics(tmp_path, ONE)
    sums.select(
        pl.lit("e").alias("experiment"),
        pl.col("arm").alias("variant"),
        pl.lit("value").alias("metric"),
        "n",
        "sum",
        "sum_sq",
    ).write_csv(tmp_path / "s.csv")
    readout = build_readout(load_dataset(tmp_path))
    got = readout.results.row(0, named=True)
    assert got["p_value"] is None and got["abs_ci_low"] is None and got["abs_ci_high"] is None
    assert "cannot hold this metric's variance" in got["note"] and not got["decisive"]
    assert not got["significant"]
    assert readout.experiments["e"].treatments[0].verdict == "inconclusive"


def test_ordinary_sum_rows_keep_their_test(tmp_path: Path) -> None:
    """Sum rows of an everyday metric (mean 5, sd 3) are read as before: no note."""
    rng = np.random.default_rng(3)
    c, t = 5 + 3 * rng.standard_normal(4000), 5.1 + 3 * rng.standard_normal(4000)
    write_metrics(tmp_path, ONE)
    pl.DataFrame(
        {
            "experiment": ["e", "e"],
            "variant": ["control", "treatment"],
            "metric": ["value", "value"],
            "n": [4000, 4000],
            "sum": [c.sum(), t.sum()],
            "sum_sq": [(c * c).sum(), (t * t).sum()],
        }
    ).write_csv(tmp_path / "s.csv")
    got = north_star(tmp_path)
    assert got["note"] is None and got["decisive"]
    assert got["p_value"] == pytest.approx(stats.ttest_ind(t, c, equal_var=False).pvalue, rel=1e-9)


def _dated_units(seed: int, days: int = 6) -> pl.DataFrame:
    """Units around 1e8 (sd 0.1) exposed over `days` days, a small true effect."""
    rng = np.random.default_rng(seed)
    n = 12_000
    variant = np.where(rng.random(n) < 0.5, "control", "treatment")
    day = rng.integers(0, days, n)
    value = 1e8 + 0.1 * rng.standard_normal(n) + np.where(variant == "treatment", 0.004, 0.0)
    start = dt.date(2026, 3, 1)
    return pl.DataFrame(
        {"variant": variant, "date": [start + dt.timedelta(int(d)) for d in day], "value": value}
    )


def test_daily_rows_add_up_without_losing_digits(tmp_path: Path) -> None:
    """Dated units: totals over the days and each day of the timeline equal scipy on the units
    exposed up to that day (the daily rows are moved to one shift and added, never recombined
    from Σy²)."""
    units = _dated_units(7)
    write_metrics(tmp_path, ONE)
    units.write_parquet(tmp_path / "d.parquet")
    readout = build_readout(load_dataset(tmp_path))
    row = readout.results.row(0, named=True)
    c = units.filter(pl.col("variant") == "control")
    t = units.filter(pl.col("variant") == "treatment")
    p, ci = welch(t["value"].to_numpy(), c["value"].to_numpy(), 1e8)
    assert row["p_value"] == pytest.approx(p, rel=1e-9)
    assert (row["abs_ci_low"], row["abs_ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    timeline = readout.experiments[next(iter(readout.experiments))].treatments[0].timeline
    assert len(timeline) == 6
    for look in timeline:
        upto = units.filter(pl.col("date") <= look.date)
        yc = upto.filter(pl.col("variant") == "control")["value"].to_numpy() - 1e8
        yt = upto.filter(pl.col("variant") == "treatment")["value"].to_numpy() - 1e8
        want = stats.ttest_ind(yt, yc, equal_var=False).pvalue
        assert look.p_value == pytest.approx(want, rel=1e-9)


def test_cumulative_snapshots_around_1e8_difference_exactly(tmp_path: Path) -> None:
    """Running-total snapshots given as mean and variance (dates = "cumulative"): the final
    readout equals scipy's test from the last snapshot's figures."""
    units = _dated_units(8)
    days = sorted(units["date"].unique().to_list())
    rows = []
    for day in days:
        upto = units.filter(pl.col("date") <= day)
        for variant in ("control", "treatment"):
            y = upto.filter(pl.col("variant") == variant)["value"].to_numpy()
            rows.append(
                {
                    "experiment": "e",
                    "variant": variant,
                    "metric": "value",
                    "date": day,
                    "n": y.size,
                    "mean": 1e8 + (y - 1e8).mean(),
                    "variance": np.var(y - 1e8, ddof=1),
                }
            )
    snapshots = pl.DataFrame(rows)
    snapshots.write_csv(tmp_path / "s.csv")
    write_metrics(tmp_path, ONE, columns={"dates": "cumulative"})
    got = north_star(tmp_path)
    last = snapshots.filter(pl.col("date") == days[-1])
    c, t = (
        last.filter(pl.col("variant") == v).row(0, named=True) for v in ("control", "treatment")
    )
    want = stats.ttest_ind_from_stats(
        t["mean"] - 1e8,
        np.sqrt(t["variance"]),
        t["n"],
        c["mean"] - 1e8,
        np.sqrt(c["variance"]),
        c["n"],
        equal_var=False,
    )
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-9)
    assert got["n_control"] == c["n"] and got["n_treatment"] == t["n"]


def test_dated_sum_rows_that_cannot_hold_the_variance_give_no_timeline_p(tmp_path: Path) -> None:
    """Daily sum/sum_sq rows of a mean near 1e8 with sd 1e-3: neither the readout nor any day
    of the timeline prints a p-value made of rounding noise."""
    units = _dated_units(9).with_columns(1e8 + (pl.col("value") - 1e8) / 100)
    rows = units.group_by("variant", "date").agg(
        pl.len().alias("n"),
        pl.col("value").sum().alias("sum"),
        (pl.col("value") ** 2).sum().alias("sum_sq"),
    )
    rows.with_columns(pl.lit("e").alias("experiment"), pl.lit("value").alias("metric")).write_csv(
        tmp_path / "s.csv"
    )
    write_metrics(tmp_path, ONE)
    readout = build_readout(load_dataset(tmp_path))
    assert readout.results["p_value"].is_null().all()
    timeline = readout.experiments["e"].treatments[0].timeline
    assert timeline and all(look.p_value is None for look in timeline)
