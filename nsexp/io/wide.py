"""Read a wide summary (both arms on one row: count_c/count_t, mean_c/mean_t,
variance_c/variance_t), the form platforms such as ASOS export, into the standard long summary.

Choices, each checked on the real ASOS data (../shared/data/asos):
- Arms: the `_c` figures become rows of a variant named `control`; the `_t` figures rows of the
  row's variant. A multi-treatment experiment repeats its control once per treatment pair; when
  those repeats are identical (as in all 17 ASOS multi-treatment experiments) they are read once.
  When they differ, the pairs were not analysed against one shared control population, so each
  pair becomes its own experiment `<experiment>/<variant>` and a note says why.
- Times: a numeric date column counts days since the start (ASOS: time_since_start, in half-day
  steps). A time t falls on day ceil(t) (t in (k-1, k] is day k), dated start + (k - 1) days,
  where start is the experiment's `start` in experiments.toml or else 1970-01-01 (Polars' own
  day-count epoch). Several snapshots on one day: the last one is kept for cumulative data, their
  sums are added for daily data.
- Empty snapshots (count 0 in an arm, taken before any unit arrived) are skipped.
- Missing variances: a mean metric cannot be tested without one. Snapshots of an experiment and
  metric where any arm lacks its variance are left out (for cumulative data the next complete
  snapshot carries on) and a note says how many; a proportion's variance is implied by its mean.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from nsexp.config.catalog import Catalog
from nsexp.config.experiments import load_experiments
from nsexp.errors import InputError
from nsexp.io.cumulative import as_daily
from nsexp.io.files import check_numeric, date_expr, experiment_expr
from nsexp.io.moments import FLAGS, SHIFTED, from_moments, merged
from nsexp.io.summary import read_summary
from nsexp.io.units import FileRead

CONTROL = "control"
EPOCH = dt.date(1970, 1, 1)
_ARM_FIGURES = ("count", "mean", "variance")
_SNAPSHOT = ("experiment", "metric", "time")
DEV = ("shift", "dev_sum", "dev_sum_sq")


def read_wide(lazy: pl.LazyFrame, path: Path, catalog: Catalog) -> FileRead:
    """Validate a wide summary file and return it in the standard (daily, long) summary form."""
    schema = lazy.collect_schema()
    names = schema.names()
    numeric = [f"{f}_{a}" for f in _ARM_FIGURES for a in "ct" if f"{f}_{a}" in names]
    for column in numeric:
        check_numeric(lazy, schema[column], column, path)
    columns = [
        experiment_expr(names, path),
        pl.col("variant").cast(pl.String),
        pl.col("metric").cast(pl.String),
        *(pl.col(c).cast(pl.Float64) for c in numeric),
        *(
            pl.lit(None, pl.Float64).alias(f"variance_{a}")
            for a in "ct"
            if f"variance_{a}" not in names
        ),
    ]
    if "date" in names:
        columns.append(pl.col("date").alias("time"))
    frame = lazy.select(columns).collect()
    if "time" not in frame.columns:
        frame = frame.with_columns(pl.lit(0.0).alias("time"))
    _require_keys(frame, path)
    notes: dict[str, list[str]] = {}
    # a snapshot taken before any unit arrived (count 0, as in ASOS) holds nothing to compare
    frame = frame.filter((pl.col("count_c") != 0) & (pl.col("count_t") != 0))
    frame = _pairs_as_experiments(frame, notes)
    measured = set(frame["metric"].unique()) & set(catalog.metrics)
    frame = _drop_missing_variance(frame, catalog, notes)
    frame = _with_day(frame, schema["date"] if "date" in names else None, path)
    long = _to_long(frame, catalog)
    read = read_summary(long.lazy(), path, catalog)
    read = as_daily(read, path, catalog)
    # metrics left without any testable snapshot are still measured here (and noted)
    read.metrics |= measured
    for eid, lines in notes.items():
        read.notes.setdefault(eid, []).extend(lines)
    return read


def _require_keys(frame: pl.DataFrame, path: Path) -> None:
    """Every row names its experiment, treatment variant and metric: the arms are paired by
    them, so an empty cell cannot be read (and is not guessed)."""
    for column in ("experiment", "variant", "metric"):
        missing = frame[column].null_count()
        if missing:
            raise InputError(
                f"{missing} rows have no {column}",
                file=path,
                column=column,
                fix=f"fill in the {column} of every row or drop those rows",
            )


def _pairs_as_experiments(frame: pl.DataFrame, notes: dict[str, list[str]]) -> pl.DataFrame:
    """Experiments whose repeated control figures differ between pairs: one experiment per pair."""
    control = ["count_c", "mean_c", "variance_c"]
    differs = (
        frame.group_by(_SNAPSHOT)
        .agg(pl.struct(control).n_unique().alias("versions"))
        .filter(pl.col("versions") > 1)["experiment"]
        .unique()
        .sort()
        .to_list()
    )
    for eid in differs:
        variants = frame.filter(pl.col("experiment") == eid)["variant"].unique().sort()
        for variant in variants:
            notes.setdefault(f"{eid}/{variant}", []).append(
                f"the control figures of {eid} differ between its treatment pairs "
                f"({', '.join(variants)}), so each pair is read as its own experiment "
                f"{eid}/<variant> against its own control"
            )
    split = pl.col("experiment").is_in(differs)
    return frame.with_columns(
        pl.col("experiment").alias("source"),
        pl.when(split)
        .then(pl.col("experiment") + "/" + pl.col("variant"))
        .otherwise(pl.col("experiment"))
        .alias("experiment"),
    )


def _drop_missing_variance(
    frame: pl.DataFrame, catalog: Catalog, notes: dict[str, list[str]]
) -> pl.DataFrame:
    """Leave out snapshots where a mean metric lacks a variance in any arm; note how many."""
    proportions = [m.id for m in catalog.metrics.values() if m.type == "proportion"]
    lacking = (
        ~pl.col("metric").is_in(proportions)
        & (pl.col("variance_c").is_null() | pl.col("variance_t").is_null())
        & ((pl.col("count_c") > 1) & (pl.col("count_t") > 1))
    )
    bad = frame.filter(lacking).select(_SNAPSHOT).unique()
    if bad.height == 0:
        return frame
    counts = (
        frame.select(_SNAPSHOT)
        .unique()
        .join(bad.with_columns(pl.lit(True).alias("bad")), on=list(_SNAPSHOT), how="left")
        .group_by("experiment", "metric")
        .agg(pl.len().alias("all"), pl.col("bad").sum().alias("bad"))
        .filter(pl.col("bad") > 0)
        .sort("experiment", "metric")
    )
    for row in counts.iter_rows(named=True):
        if row["bad"] == row["all"]:
            text = f"metric {row['metric']}: no variance in the data, so it cannot be tested here"
        else:
            text = (
                f"metric {row['metric']}: no variance in {row['bad']} of {row['all']} snapshots; "
                "those snapshots are left out"
            )
        notes.setdefault(row["experiment"], []).append(text)
    return frame.join(bad, on=list(_SNAPSHOT), how="anti")


def _with_day(frame: pl.DataFrame, dtype: pl.DataType | None, path: Path) -> pl.DataFrame:
    """A `date` per row: numeric times count days from the experiment's start (see module)."""
    if dtype is None:
        return frame.with_columns(pl.lit(None, pl.Date).alias("date"))
    if not dtype.is_numeric():
        return frame.with_columns(pl.col("time").alias("date")).with_columns(date_expr(dtype))
    if frame["time"].null_count():
        raise InputError(
            f"{frame['time'].null_count()} rows have no time",
            file=path,
            column="date",
            fix="fill in the days since the start of every row",
        )
    starts = _starts(path, frame["source"].unique().to_list())
    day = (pl.col("time") - 1e-9).ceil().cast(pl.Int64)
    return frame.with_columns(
        (
            pl.col("source").replace_strict(starts, default=EPOCH, return_dtype=pl.Date)
            + pl.duration(days=day - 1)
        ).alias("date")
    )


