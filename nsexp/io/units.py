"""Aggregate unit-level rows (one per user, team, account) to sufficient statistics in Polars."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import polars as pl

from nsexp.config.catalog import Catalog, Metric
from nsexp.errors import InputError
from nsexp.io.files import check_numeric_columns, date_expr, experiment_expr
from nsexp.io.schema import SUMMARY_SCHEMA, SUMS, conform
from nsexp.io.unit_ids import NO_CHECKS, UnitHashes, candidate_checks

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


def aggregate_units(lazy: pl.LazyFrame, path: Path, catalog: Catalog) -> FileRead:
    """n, sum, sum_sq (and cross sums for ratios) per experiment, variant and date."""
    os.environ.setdefault(PREFETCH_ENV, PREFETCH_ROW_GROUPS)
    schema = lazy.collect_schema()
    names = schema.names()
    metrics = [m for m in catalog.metrics.values() if all(c in names for c in m.columns)]
    values = [c for m in metrics for c in (*m.columns, m.covariate) if c is not None and c in names]
    check_numeric_columns(lazy, schema, values, path)  # one pass, however many metrics
    rows = lazy
    lazy = cap_values(lazy, metrics, names)
    keys = [_key(schema, "experiment", path), _key(schema, "variant", path)]
    if "date" in names:
        keys.append(date_expr(schema["date"]))
    plan = _FastPlan(lazy.collect_schema() if _capped(metrics) else schema)
    for metric in metrics:
        plan.add(metric, names)
    queries = [lazy.group_by(keys).agg([pl.len().alias("units"), *plan.aggs()])]
    hashes = UnitHashes()
    if "unit_id" in names:  # the unit checks' first stage, in the same streaming run
        queries.append(hashes.sink(rows, names))
    wide = _as_text(_collect(queries, path)[0])
    check_rows(wide, path)
    wide, redo, patch = plan.finish(wide, metrics)
    if patch:
        wide = _patch_ratios(wide, lazy, keys, patch, path)
    if redo:  # missing or non-finite values where the plain sums assumed none: mask and redo
        exact = _as_text(_collect([_masked_query(lazy, keys, redo, names, plan.schema)], path)[0])
        on = [k for k in ("experiment", "variant", "date") if k in wide.columns]
        wide = wide.join(exact, on=on, how="left", nulls_equal=True, maintain_order="left")
        wide = wide.select(_wide_order(on, metrics, names, wide.columns))
    read = FileRead(
        summary=to_long(wide, metrics),
        units=wide.select("experiment", "variant", date_col(wide), "units"),
        metrics={m.id for m in metrics},
    )
    check_proportions(wide, metrics, path)
    note_missing_values(wide, metrics, read)
    if "unit_id" in names:
        record_unit_problems(unit_checks(rows, names, path, hashes), read)
    note_covariates(wide, metrics, names, path, read)
    read_here = {m.id for m in metrics}  # a set: the catalog may hold thousands of metrics
    missing = [m for m in catalog.metrics if m not in read_here]
    if missing:
        for experiment in wide["experiment"].unique().sort():
            read.notes.setdefault(experiment, []).append(
                f"{path.name} has no column for {', '.join(missing)}: not measured here."
            )
    return read


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
    the scan's hashes show no unit twice, else only the rows of the candidate units."""
    candidates = hashes.repeated()
    if candidates.size == 0:
        return NO_CHECKS
    query = candidate_checks(lazy, names, experiment_expr(names, path), candidates)
    return _collect([query], path)[0]


def _collect(queries: list[pl.LazyFrame], path: Path) -> list[pl.DataFrame]:
    try:
        return pl.collect_all(queries, engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"cannot aggregate the file ({str(exc).splitlines()[0]})",
            file=path,
            fix="check the date and metric columns hold dates and numbers",
        ) from exc


