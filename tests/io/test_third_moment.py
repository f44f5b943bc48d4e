"""The third moment of mean metrics (issue 18, item 1): from unit rows (dated, merged over days,
far from zero), from summary files' `sum_cu` or `skewness`, and absent where a reader has none,
against numpy and scipy on the same values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import write_toml
from scipy import stats

from nsexp.io import load_dataset
from nsexp.io.moments import centred

METRICS = {"metrics": {"spend": {"label": "Spend", "role": "north_star", "type": "mean"}}}


def units(seed: int) -> pl.DataFrame:
    """Skewed spend, offset far from zero, in two arms over three days."""
    rng = np.random.default_rng(seed)
    n = 3000
    return pl.DataFrame(
        {
            "experiment": "e",
            "variant": rng.choice(["control", "treatment"], n),
            "date": rng.choice(["2026-01-01", "2026-01-02", "2026-01-03"], n),
            "spend": 1e6 + rng.lognormal(0.0, 1.0, n),
        }
    )


def m3(dataset_dir: Path) -> dict[str, float | None]:
    totals = centred(load_dataset(dataset_dir).totals)
    return dict(zip(totals["variant"], totals["m3"], strict=True))


def test_unit_rows_give_the_third_central_moment(tmp_path: Path) -> None:
    frame = units(1)
    frame.write_csv(tmp_path / "e.csv")
    write_toml(tmp_path / "metrics.toml", METRICS)
    got = m3(tmp_path)
    for variant, rows in frame.group_by("variant"):
        y = rows["spend"].to_numpy() - 1e6  # exact deviations: the offset is a power of ten
        want = float(((y - y.mean()) ** 3).sum())
        assert got[str(variant[0])] == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("form", ["sum_cu", "skewness", "none"])
def test_summary_rows_give_it_from_sum_cu_or_skewness(tmp_path: Path, form: str) -> None:
    rng = np.random.default_rng(2)
    arms = {"control": rng.exponential(2.0, 400), "treatment": rng.exponential(2.0, 900)}
    rows = []
    for variant, y in arms.items():
        row = {"experiment": "e", "variant": variant, "metric": "spend", "n": y.size}
        if form == "skewness":
            row |= {"mean": y.mean(), "variance": y.var(ddof=1), "skewness": stats.skew(y)}
        else:
            row |= {"sum": y.sum(), "sum_sq": (y * y).sum()}
            row |= {"sum_cu": (y**3).sum()} if form == "sum_cu" else {}
        rows.append(row)
    pl.DataFrame(rows).write_csv(tmp_path / "summary.csv")
    write_toml(tmp_path / "metrics.toml", METRICS)
    got = m3(tmp_path)
    for variant, y in arms.items():
        if form == "none":
            assert got[variant] is None
        else:
            assert got[variant] == pytest.approx(float(((y - y.mean()) ** 3).sum()), rel=1e-9)