def _starts(path: Path, experiments: list[str]) -> dict[str, dt.date]:
    """Each experiment's start date from experiments.toml beside the data, where given."""
    source = path.parent / "experiments.toml"
    starts = {}
    for eid, info in load_experiments(source).items():
        if eid in experiments and info.start:
            starts[eid] = dt.date.fromisoformat(info.start[:10])  # checked when read
    return starts


def _to_long(frame: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Control and treatment rows with n, mean and variance as given (a proportion without a
    variance gets p(1 − p)); one row per arm, metric and date. Several snapshots on one day:
    the last one for cumulative data, else combined by Chan's formulas (nsexp.io.moments)."""
    proportions = [m.id for m in catalog.metrics.values() if m.type == "proportion"]
    arms = []
    for arm, variant in (("c", pl.lit(CONTROL)), ("t", pl.col("variant"))):
        n, mean, var = (pl.col(f"{f}_{arm}") for f in _ARM_FIGURES)
        binary = pl.col("metric").is_in(proportions) & var.is_null()
        m2 = pl.when(binary).then(n * mean * (1 - mean)).otherwise((n - 1) * var.fill_null(0.0))
        arms.append(
            frame.select(
                "experiment",
                variant.alias("variant"),
                "metric",
                "date",
                "time",
                n.alias("n"),
                mean.alias("mean"),
                m2.alias("m2"),
            )
        )
    control = arms[0].unique(subset=["experiment", "metric", "time"], keep="first")
    rows = pl.concat([control, arms[1]])
    keys = ["experiment", "variant", "metric", "date"]
    if catalog.dates == "cumulative":
        figures = [pl.col(c).sort_by("time").last() for c in ("n", "mean", "m2")]
        rows = rows.group_by(keys).agg(figures)
    else:  # several snapshots of one day: their shifted sums on one shift, added
        rows = rows.with_columns(
            *from_moments("", pl.col("mean"), pl.col("m2")),
            *(pl.lit(None, pl.Float64).alias(c) for c in SHIFTED if c not in DEV),
            *(pl.lit(False).alias(flag) for flag in FLAGS.values()),
        )
        rows = merged(rows.lazy(), keys, ("n",)).collect()
        n = pl.col("n").cast(pl.Float64)
        rows = rows.select(
            *keys,
            "n",
            (pl.col("shift") + pl.col("dev_sum") / n).alias("mean"),
            (pl.col("dev_sum_sq") - pl.col("dev_sum") ** 2 / n).alias("m2"),
        )
    n = pl.col("n")
    variance = pl.when(n > 1).then(pl.col("m2") / (n - 1)).otherwise(0.0)
    return rows.select(*keys, "n", "mean", variance.alias("variance"))
