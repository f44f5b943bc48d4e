"""The masked fallback of the sums planner: aggregations that count NaN, infinite and empty cells
as missing (a ratio only rows with both parts), for the metrics whose data broke the plain plan's
assumptions (nsexp.io.sums.SumsPlan.finish), and the exact patch for ratios of integer parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from nsexp.config.catalog import Metric
from nsexp.io.sums import collect, finite_value
from nsexp.io.whole import Whole, as_whole, centred, co_moment, whole_centred, whole_co_moment


def patch_ratios(
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
    keys_as_text = [pl.col(c).cast(pl.String) for c in ("experiment", "variant")]
    found = [g.with_columns(keys_as_text) for g in collect(queries, path)]  # Categorical keys
    for metric, gaps in zip(ratios, found, strict=True):
        mid = metric.id
        wide = wide.join(gaps, on=on, how="left", nulls_equal=True, maintain_order="left")
        fixed = [(pl.col("units") - pl.col("__nsexp_rows").fill_null(0)).alias(f"{mid}__n")]
        for stat in ("sum", "sum_sq", "den_sum", "den_sum_sq"):
            less = pl.col(f"__nsexp_{stat}").fill_null(0.0)
            fixed.append((pl.col(f"{mid}__{stat}") - less).alias(f"{mid}__{stat}"))
        wide = wide.with_columns(fixed).drop(c for c in gaps.columns if c not in on)
        wide = wide.with_columns(_exact_moments(mid))
    return wide


def _exact_moments(mid: str) -> list[pl.Expr]:
    """Shift 0, Σy and M2 of a ratio whose sums are whole numbers below 2**53: the numerators
    n·Σxy − Σx·Σy in 128-bit integers, so exact, then one division."""
    n = pl.col(f"{mid}__n")

    def whole(stat: str) -> pl.Expr:
        return pl.col(f"{mid}__{stat}").cast(pl.Int128)

    def centred(xy: str, x: str, y: str) -> pl.Expr:
        top = n.cast(pl.Int128) * whole(xy) - whole(x) * whole(y)
        return pl.when(n > 0).then(top.cast(pl.Float64) / n)

    zero = pl.when(n > 0).then(0.0)
    return [
        zero.alias(f"{mid}__shift"),
        pl.col(f"{mid}__sum").alias(f"{mid}__dev_sum"),
        centred("sum_sq", "sum", "sum").alias(f"{mid}__m2"),
        zero.alias(f"{mid}__den_shift"),
        pl.col(f"{mid}__den_sum").alias(f"{mid}__den_dev_sum"),
        centred("den_sum_sq", "den_sum", "den_sum").alias(f"{mid}__den_m2"),
        centred("num_den_sum", "sum", "den_sum").alias(f"{mid}__num_den_m2"),
    ]


def _masked_aggs(metrics: list[Metric], names: list[str]) -> list[pl.Expr]:
    aggs: list[pl.Expr] = []
    for metric in metrics:
        aggs.extend(_metric_aggs(metric))
        aggs.extend(_covariate_aggs(metric, names))
    return aggs


def masked_query(
    lazy: pl.LazyFrame,
    keys: list[pl.Expr],
    metrics: list[Metric],
    names: list[str],
    schema: pl.Schema,
    pilot: dict[str, float],
) -> pl.LazyFrame:
    """The masked statistics of `_metric_aggs` and `_covariate_aggs`, each mask computed once per
    row in a select ahead of the group_by (integer and boolean columns need no NaN mask)."""

    def value(column: str) -> pl.Expr:
        x = pl.col(column).cast(pl.Float64)
        exact = schema[column].is_integer() or schema[column] == pl.Boolean
        return x if exact else pl.when(x.is_finite()).then(x)

    cols: dict[str, pl.Expr] = {}
    aggs: list[pl.Expr] = []

    def whole(column: str, masked: str, zero: bool = False) -> Whole | None:
        """The masked column `masked` as whole numbers, where its column allows (as_whole)."""
        found = as_whole(column, schema, pilot, zero)
        if found is None:
            return None
        cols[f"{masked}d"] = pl.when(cols[masked].is_not_null()).then(found[0])
        return Whole(pl.col(f"{masked}d"), found[1], pl.col(masked), pilot.get(column, 0.0))

    def moments(
        name: str, w: Whole | None, x: pl.Expr, p: float, n: pl.Expr, cube: bool = False
    ) -> list[pl.Expr]:
        """`centred`, from whole numbers where the column allows."""
        return centred(name, x, p, n, cube) if w is None else whole_centred(name, w, p, n, cube)

    def co(
        name: str,
        v: Whole | None,
        x: pl.Expr,
        px: float,
        w: Whole | None,
        y: pl.Expr,
        py: float,
        n: pl.Expr,
    ) -> pl.Expr:
        """`co_moment`, from whole numbers where both columns allow."""
        if v is None or w is None:
            return co_moment(name, x, px, y, py, n)
        return whole_co_moment(name, v, px, w, py, n)

    for i, metric in enumerate(metrics):
        mid, x, y = metric.id, f"__nsexp_x{i}", f"__nsexp_y{i}"
        if metric.type == "ratio":
            num, den = value(metric.numerator or ""), value(metric.denominator or "")
            valid = num.is_not_null() & den.is_not_null()
            cols |= {x: pl.when(valid).then(num), y: pl.when(valid).then(den)}
            a, b = pl.col(x), pl.col(y)
            wa, wb = whole(metric.numerator or "", x), whole(metric.denominator or "", y)
            aggs += [
                a.count().alias(f"{mid}__n"),
                a.sum().alias(f"{mid}__sum"),
                (a * a).sum().alias(f"{mid}__sum_sq"),
                b.sum().alias(f"{mid}__den_sum"),
                (b * b).sum().alias(f"{mid}__den_sum_sq"),
                (a * b).sum().alias(f"{mid}__num_den_sum"),
            ]
            pn, pd = pilot[metric.numerator or ""], pilot[metric.denominator or ""]
            aggs += moments(f"{mid}__", wa, a, pn, a.count())
            aggs += moments(f"{mid}__den_", wb, b, pd, a.count())
            aggs.append(co(f"{mid}__num_den_m2", wa, a, pn, wb, b, pd, a.count()))
            continue
        cols[x] = value(metric.columns[0])
        a = pl.col(x)
        wa = whole(metric.columns[0], x)
        aggs += [a.count().alias(f"{mid}__n"), a.sum().alias(f"{mid}__sum")]
        aggs.append((a * a).sum().alias(f"{mid}__sum_sq"))
        if metric.type == "proportion":
            aggs += [a.min().alias(f"{mid}__min"), a.max().alias(f"{mid}__max")]
        else:
            aggs += moments(f"{mid}__", wa, a, pilot[metric.columns[0]], a.count(), cube=True)
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
            pa, pc = pilot.get(metric.columns[0], 0.0), pilot[cov]
            wc = whole(cov, y, zero=True)
            aggs += moments(f"{mid}__cov_", wc, c, pc, a.count())
            aggs.append(co(f"{mid}__num_cov_m2", wa, a, pa, wc, c, pc, a.count()))
    rows = lazy.select(*keys, *(e.alias(n) for n, e in cols.items()))
    return rows.group_by([k.meta.output_name() for k in keys]).agg(aggs)


def wide_order(
    on: Sequence[str], metrics: list[Metric], names: list[str], have: list[str]
) -> list[str]:
    """The wide frame's columns in a fixed order: keys, units, then each metric's statistics."""
    stats = [e.meta.output_name() for e in _masked_aggs(metrics, names)]
    return [*on, "units", *(c for c in stats if c in have)]


def _covariate_aggs(metric: Metric, names: list[str]) -> list[pl.Expr]:
    """CUPED sums: covariate sum, its square sum and the metric x covariate cross sum, over the
    units with a metric value (a missing covariate counts as 0, which keeps CUPED unbiased)."""
    if metric.type == "ratio" or metric.covariate not in names:
        return []
    y = finite_value(metric.columns[0])
    x = pl.when(y.is_not_null()).then(finite_value(metric.covariate or "").fill_null(0.0))
    return [
        x.sum().alias(f"{metric.id}__cov_sum"),
        (x * x).sum().alias(f"{metric.id}__cov_sum_sq"),
        (x * y).sum().alias(f"{metric.id}__num_cov_sum"),
        (pl.col(metric.covariate or "").is_null() & y.is_not_null())
        .sum()
        .alias(f"{metric.id}__cov_missing"),
        *centred(f"{metric.id}__cov_", x, 0.0, x.count()),
        co_moment(f"{metric.id}__num_cov_m2", y, 0.0, x, 0.0, x.count()),
    ]


def _metric_aggs(metric: Metric) -> list[pl.Expr]:
    mid = metric.id
    if metric.type == "ratio":
        num, den = finite_value(metric.numerator or ""), finite_value(metric.denominator or "")
        valid = num.is_not_null() & den.is_not_null()
        num, den = pl.when(valid).then(num), pl.when(valid).then(den)
        return [
            valid.sum().alias(f"{mid}__n"),
            num.sum().alias(f"{mid}__sum"),
            (num * num).sum().alias(f"{mid}__sum_sq"),
            den.sum().alias(f"{mid}__den_sum"),
            (den * den).sum().alias(f"{mid}__den_sum_sq"),
            (num * den).sum().alias(f"{mid}__num_den_sum"),
            *centred(f"{mid}__", num, 0.0, num.count()),
            *centred(f"{mid}__den_", den, 0.0, num.count()),
            co_moment(f"{mid}__num_den_m2", num, 0.0, den, 0.0, num.count()),
        ]
    x = finite_value(metric.columns[0])
    aggs = [
        x.count().alias(f"{mid}__n"),
        x.sum().alias(f"{mid}__sum"),
        (x * x).sum().alias(f"{mid}__sum_sq"),
    ]
    if metric.type == "proportion":
        aggs += [x.min().alias(f"{mid}__min"), x.max().alias(f"{mid}__max")]
    else:
        aggs += centred(f"{mid}__", x, 0.0, x.count(), cube=True)
    return aggs
