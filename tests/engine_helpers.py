"""Seeded unit-level data, a source.toml writer and a summary comparison for the engine tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from helpers import write_toml
from polars.testing import assert_frame_equal
from pytest import approx

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


def uncapped_metrics() -> dict[str, dict[str, Any]]:
    """SOURCE_METRICS without cap_quantile: for backends with no exact quantile aggregate."""
    return {
        k: {f: v for f, v in m.items() if f != "cap_quantile"} for k, m in SOURCE_METRICS.items()
    }


def offset_rows(rows: pl.DataFrame, offset: float = 1e9) -> pl.DataFrame:
    """The rows with `offset` added to the mean metric, its covariate and the ratio's
    numerator: large means against small spreads, which Σx² − (Σx)²/n would ruin."""
    return rows.with_columns(pl.col("lessons", "pre_lessons", "minutes") + offset)


def write_catalog(
    root: Path,
    columns: dict[str, str] | None = None,
    metrics: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """metrics.toml for SOURCE_METRICS (or `metrics`), mapping `arm` and `day` as the data
    names them."""
    mapping = {"variant": "arm", "date": "day"} if columns is None else columns
    tables: dict[str, Any] = {"metrics": SOURCE_METRICS if metrics is None else metrics}
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


def reference(
    tmp: Path, rows: pl.DataFrame, metrics: dict[str, dict[str, Any]] | None = None
) -> Dataset:
    """The in-memory Polars path on the same rows (one Parquet file beside metrics.toml)."""
    root = tmp / "reference"
    write_catalog(root, metrics=metrics)
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
    pair = ["experiment", "variant", "metric", "other", "part", "other_part"]
    assert got.cross.height == want.cross.height > 0  # every metric with its parent / North Star
    # means: the SQL statement groups by date and needs them to combine days, the Polars path not
    same = ["experiment", "variant", "metric", "other", "part", "other_part", "n", "comoment"]
    assert_frame_equal(
        got.cross.sort(pair).select(same),
        want.cross.sort(pair).select(same),
        rel_tol=1e-9,
        abs_tol=1e-6,
    )
    assert {e: x.problems for e, x in got.experiments.items()} == {
        e: x.problems for e, x in want.experiments.items()
    }
    assert {e: x.control for e, x in got.experiments.items()} == {
        e: x.control for e, x in want.experiments.items()
    }


# --- issue 11: large means against small spreads, read by every engine --------------------

# A mean far from zero with a tiny spread (CV 1e-8), a CUPED pair near 1e8, and a ratio whose
# numerator is near 1e7: Σy² − (Σy)²/n loses every digit of these variances.
LARGE_METRICS: dict[str, dict[str, Any]] = {
    "value": {"role": "north_star", "type": "mean"},
    "late": {"role": "leading", "type": "mean", "column": "stamp", "covariate": "pre_stamp"},
    "per_item": {"role": "leading", "type": "ratio", "numerator": "amount", "denominator": "items"},
}


def large_mean_rows(n_per_arm: int, seed: int = 20261122) -> pl.DataFrame:
    """Seeded units of one experiment `big`: `value` ~ 1e6 + 0.01 z, a timestamp-like `stamp`
    near 1e8 with a correlated pre-period `pre_stamp`, and `amount` near 1e7 per `items`."""
    rng = np.random.default_rng(seed)
    n = 2 * n_per_arm
    arm = np.repeat(["control", "treatment"], n_per_arm)
    pre = rng.standard_normal(n)
    return pl.DataFrame(
        {
            "experiment": np.full(n, "big"),
            "arm": arm,
            "value": 1e6 + 0.01 * rng.standard_normal(n),
            "stamp": 1e8 + 0.1 * (0.8 * pre + 0.6 * rng.standard_normal(n)),
            "pre_stamp": 1e8 + 0.1 * pre,
            "amount": 1e7 + 0.5 * rng.standard_normal(n),
            "items": rng.poisson(2.0, n) + 1,
        }
    )


def write_large_catalog(root: Path) -> Path:
    """metrics.toml for LARGE_METRICS (variant column `arm`)."""
    root.mkdir(parents=True, exist_ok=True)
    return write_toml(
        root / "metrics.toml", {"columns": {"variant": "arm"}, "metrics": LARGE_METRICS}
    )


def assert_large_means_read_right(root: Path, rows: pl.DataFrame) -> None:
    """The readout of `root` (holding `rows`) against scipy and statsmodels on the units centred
    by subtracting the large constant (exact for these values): Welch p and interval, the CUPED
    effect as the OLS treatment coefficient, and the delta-method ratio from numpy's two-pass
    covariance — each to 1e-9 (relative)."""
    from scipy import stats

    from nsexp.analysis.readout import build_readout

    results = build_readout(load_dataset(root)).results
    got = {r["metric"]: r for r in results.iter_rows(named=True)}
    c, t = (rows.filter(pl.col("arm") == a) for a in ("control", "treatment"))
    yc, yt = c["value"].to_numpy() - 1e6, t["value"].to_numpy() - 1e6
    welch = stats.ttest_ind(yt, yc, equal_var=False)
    ci = welch.confidence_interval(0.95)
    value = got["value"]
    assert value["p_value"] == approx(welch.pvalue, rel=1e-9)
    assert value["abs_effect"] == approx(yt.mean() - yc.mean(), rel=1e-9)
    assert (value["abs_ci_low"], value["abs_ci_high"]) == approx((ci.low, ci.high), rel=1e-9)
    assert value["note"] is None and value["decisive"]
    # CUPED: the adjusted difference is the treatment coefficient of y ~ T * (x − x̄) (Lin 2013)
    import statsmodels.api as sm

    y = rows["stamp"].to_numpy() - 1e8
    x = rows["pre_stamp"].to_numpy() - 1e8
    x = x - x.mean()
    treated = (rows["arm"] == "treatment").to_numpy().astype(float)
    ols = sm.OLS(y, sm.add_constant(np.column_stack([treated, x, treated * x]))).fit()
    assert got["late"]["abs_effect"] == approx(ols.params[1], rel=1e-9)
    assert got["late"]["variance_reduction"] > 0.5
    # the ratio: Σamount / Σitems per arm, delta-method variance from numpy's covariance

    def ratio(arm: pl.DataFrame) -> tuple[float, float]:
        num, den = arm["amount"].to_numpy(), arm["items"].to_numpy().astype(float)
        r = num.sum() / den.sum()
        cov = np.cov(num - 1e7, den)  # shifting num leaves its (co)variances unchanged
        var = (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / (len(num) * den.mean() ** 2)
        return r, var

    (rc, vc), (rt, vt) = ratio(c), ratio(t)
    z = (rt - rc) / np.sqrt(vc + vt)
    assert got["per_item"]["p_value"] == approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert got["per_item"]["abs_se"] == approx(np.sqrt(vc + vt), rel=1e-9)
