"""Bootstrap intervals for the readout: re-read the unit-level mean metrics lazily, resample.

The statistics otherwise see only sufficient statistics; a bootstrap needs the units, so this
module goes back to the unit-level files (only the experiment, variant and mean-metric columns,
capped as metrics.toml says) and hands per-arm arrays to nsexp.stats.bootstrap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from nsexp.io import Dataset
from nsexp.io.files import date_expr, experiment_expr, kind_of, scan
from nsexp.io.segment import tag_segment
from nsexp.io.units import cap_values
from nsexp.stats.bootstrap import relative_lift_interval

BOOT_SCHEMA = {
    "experiment": pl.String(),
    "variant": pl.String(),
    "metric": pl.String(),
    "rel_ci_boot_low": pl.Float64(),
    "rel_ci_boot_high": pl.Float64(),
}


def _unit_rows(path: Path, dataset: Dataset, experiments: set[str]) -> pl.DataFrame | None:
    """experiment, variant and the mean-metric columns of one unit-level file (capped)."""
    lazy = scan(path, dataset.catalog)
    names = lazy.collect_schema().names()
    if kind_of(names) != "unit":
        return None
    if dataset.segment is not None:  # experiment ids carry the segment, as in load_dataset
        lazy = tag_segment(lazy, path, dataset.segment, "unit")
        names = lazy.collect_schema().names()
    metrics = [m for m in dataset.catalog.metrics.values() if m.type == "mean"]
    metrics = [m for m in metrics if m.columns[0] in names]
    if not metrics:
        return None
    lazy = cap_values(lazy, metrics, names)
    if dataset.as_of is not None:  # the units of a readout as of a date: exposed by then
        lazy = lazy.filter(date_expr(lazy.collect_schema()["date"]) <= dataset.as_of)
    covariates = [m for m in metrics if m.covariate in names]
    frame = (
        lazy.select(
            experiment_expr(names, path),
            pl.col("variant").cast(pl.String),
            *(pl.col(m.columns[0]).cast(pl.Float64).alias(m.id) for m in metrics),
            *(
                pl.col(m.covariate or "").cast(pl.Float64).fill_null(0.0).alias(f"{m.id}__cov")
                for m in covariates
            ),
        )
        .filter(pl.col("experiment").is_in(sorted(experiments)))
        .collect()
    )
    return frame if frame.height else None


def _adjusted(
    control: pl.DataFrame,
    treatment: pl.DataFrame,
    metrics: list[str],
    slopes: dict[str, tuple[float, float]],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Per-arm unit values y − β_a x for CUPED-adjusted metrics (plain y elsewhere), β_a each
    arm's own slope (Lin's estimator), and per arm the offset β_a · pooled covariate mean that
    turns their means into the adjusted means."""
    arrays, offsets = [], (np.zeros(len(metrics)), np.zeros(len(metrics)))
    for k, arm in enumerate((control, treatment)):
        cols = []
        for j, m in enumerate(metrics):
            y = arm[m].to_numpy().astype(float)
            b = slopes.get(m, (np.nan, np.nan))[k]
            if np.isfinite(b) and f"{m}__cov" in arm.columns:
                x_all = np.concatenate(
                    [
                        a.filter(pl.col(m).is_not_null())[f"{m}__cov"].to_numpy()
                        for a in (control, treatment)
                    ]
                )
                offsets[k][j] = b * x_all.mean()
                y = y - b * arm[f"{m}__cov"].to_numpy()
            cols.append(y)
        arrays.append(np.column_stack(cols))
    return arrays[0], arrays[1], offsets


def bootstrap_intervals(
    dataset: Dataset, results: pl.DataFrame, n_boot: int, alpha: float, seed: int
) -> pl.DataFrame:
    """Percentile bootstrap intervals of the relative lift for unit-level mean metrics, of the
    CUPED-adjusted means where the results were adjusted (the slopes held at their
    estimates)."""
    rows: list[dict] = []
    order = {e: i for i, e in enumerate(sorted(dataset.experiments))}
    slope_columns = ("cuped_slope_control", "cuped_slope_treatment")
    slopes = {
        (e, v, m): (b_c, b_t)
        for e, v, m, b_c, b_t in results.select("experiment", "variant", "metric", *slope_columns)
        .drop_nulls()
        .iter_rows()
    }
    for path in map(Path, dataset.files):
        frame = _unit_rows(path, dataset, set(results["experiment"].unique()))
        if frame is None:
            continue
        metrics = [c for c in frame.columns if c not in ("experiment", "variant")]
        metrics = [c for c in metrics if not c.endswith("__cov")]
        for (eid,), exp_rows in frame.partition_by("experiment", as_dict=True).items():
            experiment = dataset.experiments[eid]
            arms = exp_rows.partition_by("variant", as_dict=True)
            for k, variant in enumerate(experiment.treatments):
                if (experiment.control,) not in arms or (variant,) not in arms:
                    continue  # this file lacks an arm: no unit rows to resample together
                found = {
                    m: slopes[(eid, variant, m)] for m in metrics if (eid, variant, m) in slopes
                }
                control, treatment, offset = _adjusted(
                    arms[(experiment.control,)], arms[(variant,)], metrics, found
                )
                ci = relative_lift_interval(
                    control, treatment, n_boot, alpha, [seed, order[eid], k], offset
                )
                rows += [
                    {
                        "experiment": eid,
                        "variant": variant,
                        "metric": m,
                        "rel_ci_boot_low": float(ci.low[j]),
                        "rel_ci_boot_high": float(ci.high[j]),
                    }
                    for j, m in enumerate(metrics)
                ]
    frame = pl.DataFrame(rows, schema=BOOT_SCHEMA)
    return frame.with_columns(pl.col(pl.Float64).fill_nan(None))


def with_bootstrap(
    results: pl.DataFrame, dataset: Dataset, n_boot: int, alpha: float, seed: int
) -> pl.DataFrame:
    """Join bootstrap intervals onto the results (null columns when n_boot is 0)."""
    if n_boot <= 0:
        return results.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("rel_ci_boot_low"),
            pl.lit(None, dtype=pl.Float64).alias("rel_ci_boot_high"),
        )
    boot = bootstrap_intervals(dataset, results, n_boot, alpha, seed)
    return results.join(boot, on=["experiment", "variant", "metric"], how="left")
