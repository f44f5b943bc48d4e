"""The same data gives the same bytes: readouts at several Polars thread counts and repeats
(subprocesses, as POLARS_MAX_THREADS is read once per process), and the whole-number sums they
rest on equal to an exact computation."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import DEMO_DATA, REPO, write_metrics

from nsexp.config.catalog import Metric
from nsexp.io import load_dataset
from nsexp.io.moments import centred
from nsexp.io.sums import pilots

METRICS = {
    "lessons": {"role": "north_star", "type": "mean", "covariate": "lessons_pre"},
    "retained": {"role": "leading", "type": "proportion"},
    "minutes_per_session": {
        "role": "leading",
        "type": "ratio",
        "numerator": "minutes",
        "denominator": "sessions",
    },
    "revenue": {"role": "guardrail", "type": "mean", "direction": "increase"},
}


def _units(rows: int, seed: int = 5) -> pl.DataFrame:
    """Unit rows over two weeks: integer, boolean and decimal float (1 and 2 places) columns."""
    rng = np.random.default_rng(seed)
    lessons_pre = rng.poisson(4.0, rows)
    return pl.DataFrame(
        {
            "variant": rng.choice(["control", "treatment"], rows),
            "date": np.datetime64("2026-09-01") + rng.integers(0, 14, rows).astype("m8[D]"),
            "lessons_pre": lessons_pre,
            "lessons": lessons_pre + rng.poisson(3.0, rows),
            "retained": rng.random(rows) < 0.4,
            "sessions": rng.integers(1, 9, rows),
            "minutes": np.round(rng.gamma(2.0, 12.0, rows), 1),
            "revenue": np.round(rng.lognormal(1.0, 1.2, rows), 2),
        }
    ).with_columns(pl.col("date").cast(pl.Date))


def _readouts(data: Path, threads: list[int]) -> list[bytes]:
    """`nsexp readout DATA --format json` at each thread count, in a fresh process each."""
    out = []
    for count in threads:
        env = os.environ | {"POLARS_MAX_THREADS": str(count), "PYTHONPATH": str(REPO)}
        proc = subprocess.run(
            [sys.executable, "-m", "nsexp", "readout", str(data), "--format", "json"],
            capture_output=True,
            check=False,
            cwd=REPO,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        out.append(proc.stdout)
    return out


def test_readout_of_a_file_polars_splits_is_the_same_at_every_thread_count(tmp_path: Path) -> None:
    """120,000 unit rows in 12 row groups, which Polars' streaming group-by spreads over its
    threads, some missing a value: the same JSON bytes with 1, 2 and 8 threads (before the
    whole-number sums, the last digits of most figures moved with the thread count)."""
    write_metrics(tmp_path, METRICS)
    gaps = pl.int_range(pl.len()) % 7 == 0  # missing lessons: the masked sums (io/masked.py)
    units = _units(120_000).with_columns(pl.when(gaps).then(None).otherwise(pl.col("lessons")))
    units.write_parquet(tmp_path / "pricing.parquet", row_group_size=10_000)
    runs = _readouts(tmp_path, [1, 2, 8])
    assert b'"p_value"' in runs[0]
    assert runs[1] == runs[0] and runs[2] == runs[0]


@pytest.mark.slow
def test_demo_readout_is_the_same_at_every_thread_count_and_run() -> None:
    """The demo data, as JSON: 1, 2 and 8 threads, and 8 threads again."""
    runs = _readouts(DEMO_DATA, [1, 2, 8, 8])
    assert all(run == runs[0] for run in runs[1:])


def _exact(values: np.ndarray) -> tuple[Fraction, Fraction]:
    """The mean and M2 = Σ(y − ȳ)² of the values, in exact rational arithmetic (each float is
    read as the decimal it was written as, to 2 places)."""
    ys = [Fraction(round(float(v) * 100), 100) for v in values]
    mean = sum(ys, Fraction(0)) / len(ys)
    return mean, sum(((y - mean) ** 2 for y in ys), Fraction(0))


def test_whole_number_sums_give_exact_moments(tmp_path: Path) -> None:
    """Each arm's and day's mean and M2 of an integer and a 2-place decimal column equal an exact
    rational computation to the last bit or two (the sums are exact, one rounding follows)."""
    write_metrics(tmp_path, METRICS)
    units = _units(20_000, seed=9)
    units.write_parquet(tmp_path / "pricing.parquet", row_group_size=2_000)
    summary = centred(load_dataset(tmp_path).summary)
    for metric in ("lessons", "revenue"):
        got = summary.filter(pl.col("metric") == metric).sort("variant", "date").head(6)
        for row in got.iter_rows(named=True):
            arm = units.filter(
                (pl.col("variant") == row["variant"]) & (pl.col("date") == row["date"])
            )
            mean, m2 = _exact(arm[metric].to_numpy())
            assert row["mean"] == pytest.approx(float(mean), rel=4e-16, abs=0)
            assert row["m2"] == pytest.approx(float(m2), rel=4e-16, abs=0)


def test_a_column_that_stops_being_decimal_is_summed_again(tmp_path: Path) -> None:
    """Revenue whose first rows have 2 places but later ones more: the scan's check sends it to
    the masked sums, which match numpy on the raw values."""
    write_metrics(tmp_path, METRICS)
    units = _units(5_000, seed=2)
    noisy = units["revenue"].to_numpy().copy()
    noisy[3_000:] += 1e-7 * np.arange(2_000)
    units = units.with_columns(pl.Series("revenue", noisy)).drop("date")
    units.write_parquet(tmp_path / "pricing.parquet")
    summary = centred(load_dataset(tmp_path).summary)
    for row in summary.filter(pl.col("metric") == "revenue").iter_rows(named=True):
        arm = units.filter(pl.col("variant") == row["variant"])["revenue"].to_numpy()
        assert row["mean"] == pytest.approx(arm.mean(), rel=1e-13)
        assert row["m2"] == pytest.approx(((arm - arm.mean()) ** 2).sum(), rel=1e-12)


def test_each_float_column_gets_the_scale_that_reads_it_exactly() -> None:
    """Decimals of 2 places with a spread near their size: 100; doubles near 1e9 with unit
    spread: their binary grid 2^-23 (reading them as 6-place decimals would move each by up to
    6e-8, a digit of the spread); floats over many binades: none (plain float sums)."""
    rng = np.random.default_rng(4)
    frame = pl.DataFrame(
        {
            "cents": np.round(rng.lognormal(1.0, 1.0, 1000), 2),
            "near": 1e9 + rng.standard_normal(1000),
            "wide": rng.lognormal(0.0, 4.0, 1000),
        }
    )
    metrics = [
        Metric(
            id=c, label=c, role="guardrail" if c != "cents" else "north_star", type="mean", column=c
        )
        for c in frame.columns
    ]
    got = pilots(frame.lazy(), metrics, frame.columns)
    assert got.scales == {"cents": 100.0, "near": 2.0**23}
    assert round(got["cents"] * 100) == got["cents"] * 100  # the pilot on the grid


@pytest.mark.parametrize(
    "values",
    [
        [5e-324, 1.0, 2.0],  # a subnormal: its grid 2^1126 is past what a double holds
        [1e300, 1e300, 3e-300],  # a huge pilot on a fine grid: pilot · scale is infinite
        [1.7e308, -1.7e308, 0.5],  # the spread itself overflows
    ],
)
def test_extreme_floats_get_a_pilot_without_an_error(values: list[float]) -> None:
    """Values at the ends of float64 (the long fuzz run found them): the pilot stays finite and
    a grid is kept only where the pilot is a finite whole number of it; else plain float sums."""
    frame = pl.DataFrame({"x": values * 10})
    metrics = [Metric(id="x", label="x", role="north_star", type="mean", column="x")]
    got = pilots(frame.lazy(), metrics, frame.columns)
    assert np.isfinite(got["x"])
    for column, scale in got.scales.items():
        assert (
            np.isfinite(got[column] * scale) and round(got[column] * scale) == got[column] * scale
        )