def _patch_ratios(
    wide: pl.DataFrame, lazy: pl.LazyFrame, keys: list[pl.Expr], ratios: list[Metric], path: Path
) -> pl.DataFrame:
    """Take the rows that miss a ratio part out of its plain sums: a pass that groups only those
    rows, instead of aggregating every row again with masks (integer parts, so exact)."""
    on = [k.meta.output_name() for k in keys]
    queries = []
    for metric in ratios:
        num = pl.col(metric.numerator or "").cast(pl.Float64)
        den = pl.col(metric.denominator or "").cast(pl.Float64)
        missing = lazy.filter(num.is_null() | den.is_null()).group_by(keys)
        queries.append(
            missing.agg(
                pl.len().alias("__nsexp_rows"),
                num.sum().alias("__nsexp_sum"),
                (num * num).sum().alias("__nsexp_sum_sq"),
                den.sum().alias("__nsexp_den_sum"),
                (den * den).sum().alias("__nsexp_den_sum_sq"),
            )
        )
    for metric, gaps in zip(ratios, map(_as_text, _collect(queries, path)), strict=True):
        mid = metric.id
        wide = wide.join(gaps, on=on, how="left", nulls_equal=True, maintain_order="left")
        fixed = [(pl.col("units") - pl.col("__nsexp_rows").fill_null(0)).alias(f"{mid}__n")]
        for stat in ("sum", "sum_sq", "den_sum", "den_sum_sq"):
            less = pl.col(f"__nsexp_{stat}").fill_null(0.0)
            fixed.append((pl.col(f"{mid}__{stat}") - less).alias(f"{mid}__{stat}"))
        wide = wide.with_columns(fixed).drop(c for c in gaps.columns if c not in on)
    return wide


def _capped(metrics: list[Metric]) -> bool:
    return any(m.cap_quantile is not None and m.type == "mean" for m in metrics)


def _masked_aggs(metrics: list[Metric], names: list[str]) -> list[pl.Expr]:
    aggs: list[pl.Expr] = []
    for metric in metrics:
        aggs.extend(_metric_aggs(metric))
        aggs.extend(_covariate_aggs(metric, names))
    return aggs


def _masked_query(
    lazy: pl.LazyFrame,
    keys: list[pl.Expr],
    metrics: list[Metric],
    names: list[str],
    schema: pl.Schema,
) -> pl.LazyFrame:
    """The masked statistics of `_metric_aggs` and `_covariate_aggs`, each mask computed once per
    row in a select ahead of the group_by (integer and boolean columns need no NaN mask)."""

    def value(column: str) -> pl.Expr:
        x = pl.col(column).cast(pl.Float64)
        exact = schema[column].is_integer() or schema[column] == pl.Boolean
        return x if exact else pl.when(x.is_finite()).then(x)

    cols: dict[str, pl.Expr] = {}
    aggs: list[pl.Expr] = []
    for i, metric in enumerate(metrics):
        mid, x, y = metric.id, f"__nsexp_x{i}", f"__nsexp_y{i}"
        if metric.type == "ratio":
            num, den = value(metric.numerator or ""), value(metric.denominator or "")
            valid = num.is_not_null() & den.is_not_null()
            cols |= {x: pl.when(valid).then(num), y: pl.when(valid).then(den)}
            a, b = pl.col(x), pl.col(y)
            aggs += [
                a.count().alias(f"{mid}__n"),
                a.sum().alias(f"{mid}__sum"),
                (a * a).sum().alias(f"{mid}__sum_sq"),
                b.sum().alias(f"{mid}__den_sum"),
                (b * b).sum().alias(f"{mid}__den_sum_sq"),
                (a * b).sum().alias(f"{mid}__num_den_sum"),
            ]
            continue
        cols[x] = value(metric.columns[0])
        a = pl.col(x)
        aggs += [a.count().alias(f"{mid}__n"), a.sum().alias(f"{mid}__sum")]
        aggs.append((a * a).sum().alias(f"{mid}__sum_sq"))
        if metric.type == "proportion":
            aggs += [a.min().alias(f"{mid}__min"), a.max().alias(f"{mid}__max")]
        cov = metric.covariate
        if cov is not None and cov in names:
            has = cols[x].is_not_null()
            cols[y] = pl.when(has).then(value(cov).fill_null(0.0))
            cols[f"__nsexp_m{i}"] = pl.col(cov).is_null() & has
            c = pl.col(y)
            aggs += [
                c.sum().alias(f"{mid}__cov_sum"),
                (c * c).sum().alias(f"{mid}__cov_sum_sq"),
                (c * a).sum().alias(f"{mid}__num_cov_sum"),
                pl.col(f"__nsexp_m{i}").sum().alias(f"{mid}__cov_missing"),
            ]
    rows = lazy.select(*keys, *(e.alias(n) for n, e in cols.items()))
    return rows.group_by([k.meta.output_name() for k in keys]).agg(aggs)


def _wide_order(
    on: Sequence[str], metrics: list[Metric], names: list[str], have: list[str]
) -> list[str]:
    stats = [e.meta.output_name() for e in _masked_aggs(metrics, names)]
    return [*on, "units", *(c for c in stats if c in have)]


_UNITS = ("units",)
_FROM_SUMS = ("from sums",)  # an integer proportion's min/max, derived in _FastPlan.finish


def _if_any(n: pl.Expr, value: pl.Expr, name: str) -> pl.Expr:
    """`value` where the group has values, else null (like min/max of no values)."""
    return pl.when(n > 0).then(value).otherwise(None).cast(pl.Float64).alias(name)


