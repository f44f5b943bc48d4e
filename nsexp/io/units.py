"""Aggregate unit-level rows (one per user, team, account) to sufficient statistics in Polars."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, cast

import numpy as np
import polars as pl

from nsexp.config.catalog import Catalog, Metric
from nsexp.errors import InputError
from nsexp.io.cross import Pair, cross_aggs, cross_long, cross_pairs, cross_query
from nsexp.io.files import check_numeric_columns, date_expr, experiment_expr, parquet_rows
from nsexp.io.masked import masked_query, patch_ratios, wide_order
from nsexp.io.order import KeyOrder
from nsexp.io.schema import conform
from nsexp.io.sums import SumsPlan, capped, collect, finite_value, pilots
from nsexp.io.unit_ids import BUCKETS, NO_CHECKS, UnitHashes, candidate_checks

# Row groups Polars' streaming Parquet reader decodes ahead. Its default held ~1.7x the memory for
# the same speed on the 2-core benchmark machine, for a data directory's file as for a source.toml
# glob (docs/benchmarks.md); 1 saves a little more memory but is slower. A value you set wins.
PREFETCH_ENV, PREFETCH_ROW_GROUPS = "POLARS_ROW_GROUP_PREFETCH_SIZE", "2"


@dataclass
class FileRead:
    """What one data file contributed: summary rows, unit counts, data problems and notes."""

    summary: pl.DataFrame
    units: pl.DataFrame
    metrics: set[str]
    problems: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    cross: pl.DataFrame | None = None  # nsexp.io.cross: metric pairs' cross statistics
    # A summary file's rows by experiment, variant, date (where the file has it) and metric, as
    # its uniqueness check ranked them (nsexp.io.order): the load reuses it for a lone file.
    order: KeyOrder | None = None


def aggregate_units(lazy: pl.LazyFrame, path: Path, catalog: Catalog) -> FileRead:
    """n, sums, means and centred moments (and cross sums for ratios and CUPED) per experiment,
    variant and date."""
    os.environ.setdefault(PREFETCH_ENV, PREFETCH_ROW_GROUPS)
    schema = lazy.collect_schema()
    names = schema.names()
    metrics = [m for m in catalog.metrics.values() if all(c in names for c in m.columns)]
    values = [c for m in metrics for c in (*m.columns, m.covariate) if c is not None and c in names]
    check_numeric_columns(lazy, schema, values, path)  # one pass, however many metrics
    pilot = pilots(lazy, metrics, names)
    capped_rows = cap_values(lazy, metrics, names)
    plan = SumsPlan(capped_rows.collect_schema() if capped(metrics) else schema, pilot)
    for metric in metrics:
        plan.add(metric, names)
    scan = _Scan(capped_rows, names, _keys(schema, path), plan, pilot, path)
    pairs = cross_pairs(catalog, metrics, names)  # metric x parent / North Star, same scan
    hashes = UnitHashes(rows=parquet_rows(path))  # the passes planned from the row count
    wide, cross = _sums_and_cross(scan, pairs, lazy, hashes)
    wide = _exact_sums(scan, wide, metrics)
    read = FileRead(
        summary=to_long(wide, metrics),
        units=wide.select("experiment", "variant", date_col(wide), "units"),
        metrics={m.id for m in metrics},
        cross=cross_long(cross, pairs),
    )
    check_proportions(wide, metrics, path)
    note_missing_values(wide, metrics, read)
    if "unit_id" in names:
        record_unit_problems(unit_checks(lazy, names, path, hashes), read)
    note_covariates(wide, metrics, names, path, read)
    _note_unmeasured(wide, catalog, metrics, path, read)
    return read


class _Scan(NamedTuple):
    """One file's aggregation: its (capped) rows and their column names, the group-by keys, the
    sums to take and the pilot values they are centred on, and the file for messages."""

    rows: pl.LazyFrame
    names: list[str]
    keys: list[pl.Expr]
    plan: SumsPlan
    pilot: dict[str, float]
    path: Path


def _keys(schema: pl.Schema, path: Path) -> list[pl.Expr]:
    """Experiment, variant and (when the file has one) date: the sums' group-by keys."""
    keys = [_key(schema, "experiment", path), _key(schema, "variant", path)]
    if "date" in schema.names():
        keys.append(date_expr(schema["date"]))
    return keys


