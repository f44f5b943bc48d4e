"""Read summary rows (what a warehouse query returns) and check they are possible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from nsexp.config.catalog import Catalog
from nsexp.errors import InputError
from nsexp.io.covariates import check_cov_sums
from nsexp.io.cross import CROSS_DEV_SUMS, CROSS_SUMS, summary_cross
from nsexp.io.files import check_numeric, date_expr, experiment_expr
from nsexp.io.moments import CUBE, FLAGS, SHIFTED, cube_from_raw, from_moments
from nsexp.io.order import KeyOrder, key_order
from nsexp.io.schema import COV_SUMS, KEYS, RATIO_SUMS, conform
from nsexp.io.units import FileRead

_REL_TOL = 1e-9


def read_summary(lazy: pl.LazyFrame, path: Path, catalog: Catalog) -> FileRead:
    """Validate a summary file and return it in the standard summary form.

    Rows give `sum` and `sum_sq` (the moments are then derived from them, with their error
    bound: nsexp.io.moments.derive) or `mean` and `variance`, kept as given: the statistics read
    the mean and M2 = (n − 1) · variance, never a sum of squares rebuilt from them."""
    schema = lazy.collect_schema()
    names = schema.names()
    moments = "sum" not in names
    numeric = ["n", *(("mean", "variance") if moments else ("sum", "sum_sq"))]
    numeric += [c for c in (*RATIO_SUMS, *COV_SUMS, *CROSS_SUMS, *CROSS_DEV_SUMS) if c in names]
    # shifted sums as nsexp writes them (nsexp.io.moments) are kept, never recomputed
    numeric += [c for c in SHIFTED if c in names]
    numeric += [c for c in _THIRD if c in names]
    flags = [pl.col(f).cast(pl.Boolean) for f in FLAGS.values() if f in names]
    for column in numeric:
        check_numeric(lazy, schema[column], column, path)
    keys = [
        experiment_expr(names, path),
        pl.col("variant").cast(pl.String),
        pl.col("metric").cast(pl.String),
    ]
    if "date" in names:
        keys.append(date_expr(schema["date"]))
    try:
        frame = lazy.select(*keys, *(pl.col(c).cast(pl.Float64) for c in numeric), *flags).collect()
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"cannot read the summary rows ({str(exc).splitlines()[0]})",
            file=path,
            fix="check that dates are ISO dates (2026-01-31)",
        ) from exc
    if frame.height == 0:
        raise InputError("the file has no rows", file=path, fix="export the data again")
    if moments:  # kept as given: the statistics read mean and M2 = (n − 1) · variance
        m2 = (pl.col("n") - 1) * pl.when(pl.col("n") == 1).then(0.0).otherwise(pl.col("variance"))
        frame = frame.with_columns(
            (pl.col("n") * pl.col("mean")).alias("sum"),
            (m2 + pl.col("n") * pl.col("mean") ** 2).alias("sum_sq"),
            *from_moments("", pl.col("mean"), m2),
        )
    frame = frame.with_columns(_third_moment(frame.columns))
    found = _check_summary(frame, path, catalog, moments)
    check_cov_sums(frame, path)
    summary = conform(frame.with_columns(pl.col("n").cast(pl.Int64))).collect()
    units = _units(summary, found)
    cross = summary_cross(frame, catalog, path)
    metrics = set(summary["metric"].unique())
    return FileRead(summary=summary, units=units, metrics=metrics, cross=cross, order=found)


# The optional third moment beside sum/sum_sq (Σy³) or mean/variance (g1 = m3 / m2^1.5, the
# moment coefficient of skewness, scipy.stats.skew's default): mean metrics' skewness check.
_THIRD = ("sum_cu", "skewness")


def _third_moment(columns: list[str]) -> list[pl.Expr]:
    """Σ(y − ȳ)³ about the row's mean (the shift raw-sum and moment rows get) from `sum_cu` or
    `skewness`, unless the row gives its shifted sums itself (nsexp.io.moments)."""
    if CUBE in columns:
        return []
    n = pl.col("n")
    if "sum_cu" in columns and "sum" in columns:
        return [cube_from_raw(n, pl.col("sum"), pl.col("sum_sq"), pl.col("sum_cu")).alias(CUBE)]
    if "skewness" in columns and "variance" in columns:
        m2 = (n - 1) * pl.col("variance")
        return [(pl.col("skewness") * m2**1.5 / n.sqrt()).alias(CUBE)]
    return []


def _units(summary: pl.DataFrame, found: KeyOrder | None) -> pl.DataFrame:
    """Units per experiment, variant and date: the largest n of its metrics' rows. From the
    rows' key order where the uniqueness check made one (runs of the keys but the metric, the
    last: no group-by over text columns), else grouped by Polars; rows in any order."""
    if found is None:
        return summary.group_by("experiment", "variant", "date").agg(
            pl.col("n").max().alias("units")
        )
    starts = found.starts(len(found.sizes) - 1)
    n = summary.get_column("n").to_numpy()[found.order]
    largest = np.maximum.reduceat(n, starts) if n.size else n
    return (
        summary[found.order[starts]]
        .select("experiment", "variant", "date")
        .with_columns(pl.Series("units", largest, dtype=pl.Int64))
    )


def _first(frame: pl.DataFrame, bad: pl.Expr) -> dict | None:
    rows = frame.filter(bad)
    return rows.row(0, named=True) if rows.height else None


def _where(row: dict) -> str:
    return f"experiment {row['experiment']}, variant {row['variant']}, metric {row['metric']}"


def _check_summary(
    frame: pl.DataFrame, path: Path, catalog: Catalog, moments: bool
) -> KeyOrder | None:
    """Raise InputError at the first row a readout cannot use, naming its column and fix; the
    rows' key order the uniqueness check made (None where key_order declined)."""
    _check_keys(frame, path, catalog)
    _check_figures(frame, path, catalog, moments)
    _check_ratios(frame, path, catalog)
    return _check_unique(frame, path)


