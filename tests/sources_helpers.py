"""Seeded unit-level data, a source.toml writer and a summary comparison for the engine tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from conftest import write_toml
from polars.testing import assert_frame_equal

from nsexp.io import Dataset, load_dataset
from nsexp.io.moments import centred

# Every kind of metric: mean with a CUPED covariate, a capped mean, boolean and 0/1 proportions,
# and a ratio whose parts have gaps.
SOURCE_METRICS: dict[str, dict[str, Any]] = {
    "lessons": {"role": "north_star", "type": "mean", "covariate": "pre_lessons"},
    "retained": {"role": "leading", "type": "proportion"},
    "minutes_per_session": {
        "role": "leading",
        "type": "ratio",
        "numerator": "minutes",
        "denominator": "sessions",
    },
    "clicks": {"role": "vanity", "type": "mean", "cap_quantile": 0.99},
    "errors": {"role": "guardrail", "type": "proportion", "direction": "decrease"},
}


def unit_rows(seed: int = 11, n: int = 6000) -> pl.DataFrame:
    """Unit-level rows of two experiments (three and two arms) over five exposure days."""
    rng = np.random.default_rng(seed)
    experiment = np.where(rng.random(n) < 0.6, "exp_a", "exp_b")
    arms = np.array(["control", "treatment", "bold"])
    variant = np.where(
        experiment == "exp_a", arms[rng.integers(0, 3, n)], arms[rng.integers(0, 2, n)]
    )
    pre = rng.poisson(4.0, n).astype(float)
    minutes = rng.gamma(2.0, 5.0, n)
    sessions = rng.poisson(3.0, n) + 1.0
    frame = pl.DataFrame(
        {
            "unit_id": np.arange(n),
            "experiment": experiment,
            "arm": variant,
            "day": [dt.date(2026, 3, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 5, n)],
            "lessons": pre * 0.8 + rng.normal(1.0, 2.0, n),
            "pre_lessons": pre,
            "retained": rng.random(n) < 0.4,
            "minutes": minutes,
            "sessions": sessions,
            "clicks": rng.pareto(1.5, n) * 10,
            "errors": (rng.random(n) < 0.05).astype(np.int32),
        }
    )
    gaps = rng.random(n)
    return frame.with_columns(
        pl.when(pl.Series(gaps < 0.03)).then(None).otherwise(pl.col("minutes")).alias("minutes"),
        pl.when(pl.Series((gaps > 0.5) & (gaps < 0.52)))
        .then(None)
        .otherwise(pl.col("pre_lessons"))
        .alias("pre_lessons"),
    )


def write_catalog(root: Path, columns: dict[str, str] | None = None) -> Path:
    """metrics.toml for SOURCE_METRICS, mapping `arm` and `day` as the data names them."""
    mapping = {"variant": "arm", "date": "day"} if columns is None else columns
    tables: dict[str, Any] = {"metrics": SOURCE_METRICS}
    if mapping:
        tables = {"columns": mapping, **tables}
    root.mkdir(parents=True, exist_ok=True)
    return write_toml(root / "metrics.toml", tables)


def write_source(root: Path, **keys: Any) -> Path:
    """A source.toml with the given top-level keys."""
    lines = []
    for key, value in keys.items():
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(str(v)) for v in value)}]")
        else:
            lines.append(f'{key} = "{value}"')
    path = root / "source.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def reference(tmp: Path, rows: pl.DataFrame) -> Dataset:
    """The in-memory Polars path on the same rows (one Parquet file beside metrics.toml)."""
    root = tmp / "reference"
    write_catalog(root)
    rows.write_parquet(root / "events.parquet")
    return load_dataset(root)


def assert_same_summary(got: Dataset, want: Dataset) -> None:
    """Same groups, exact counts, sums, means and centred moments equal to 1e-9 relative (the
    shifts each engine centred on may differ); same units, notes and problems."""
    order = ["experiment", "metric", "variant", "date"]
    assert_frame_equal(
        centred(got.summary).sort(order),
        centred(want.summary).sort(order),
        rel_tol=1e-9,
        abs_tol=1e-9,
    )
    keys = ["experiment", "variant", "date"]
    assert_frame_equal(got.units.sort(keys), want.units.sort(keys), check_dtypes=False)
    assert {e: x.problems for e, x in got.experiments.items()} == {
        e: x.problems for e, x in want.experiments.items()
    }
    assert {e: x.control for e, x in got.experiments.items()} == {
        e: x.control for e, x in want.experiments.items()
    }