def _sums_and_cross(
    scan: _Scan, pairs: list[Pair], raw: pl.LazyFrame, hashes: UnitHashes
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The sums per key and the metric pairs' cross statistics per arm, in one streaming run
    (with the unit checks' first stage over the `raw` rows when the file has unit ids)."""
    # undated rows: the pairs' statistics in the sums' own group-by (one scan of the file);
    # dated rows need them per arm, not per day, so they get their own group-by
    undated = len(scan.keys) == 2
    planned = [p for p in pairs if scan.plan.add_pair(p)] if undated else []
    masked = [p for p in pairs if p not in planned]
    together = cross_aggs(masked, scan.plan.schema, scan.pilot) if undated else []
    aggs = [pl.len().alias("units"), *scan.plan.aggs(), *together]
    queries = [scan.rows.group_by(scan.keys).agg(aggs)]
    if "unit_id" in scan.names:  # the unit checks' first stage, in the same streaming run
        queries.append(hashes.sink(raw, scan.names))
    if not undated:
        queries.append(cross_query(scan.rows, scan.keys[:2], pairs, scan.plan.schema, scan.pilot))
    collected = collect(queries, scan.path)
    wide = _as_text(collected[0])
    if not undated:
        return wide, collected[-1]
    aliases = [e.meta.output_name() for e in together]  # the pairs' columns leave the sums
    cross, redo = scan.plan.cross(wide)
    cross = cross.with_columns(wide.select(aliases))
    if redo:  # a part with gaps, or sums past 64 bits: those pairs' masked sums, another scan
        query = cross_query(scan.rows, scan.keys[:2], redo, scan.plan.schema, scan.pilot)
        again = _as_text(collect([query], scan.path)[0])
        cross = cross.join(again, on=["experiment", "variant"], how="left", maintain_order="left")
    return wide.drop(aliases), cross


def _exact_sums(scan: _Scan, wide: pl.DataFrame, metrics: list[Metric]) -> pl.DataFrame:
    """The sums finished into their summary columns, with ratio parts patched and the metrics
    whose values were missing or non-finite where the plain sums assumed none re-aggregated
    over the rows each one counts."""
    check_rows(wide, scan.path)
    wide, redo, patch = scan.plan.finish(wide, metrics)
    if patch:
        wide = patch_ratios(wide, scan.rows, scan.keys, patch, scan.path)
    if not redo:
        return wide
    query = masked_query(scan.rows, scan.keys, redo, scan.names, scan.plan.schema, scan.pilot)
    exact = _as_text(collect([query], scan.path)[0])
    on = [k for k in ("experiment", "variant", "date") if k in wide.columns]
    wide = wide.join(exact, on=on, how="left", nulls_equal=True, maintain_order="left")
    return wide.select(wide_order(on, metrics, scan.names, wide.columns))


def _note_unmeasured(
    wide: pl.DataFrame, catalog: Catalog, metrics: list[Metric], path: Path, read: FileRead
) -> None:
    """A note per experiment naming the catalog's metrics this file has no column for."""
    read_here = {m.id for m in metrics}  # a set: the catalog may hold thousands of metrics
    missing = [m for m in catalog.metrics if m not in read_here]
    if missing:
        for experiment in wide["experiment"].unique().sort():
            read.notes.setdefault(experiment, []).append(
                f"{path.name} has no column for {', '.join(missing)}: not measured here."
            )


def _key(schema: pl.Schema, name: str, path: Path) -> pl.Expr:
    """A grouping key as stored: a Categorical or Enum groups by its codes, several times faster
    than by text (`_as_text` turns the few result rows into text); other types become text."""
    if name == "experiment" and name not in schema:
        return experiment_expr(schema.names(), path)
    if isinstance(schema[name], pl.Categorical | pl.Enum):
        return pl.col(name)
    return pl.col(name).cast(pl.String)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Experiment and variant as text, whatever type they were grouped by."""
    return frame.with_columns(pl.col("experiment", "variant").cast(pl.String))


def unit_checks(
    lazy: pl.LazyFrame, names: list[str], path: Path, hashes: UnitHashes
) -> pl.DataFrame:
    """Crossed and repeated units per experiment (see nsexp.io.unit_ids): nothing to group when
    the scan's hashes show no unit twice, else only the rows of the candidate units. The buckets
    the sums' scan had no room for are hashed again, a pass of the key columns each."""
    found = [hashes.repeated()]
    while hashes.limit < BUCKETS:
        hashes = UnitHashes(start=hashes.limit, rows=hashes.rows)
        collect([hashes.sink(lazy, names)], path)
        found.append(hashes.repeated())
    candidates = np.concatenate(found)
    if candidates.size == 0:
        return NO_CHECKS
    query = candidate_checks(lazy, names, experiment_expr(names, path), candidates)
    return collect([query], path)[0]


def date_col(wide: pl.DataFrame) -> pl.Expr:
    """The wide frame's date column, or an all-null Date column when it has none."""
    if "date" in wide.columns:
        return pl.col("date")
    return pl.lit(None, dtype=pl.Date()).alias("date")


def cap_values(lazy: pl.LazyFrame, metrics: list[Metric], names: list[str]) -> pl.LazyFrame:
    """Winsorise mean metrics with a cap_quantile at that quantile of each experiment's pooled
    arms (upper tail only), so a few extreme units cannot dominate the mean."""
    capped = [m for m in metrics if m.cap_quantile is not None and m.type == "mean"]
    if not capped:
        return lazy
    exprs = []
    for metric in capped:
        x = finite_value(metric.columns[0])
        limit = x.quantile(metric.cap_quantile or 1.0, interpolation="linear")
        if "experiment" in names:
            limit = limit.over(pl.col("experiment").cast(pl.String))
        exprs.append(x.clip(upper_bound=limit).alias(metric.columns[0]))
    return lazy.with_columns(exprs)


def note_covariates(
    wide: pl.DataFrame, metrics: list[Metric], names: list[str], path: Path, read: FileRead
) -> None:
    """Say where a covariate column is absent (no CUPED) or has gaps (counted as 0)."""
    for metric in metrics:
        if metric.covariate is None or metric.type == "ratio":
            continue
        for experiment in wide["experiment"].unique().sort():
            if metric.covariate not in names:
                read.notes.setdefault(experiment, []).append(
                    f"{metric.id}: {path.name} has no covariate column {metric.covariate}: "
                    "no CUPED adjustment."
                )
                continue
            gaps = wide.filter(pl.col("experiment") == experiment)[
                f"{metric.id}__cov_missing"
            ].sum()
            if gaps:
                read.notes.setdefault(experiment, []).append(
                    f"{metric.id}: {gaps} units have no {metric.covariate}; counted as 0 for CUPED."
                )


def to_long(wide: pl.DataFrame, metrics: list[Metric]) -> pl.DataFrame:
    """One summary row per experiment, variant, date and metric from the wide aggregate.

    Linear in the metrics: one unpivot per statistic, not one select per metric over a frame
    as wide as every metric's statistics together (0.6 s for 4,000 metrics, where that took
    minutes); the shifted sums are then derived for every metric at once."""
    if not metrics:
        return conform(pl.DataFrame()).collect().clear()
    have = set(wide.columns)
    index = ["experiment", "variant", "date"]
    stats = [s for s in _STATS if any(f"{m.id}__{s}" in have for m in metrics)]
    frame = wide.select("experiment", "variant", date_col(wide))
    joined: pl.DataFrame | None = None
    for stat in stats:  # "n" first: every metric has one, so the left joins keep every row
        columns = [f"{m.id}__{stat}" for m in metrics if f"{m.id}__{stat}" in have]
        kind = pl.Int64 if stat == "n" else pl.Float64
        part = frame.with_columns(
            wide.select(pl.col(c).cast(kind).alias(c[: -len(stat) - 2]) for c in columns)
        ).unpivot(index=index, variable_name="metric", value_name="__value")  # an id may be "n"
        part = part.rename({"__value": stat})
        joined = (
            part
            if joined is None
            else joined.join(
                part, on=[*index, "metric"], how="left", nulls_equal=True, maintain_order="left"
            )
        )
    assert joined is not None  # every metric has an n
    joined = joined.with_columns(
        pl.lit(None, pl.Float64).alias(s) for s in _STATS if s not in joined.columns
    )
    proportions = [m.id for m in metrics if m.type == "proportion"]
    long = joined.with_columns(_shifted(pl.col("metric").is_in(proportions))).drop(_ENGINE)
    return conform(long).collect()


_FAR = 1e8  # pilot this far off (n(ȳ − pilot)² > _FAR · M2): shift to the group's own mean


def _part(prefix: str) -> list[pl.Expr]:
    """An engine's pilot, Σ(y − pilot) and M2 for one part as the summary's shifted sums: around
    the pilot (Σ(y − s)² = M2 + (Σ(y − s))²/n), or, where the pilot is so far from this group's
    mean that the sum of squares would swamp M2, around the group's own mean."""
    n = pl.col("n").cast(pl.Float64)
    shift, dev, m2 = (pl.col(f"{prefix}{c}") for c in ("shift", "dev_sum", "m2"))
    square = dev * dev / n
    far = square > _FAR * m2
    return [
        pl.when(far).then(shift + dev / n).otherwise(shift).alias(f"{prefix}shift"),
        pl.when(far).then(0.0).otherwise(dev).alias(f"{prefix}dev_sum"),
        pl.when(far).then(m2).otherwise(m2 + square).alias(f"{prefix}dev_sum_sq"),
    ]


def _shifted(proportion: pl.Expr) -> list[pl.Expr]:
    """The summary's shifted sums from an engine's pilots, deviation sums and centred moments;
    a proportion's (where `proportion`) are its raw sums (shift 0: its values are 0 and 1).
    Parts a metric lacks stay null."""
    main = _part("")
    raw = [pl.lit(0.0), pl.col("sum"), pl.col("sum_sq")]
    out = [
        pl.when(proportion).then(r).otherwise(e).alias(e.meta.output_name())
        for r, e in zip(raw, main, strict=True)
    ]
    n = pl.col("n").cast(pl.Float64)
    # Σ(y − s)³ about the pilot, or M3 = S₃ − 3S₁M₂/n − S₁³/n² where _part moved to the mean
    s1, s3 = pl.col("dev_sum"), pl.col("dev_sum_cu")
    far = s1 * s1 / n > _FAR * pl.col("m2")
    cube = pl.when(far).then(s3 - 3 * s1 * pl.col("m2") / n - s1**3 / n**2).otherwise(s3)
    out.append(pl.when(proportion).then(pl.col("sum")).otherwise(cube).alias("dev_sum_cu"))
    dev_x = pl.when(proportion).then(pl.col("sum")).otherwise(main[1])
    for prefix, moment, cross in (
        ("den_", "num_den_m2", "num_den_dev_sum"),
        ("cov_", "num_cov_m2", "num_cov_dev_sum"),
    ):
        part = _part(prefix)
        out += [*part, (pl.col(moment) + dev_x * part[1] / n).alias(cross)]
    return out


_ENGINE = ("m2", "den_m2", "num_den_m2", "cov_m2", "num_cov_m2")
# The wide aggregate's statistics per metric, as to_long reads them ("n" first).
_STATS = (
    "n",
    "sum",
    "sum_sq",
    "den_sum",
    "den_sum_sq",
    "num_den_sum",
    "cov_sum",
    "cov_sum_sq",
    "num_cov_sum",
    "shift",
    "dev_sum",
    "den_shift",
    "den_dev_sum",
    "cov_shift",
    "cov_dev_sum",
    "dev_sum_cu",
    *_ENGINE,
)


def check_rows(wide: pl.DataFrame, path: Path) -> None:
    """Raise InputError when there are no rows or rows lack an experiment, variant or date."""
    if wide.height == 0:
        raise InputError("the file has no rows", file=path, fix="export the data again")
    for column in ("experiment", "variant"):
        if wide[column].null_count():
            missing = wide.filter(pl.col(column).is_null())["units"].sum()
            raise InputError(
                f"{missing} rows have no {column}",
                file=path,
                column=column,
                fix=f"fill in the {column} of every row or drop those rows",
            )
    undated = wide["date"].null_count() if "date" in wide.columns else 0
    if undated and undated < wide.height:
        missing = wide.filter(pl.col("date").is_null())["units"].sum()
        raise InputError(
            f"{missing} rows have no date",
            file=path,
            column="date",
            fix="fill in every exposure date or drop the date column",
        )


def check_proportions(wide: pl.DataFrame, metrics: list[Metric], path: Path) -> None:
    """Raise InputError when a proportion metric has a value outside 0..1."""
    for metric in metrics:
        if metric.type != "proportion":
            continue
        low = cast(float | None, wide[f"{metric.id}__min"].min())
        high = cast(float | None, wide[f"{metric.id}__max"].max())
        if (low is not None and low < 0) or (high is not None and high > 1):
            raise InputError(
                f"proportion metric '{metric.id}' has values outside 0..1 "
                f"(min {low:g}, max {high:g})",
                file=path,
                column=metric.columns[0],
                fix='record 0/1 per unit, or declare type = "mean" in metrics.toml',
            )


def note_missing_values(wide: pl.DataFrame, metrics: list[Metric], read: FileRead) -> None:
    """Note, per experiment, how many units have no finite value for each metric (an infinite
    cell is left out like an empty one, and the note says so)."""
    per_exp = wide.group_by("experiment").agg(
        pl.col("units").sum(), *(pl.col(f"{m.id}__n").sum() for m in metrics)
    )
    for row in per_exp.iter_rows(named=True):
        for metric in metrics:
            gap = row["units"] - row[f"{metric.id}__n"]
            if gap:
                read.notes.setdefault(row["experiment"], []).append(
                    f"{metric.id}: {gap} of {row['units']} units have no finite value (empty, "
                    "NaN or infinite) and are left out."
                )


def record_unit_problems(checks: pl.DataFrame, read: FileRead) -> None:
    """Record units exposed to several variants, or on several rows, as data problems."""
    for row in checks.iter_rows(named=True):
        if row["crossed"]:
            read.problems.setdefault(row["experiment"], []).append(
                f"{row['crossed']} units were exposed to more than one variant"
            )
        elif row["repeated"]:
            read.problems.setdefault(row["experiment"], []).append(
                f"{row['repeated']} units appear on more than one row"
            )