def _check_keys(frame: pl.DataFrame, path: Path, catalog: Catalog) -> None:
    """Every row names its experiment, variant and a metric of the catalog."""
    for column in ("experiment", "variant", "metric"):
        if frame[column].null_count():
            raise InputError(
                f"{frame[column].null_count()} rows have no {column}",
                file=path,
                column=column,
                fix=f"fill in the {column} of every row",
            )
    unknown = sorted(set(frame["metric"].unique()) - set(catalog.metrics))
    if unknown:
        raise InputError(
            f"metric '{unknown[0]}' is not in the metric catalog",
            file=path,
            column="metric",
            fix=f"add [metrics.{unknown[0]}] to metrics.toml or drop its rows",
        )


def _check_figures(frame: pl.DataFrame, path: Path, catalog: Catalog, moments: bool) -> None:
    """Counts, sums (or moments) and proportions that units could have produced."""
    row = _first(frame, pl.col("n").is_null() | (pl.col("n") <= 0) | (pl.col("n") % 1 != 0))
    if row:
        raise InputError(
            f"n = {row['n']} for {_where(row)}; n must be a positive whole number of units",
            file=path,
            column="n",
            fix="drop rows with no units or fix the count",
        )
    stats = ("mean", "variance") if moments else ("sum", "sum_sq")
    for column in stats:
        bad = pl.col(column).is_null() | ~pl.col(column).is_finite()
        if column == "variance":  # one unit has no sample variance
            bad = bad & (pl.col("n") != 1)
        row = _first(frame, bad)
        if row:
            raise InputError(
                f"no finite {column} for {_where(row)}",
                file=path,
                column=column,
                fix="fill in every summary figure or drop the row",
            )
    if moments:
        row = _first(frame, pl.col("variance") < 0)
        if row:
            raise InputError(
                f"negative variance for {_where(row)}",
                file=path,
                column="variance",
                fix="give the sample variance (ddof=1)",
            )
    proportions = [m.id for m in catalog.metrics.values() if m.type == "proportion"]
    row = _first(
        frame,
        pl.col("metric").is_in(proportions) & ((pl.col("sum") < 0) | (pl.col("sum") > pl.col("n"))),
    )
    if row:
        raise InputError(
            f"{row['sum']:g} conversions out of n = {row['n']:g} for {_where(row)}",
            file=path,
            column="sum",
            fix="a proportion's sum counts converted units: between 0 and n",
        )
    floor = pl.col("sum") ** 2 / pl.col("n")
    row = _first(frame, pl.col("sum_sq") < floor - _REL_TOL * (floor.abs() + 1))
    if row:
        raise InputError(
            f"sum_sq = {row['sum_sq']:g} is impossible for sum = {row['sum']:g} and n = "
            f"{row['n']:g} ({_where(row)}): it must be at least sum²/n",
            file=path,
            column="sum_sq",
            fix="sum_sq is the sum of squared unit values",
        )


def _check_ratios(frame: pl.DataFrame, path: Path, catalog: Catalog) -> None:
    """Ratio metrics carry their denominator sums, and possible ones."""
    ratios = [m.id for m in catalog.metrics.values() if m.type == "ratio"]
    for column in RATIO_SUMS:
        missing = (
            pl.lit(True)
            if column not in frame.columns
            else pl.col(column).is_null() | ~pl.col(column).is_finite()
        )
        row = _first(frame, pl.col("metric").is_in(ratios) & missing)
        if row:
            raise InputError(
                f"ratio metric needs {column} ({_where(row)})",
                file=path,
                column=column,
                fix="add den_sum, den_sum_sq and num_den_sum for ratio metrics",
            )
    if ratios:
        den_floor = pl.col("den_sum") ** 2 / pl.col("n")
        bad = pl.col("den_sum_sq") < den_floor - _REL_TOL * (den_floor.abs() + 1)
        row = _first(frame, pl.col("metric").is_in(ratios) & bad)
        if row:
            raise InputError(
                f"den_sum_sq = {row['den_sum_sq']:g} is impossible for den_sum = "
                f"{row['den_sum']:g} and n = {row['n']:g} ({_where(row)}): it must be at least "
                "den_sum²/n",
                file=path,
                column="den_sum_sq",
                fix="den_sum_sq is the sum of squared unit denominators",
            )


def _check_unique(frame: pl.DataFrame, path: Path) -> KeyOrder | None:
    """One row per experiment, variant, metric (and date); the rows' order by those keys,
    the metric last (None where key_order declined)."""
    keys = [k for k in KEYS if k in frame.columns]
    found = key_order(frame, keys)
    if found is not None and not found.repeated:
        return found
    dupes = frame.filter(pl.struct(keys).is_duplicated())
    if dupes.height:
        raise InputError(
            f"{dupes.height} rows repeat the same {', '.join(keys)} "
            f"(first: {_where(dupes.row(0, named=True))})",
            file=path,
            fix="give one row per key, e.g. one per day",
        )
    return None