class _FastPlan:
    """The sufficient statistics as plain per-column sums, each computed once.

    The masks of `_metric_aggs` (NaN and infinite cells count as missing; a ratio counts rows
    with both parts) cost about a quarter of the query's CPU time. Unmasked sums give the same
    numbers whenever a column has no such cells, which the query itself shows: a float column's
    sum is finite only if every cell is, and a column's count equals the rows only if it has no
    nulls. Integer and boolean columns are always finite, and a Float64 column is not cast; an
    integer proportion needs no min/max pass when its sums show only 0s and 1s (`_zero_one`).
    `finish` names the metrics whose assumptions the data broke: a ratio of integer parts with
    missing parts is patched by `_patch_ratios`, any other is aggregated again with the masks.
    """

    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema
        self.exprs: dict[tuple[str, ...], pl.Expr] = {}
        self.stats: dict[str, dict[str, tuple[str, ...]]] = {}
        self.whole: dict[str, list[tuple[str, ...]]] = {}  # counts that must equal the units
        self.finite: dict[str, list[tuple[str, ...]]] = {}  # sums that must be finite

    def _value(self, column: str) -> pl.Expr:
        dtype = self.schema[column]
        return pl.col(column) if dtype == pl.Float64 else pl.col(column).cast(pl.Float64)

    def _agg(self, op: str, *columns: str) -> tuple[str, ...]:
        key = (op, *sorted(columns))
        if key not in self.exprs:
            values = [self._value(c) for c in key[1:]]
            expr = values[0] if len(values) == 1 else values[0] * values[1]
            expr = {"count": expr.count, "sum": expr.sum, "min": expr.min, "max": expr.max}[op]()
            self.exprs[key] = expr.alias(f"__nsexp_{len(self.exprs)}")
        return key

    def _exact(self, column: str) -> bool:
        """Integer and boolean columns: whole numbers, never NaN or infinite."""
        return self.schema[column].is_integer() or self.schema[column] == pl.Boolean

    def _finite(self, *columns: str) -> list[tuple[str, ...]]:
        """The sums that are finite only if the columns hold no NaN or infinite cell."""
        return [self._agg("sum", c) for c in columns if not self._exact(c)]

    def add(self, metric: Metric, names: list[str]) -> None:
        """Plan one metric's statistics (and its CUPED sums when the covariate is there)."""
        a = self._agg
        if metric.type == "ratio":
            num, den = metric.numerator or "", metric.denominator or ""
            stats = {
                "n": _UNITS,  # every row has both parts (checked in finish)
                "sum": a("sum", num),
                "sum_sq": a("sum", num, num),
                "den_sum": a("sum", den),
                "den_sum_sq": a("sum", den, den),
                "num_den_sum": a("sum", num, den),
            }
            self.whole[metric.id] = [a("count", num), a("count", den)]
            self.stats[metric.id] = stats
            self.finite[metric.id] = self._finite(num, den)
            return
        x = metric.columns[0]
        stats = {"n": a("count", x), "sum": a("sum", x), "sum_sq": a("sum", x, x)}
        if metric.type == "proportion" and self._exact(x):
            stats |= {"min": _FROM_SUMS, "max": _FROM_SUMS}  # see _zero_one
        elif metric.type == "proportion":
            stats |= {"min": a("min", x), "max": a("max", x)}
        finite = self._finite(x)
        whole: list[tuple[str, ...]] = []
        cov = metric.covariate
        if metric.type != "ratio" and cov is not None and cov in names:
            stats |= {
                "cov_sum": a("sum", cov),
                "cov_sum_sq": a("sum", cov, cov),
                "num_cov_sum": a("sum", x, cov),
                "cov_missing": a("count", cov),  # turned into units - count in finish
            }
            whole = [a("count", x)]  # the covariate sums run over units with a metric value
            finite += self._finite(cov)
        self.stats[metric.id] = stats
        self.whole[metric.id] = whole
        self.finite[metric.id] = finite

    def aggs(self) -> list[pl.Expr]:
        """Every distinct aggregation the metrics need, once."""
        return list(self.exprs.values())

    def finish(
        self, wide: pl.DataFrame, metrics: list[Metric]
    ) -> tuple[pl.DataFrame, list[Metric], list[Metric]]:
        """The wide frame under the statistics' names, the metrics to aggregate again, and the
        ratios whose sums still count rows missing a part (see `_patch_ratios`)."""
        col = {key: e.meta.output_name() for key, e in self.exprs.items()} | {_UNITS: "units"}
        units = wide["units"]
        redo, patch, out = [], [], []
        for metric in metrics:
            whole = all((wide[col[k]] == units).all() for k in self.whole[metric.id])
            finite = all(wide[col[k]].is_finite().all() for k in self.finite[metric.id])
            stats = self.stats[metric.id]
            zero_one = "min" not in stats or stats["min"] != _FROM_SUMS
            if not zero_one:  # an integer proportion: are all its values 0 or 1?
                zero_one = self._zero_one(wide, col[stats["sum"]], col[stats["sum_sq"]])
            if not whole and finite and zero_one and self._patchable(metric, wide, col):
                patch.append(metric)
            elif not (whole and finite and zero_one):
                redo.append(metric)
                continue
            for stat, key in self.stats[metric.id].items():
                name = f"{metric.id}__{stat}"
                n, total = pl.col(col[stats["n"]]), pl.col(col[stats["sum"]])
                if stat == "min" and key == _FROM_SUMS:
                    out.append(_if_any(n, pl.when(total < n).then(0.0).otherwise(1.0), name))
                elif stat == "max" and key == _FROM_SUMS:
                    out.append(_if_any(n, pl.when(total > 0).then(1.0).otherwise(0.0), name))
                elif stat == "cov_missing":
                    out.append((pl.col("units") - pl.col(col[key])).cast(pl.UInt32).alias(name))
                elif key[0] == "count":
                    out.append(pl.col(col[key]).cast(pl.UInt32).alias(name))
                else:
                    out.append(pl.col(col[key]).alias(name))
        keep = [c for c in wide.columns if not c.startswith("__nsexp_")]
        return wide.select(*keep, *out), redo, patch

    @staticmethod
    def _zero_one(wide: pl.DataFrame, total: str, squares: str) -> bool:
        """Every value of an integer column is 0 or 1 exactly when the sum of squares equals the
        sum (x*x >= x for whole numbers, equal only at 0 and 1), the sums being exact below
        2**53: then each group's min and max follow from n and the sum, with no min/max pass."""
        ss = wide[squares]
        return bool((ss < 2.0**53).all() and (ss == wide[total]).all())

    def _patchable(self, metric: Metric, wide: pl.DataFrame, col: dict) -> bool:
        """A ratio of integer (or boolean) parts whose sums are exact in float64: every sum is
        a whole number below 2**53 (|x| <= x*x bounds the partial sums), so subtracting the
        rows missing a part gives the masked sums to the bit."""
        if metric.type != "ratio":
            return False
        parts = (metric.numerator or "", metric.denominator or "")
        if not all(self.schema[c].is_integer() or self.schema[c] == pl.Boolean for c in parts):
            return False
        squares = (self.stats[metric.id]["sum_sq"], self.stats[metric.id]["den_sum_sq"])
        return all((wide[col[k]] < 2.0**53).all() for k in squares)


