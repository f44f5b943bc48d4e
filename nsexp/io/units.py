"""Aggregate unit-level rows (one per user, team, account) to sufficient statistics in Polars."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from nsexp.catalog import Catalog, Metric
from nsexp.errors import InputError
from nsexp.io.files import check_numeric, date_expr, experiment_expr
from nsexp.io.schema import conform


@dataclass
class FileRead:
    """What one data file contributed: summary rows, unit counts, data problems and notes."""

    summary: pl.DataFrame
    units: pl.DataFrame
    metrics: set[str]
    problems: dict[str, list[str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)


def aggregate_units(lazy: pl.LazyFrame, path: Path, catalog: Catalog) -> FileRead:
    """n, sum, sum_sq (and cross sums for ratios) per experiment, variant and date."""
    schema = lazy.collect_schema()
    names = schema.names()
    metrics = [m for m in catalog.metrics.values() if all(c in names for c in m.columns)]
    for metric in metrics:
        for column in metric.columns:
            check_numeric(lazy, schema[column], column, path)
        if metric.covariate in names:
            check_numeric(lazy, schema[metric.covariate], metric.covariate, path)
    lazy = cap_values(lazy, metrics, names)
    keys = [experiment_expr(names, path), pl.col("variant").cast(pl.String)]
    if "date" in names:
        keys.append(date_expr(schema["date"]))
    aggs: list[pl.Expr] = [pl.len().alias("units")]
    for metric in metrics:
        aggs.extend(_metric_aggs(metric))
        aggs.extend(_covariate_aggs(metric, names))
    wide = lazy.group_by(keys).agg(aggs)
    queries = [wide]
    if "unit_id" in names:
        queries.append(_unit_id_checks(lazy, keys[0]))
    try:
        frames = pl.collect_all(queries, engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"cannot aggregate the file ({str(exc).splitlines()[0]})",
            file=path,
            fix="check the date and metric columns hold dates and numbers",
        ) from exc
    wide = frames[0]
    _check_rows(wide, path)
    read = FileRead(
        summary=_to_long(wide, metrics),
        units=wide.select("experiment", "variant", _date_col(wide), "units"),
        metrics={m.id for m in metrics},
    )
    _check_proportions(wide, metrics, path)
    _note_missing_values(wide, metrics, read)
    if len(frames) > 1:
        _record_unit_problems(frames[1], read)
    _note_covariates(wide, metrics, names, path, read)
    missing = [m.id for m in catalog.metrics.values() if m not in metrics]
    if missing:
        for experiment in wide["experiment"].unique().sort():
            read.notes.setdefault(experiment, []).append(
                f"{path.name} has no column for {', '.join(missing)}: not measured here."
            )
    return read


def _date_col(wide: pl.DataFrame) -> pl.Expr:
    if "date" in wide.columns:
        return pl.col("date")
    return pl.lit(None, dtype=pl.Date()).alias("date")


def _value(column: str) -> pl.Expr:
    """A metric column as floats; NaN and infinite cells count as missing, like empty ones."""
    x = pl.col(column).cast(pl.Float64)
    return pl.when(x.is_finite()).then(x)


def cap_values(lazy: pl.LazyFrame, metrics: list[Metric], names: list[str]) -> pl.LazyFrame:
    """Winsorise mean metrics with a cap_quantile at that quantile of each experiment's pooled
    arms (upper tail only), so a few extreme units cannot dominate the mean."""
    capped = [m for m in metrics if m.cap_quantile is not None and m.type == "mean"]
    if not capped:
        return lazy
    exprs = []
    for metric in capped:
        x = _value(metric.columns[0])
        limit = x.quantile(metric.cap_quantile or 1.0, interpolation="linear")
        if "experiment" in names:
            limit = limit.over(pl.col("experiment").cast(pl.String))
        exprs.append(x.clip(upper_bound=limit).alias(metric.columns[0]))
    return lazy.with_columns(exprs)


def _covariate_aggs(metric: Metric, names: list[str]) -> list[pl.Expr]:
    """CUPED sums: covariate sum, its square sum and the metric x covariate cross sum, over the
    units with a metric value (a missing covariate counts as 0, which keeps CUPED unbiased)."""
    if metric.type == "ratio" or metric.covariate not in names:
        return []
    y = _value(metric.columns[0])
    x = pl.when(y.is_not_null()).then(_value(metric.covariate or "").fill_null(0.0))
    return [
        x.sum().alias(f"{metric.id}__cov_sum"),
        (x * x).sum().alias(f"{metric.id}__cov_sum_sq"),
        (x * y).sum().alias(f"{metric.id}__num_cov_sum"),
        (pl.col(metric.covariate or "").is_null() & y.is_not_null())
        .sum()
        .alias(f"{metric.id}__cov_missing"),
    ]


def _note_covariates(
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


def _metric_aggs(metric: Metric) -> list[pl.Expr]:
    mid = metric.id
    if metric.type == "ratio":
        num, den = _value(metric.numerator or ""), _value(metric.denominator or "")
        valid = num.is_not_null() & den.is_not_null()
        num, den = pl.when(valid).then(num), pl.when(valid).then(den)
        return [
            valid.sum().alias(f"{mid}__n"),
            num.sum().alias(f"{mid}__sum"),
            (num * num).sum().alias(f"{mid}__sum_sq"),
            den.sum().alias(f"{mid}__den_sum"),
            (den * den).sum().alias(f"{mid}__den_sum_sq"),
            (num * den).sum().alias(f"{mid}__num_den_sum"),
        ]
    x = _value(metric.columns[0])
    aggs = [
        x.count().alias(f"{mid}__n"),
        x.sum().alias(f"{mid}__sum"),
        (x * x).sum().alias(f"{mid}__sum_sq"),
    ]
    if metric.type == "proportion":
        aggs += [x.min().alias(f"{mid}__min"), x.max().alias(f"{mid}__max")]
    return aggs


def _to_long(wide: pl.DataFrame, metrics: list[Metric]) -> pl.DataFrame:
    parts = []
    for metric in metrics:
        prefix = f"{metric.id}__"
        stats = [
            c
            for c in wide.columns
            if c.startswith(prefix) and not c.endswith(("min", "max", "cov_missing"))
        ]
        parts.append(
            wide.select(
                "experiment",
                "variant",
                _date_col(wide),
                pl.lit(metric.id).alias("metric"),
                *(pl.col(c).alias(c.removeprefix(prefix)) for c in stats),
            )
        )
    if not parts:
        return conform(pl.DataFrame()).collect().clear()
    return pl.concat([conform(p) for p in parts]).collect()


def _check_rows(wide: pl.DataFrame, path: Path) -> None:
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


def _check_proportions(wide: pl.DataFrame, metrics: list[Metric], path: Path) -> None:
    for metric in metrics:
        if metric.type != "proportion":
            continue
        low, high = wide[f"{metric.id}__min"].min(), wide[f"{metric.id}__max"].max()
        if (low is not None and low < 0) or (high is not None and high > 1):
            raise InputError(
                f"proportion metric '{metric.id}' has values outside 0..1 "
                f"(min {low:g}, max {high:g})",
                file=path,
                column=metric.columns[0],
                fix='record 0/1 per unit, or declare type = "mean" in metrics.toml',
            )


def _note_missing_values(wide: pl.DataFrame, metrics: list[Metric], read: FileRead) -> None:
    per_exp = wide.group_by("experiment").agg(
        pl.col("units").sum(), *(pl.col(f"{m.id}__n").sum() for m in metrics)
    )
    for row in per_exp.iter_rows(named=True):
        for metric in metrics:
            gap = row["units"] - row[f"{metric.id}__n"]
            if gap:
                read.notes.setdefault(row["experiment"], []).append(
                    f"{metric.id}: {gap} of {row['units']} units have no value and are left out."
                )


def _unit_id_checks(lazy: pl.LazyFrame, experiment: pl.Expr) -> pl.LazyFrame:
    per_unit = lazy.group_by(experiment, "unit_id").agg(
        pl.col("variant").n_unique().alias("variants"), pl.len().alias("rows")
    )
    return per_unit.group_by("experiment").agg(
        (pl.col("variants") > 1).sum().alias("crossed"),
        (pl.col("rows") > 1).sum().alias("repeated"),
    )


def _record_unit_problems(checks: pl.DataFrame, read: FileRead) -> None:
    for row in checks.iter_rows(named=True):
        if row["crossed"]:
            read.problems.setdefault(row["experiment"], []).append(
                f"{row['crossed']} units were exposed to more than one variant"
            )
        elif row["repeated"]:
            read.problems.setdefault(row["experiment"], []).append(
                f"{row['repeated']} units appear on more than one row"
            )