def date_col(wide: pl.DataFrame) -> pl.Expr:
    """The wide frame's date column, or an all-null Date column when it has none."""
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


def to_long(wide: pl.DataFrame, metrics: list[Metric]) -> pl.DataFrame:
    """One summary row per experiment, variant, date and metric from the wide aggregate.

    Linear in the metrics: one unpivot per statistic (at most the summary's nine), not one
    select per metric over a frame as wide as every metric's statistics together (0.6 s for
    4,000 metrics, where that took minutes)."""
    if not metrics:
        return conform(pl.DataFrame()).collect().clear()
    have = set(wide.columns)
    index = ["experiment", "variant", "date"]
    frame = wide.select(
        "experiment",
        "variant",
        date_col(wide),
        *(
            pl.col(c).cast(SUMMARY_SCHEMA[c.rsplit("__", 1)[1]])
            for c in _long_columns(metrics, have)
        ),
    )
    joined: pl.DataFrame | None = None
    for stat in ("n", *SUMS):
        columns = [f"{m.id}__{stat}" for m in metrics if f"{m.id}__{stat}" in have]
        if not columns:
            continue
        part = (
            frame.select(*index, *columns)
            .rename({c: c[: -len(stat) - 2] for c in columns})
            .unpivot(index=index, variable_name="metric", value_name=stat)
        )
        joined = (
            part
            if joined is None
            else joined.join(
                part, on=[*index, "metric"], how="left", nulls_equal=True, maintain_order="left"
            )
        )
    assert joined is not None  # every metric has an n
    return conform(joined).collect()


def _long_columns(metrics: list[Metric], have: set[str]) -> list[str]:
    """The wide frame's summary columns of these metrics, metric by metric."""
    return [f"{m.id}__{s}" for m in metrics for s in ("n", *SUMS) if f"{m.id}__{s}" in have]


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
    """Note, per experiment, how many units have no value for each metric."""
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
