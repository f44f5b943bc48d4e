"""Cross statistics of metric pairs within each arm: what the within-experiment covariance of two
metrics' estimates needs, for each metric with its parent and with the North Star.

A metric's unit-level *parts* are its value (a ratio's numerator: "num"), a ratio's denominator
("den") and, where its CUPED covariate is in the data, the covariate ("cov", a missing one
counting as 0 as in the CUPED sums). For each pair (metric, other), each part of the one with
each part of the other, per experiment, variant [and date], the cross table (CROSS_SCHEMA) holds
the units with both metrics present (`n`), each part's mean over those units (`mean`,
`other_mean`; the SQL engines give it less the column's pilot, a shift common to every row
they combine with, so that days near 1e9 keep their differences) and their co-moment
Σ(x − x̄)(y − ȳ) (`comoment`). The co-moment comes from sums of values shifted by each column's
pilot, in Polars (in the sums' own group-by for undated rows) and in SQL alike, so large means do
not cancel the way Σxy − ΣxΣy/n does; daily SQL rows combine by the pairwise formula
(`cross_totals`).

Summary files may carry the same information as cross sums on their rows (`summary_cross`):
`ns_cross_sum` = Σ x·y with the North Star, `parent_cross_sum` = Σ x·y with the metric's parent,
over the row's units (mean and proportion metrics; a ratio's parts would need more columns), or,
as `nsexp sql` writes them, the same about the two rows' shifts (`ns_cross_dev_sum`,
`parent_cross_dev_sum` = Σ(x − a)(y − b)), which keep their digits at large means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from nsexp.config.catalog import Catalog, Metric
from nsexp.errors import InputError
from nsexp.io.whole import as_whole

CROSS_SCHEMA: dict[str, pl.DataType] = {
    "experiment": pl.String(),
    "variant": pl.String(),
    "date": pl.Date(),
    "metric": pl.String(),
    "other": pl.String(),
    "part": pl.String(),
    "other_part": pl.String(),
    "n": pl.Int64(),
    "mean": pl.Float64(),
    "other_mean": pl.Float64(),
    "comoment": pl.Float64(),
}
CROSS_SUMS = ("ns_cross_sum", "parent_cross_sum")  # the summary-file columns: raw Σx·y
# ... and Σ(x − a)(y − b) about the two rows' shifts, as `nsexp sql` writes them
CROSS_DEV_SUMS = ("ns_cross_dev_sum", "parent_cross_dev_sum")
# Past this many metric pairs (a catalog of a few hundred metrics) the cross statistics cost
# more than the sums themselves (500 metrics: 3.4x the reading time, 3.9x the memory), so
# none are aggregated and the tree assumes the within-experiment covariances zero.
MAX_CROSS_PAIRS = 200


@dataclass(frozen=True)
class Part:
    """One unit-level column a metric is computed from."""

    name: str  # "num", "den" or "cov"
    column: str
    zero: bool = False  # a missing value counts as 0 (a CUPED covariate)


@dataclass(frozen=True)
class Pair:
    """A metric and the metric it is crossed with, with both metrics' parts."""

    index: int
    metric: str
    other: str
    parts: tuple[Part, ...]
    other_parts: tuple[Part, ...]

    def alias(self, stat: str) -> str:
        """The output column of one statistic of this pair (short, safe in every dialect)."""
        return f"nsexp_x{self.index}_{stat}"

    @property
    def required(self) -> tuple[str, ...]:
        """The columns that must hold a value for a unit to count."""
        cols = [p.column for p in (*self.parts, *self.other_parts) if not p.zero]
        return tuple(dict.fromkeys(cols))

    def stats(self, means: bool = True) -> list[tuple[str, str, Part | None, Part | None]]:
        """(alias, op, part, other part): op is count, mean, other_mean or cov; without `means`
        (one row per arm: no dated rows to combine) only the count and the covariances."""
        out: list[tuple[str, str, Part | None, Part | None]] = [
            (self.alias("n"), "count", None, None)
        ]
        if means:
            out += [(self.alias(f"m{i}"), "mean", p, None) for i, p in enumerate(self.parts)]
            out += [
                (self.alias(f"o{j}"), "other_mean", None, q) for j, q in enumerate(self.other_parts)
            ]
        for i, p in enumerate(self.parts):
            out += [(self.alias(f"c{i}{j}"), "cov", p, q) for j, q in enumerate(self.other_parts)]
        return out


def metric_parts(metric: Metric, names: Sequence[str]) -> tuple[Part, ...]:
    """The parts a metric reads: value, a ratio's denominator, a CUPED covariate if present."""
    if metric.type == "ratio":
        return (Part("num", metric.numerator or ""), Part("den", metric.denominator or ""))
    value = Part("num", metric.columns[0])
    if metric.covariate is not None and metric.covariate in names:
        return value, Part("cov", metric.covariate, zero=True)
    return (value,)


def cross_pairs(catalog: Catalog, metrics: Sequence[Metric], names: Sequence[str]) -> list[Pair]:
    """Each measured metric with its parent and with the North Star (where measured), once;
    none when there would be more than MAX_CROSS_PAIRS (then every edge says its
    within-experiment covariance is assumed zero, and the scan stays as cheap as the sums')."""
    present = {m.id: m for m in metrics}
    ns = catalog.north_star.id
    wanted: dict[frozenset[str], tuple[str, str]] = {}
    for m in metrics:
        for other in (m.parent, ns):
            if other is not None and other != m.id and other in present:
                wanted.setdefault(frozenset((m.id, other)), (m.id, other))
    if len(wanted) > MAX_CROSS_PAIRS:
        return []
    return [
        Pair(i, a, b, metric_parts(present[a], names), metric_parts(present[b], names))
        for i, (a, b) in enumerate(wanted.values())
    ]


def _value(column: str, schema: pl.Schema, zero: bool = False) -> pl.Expr:
    """A column as floats; NaN and infinite cells are missing (0 for a covariate)."""
    x = pl.col(column).cast(pl.Float64)
    exact = schema[column].is_integer() or schema[column] == pl.Boolean
    x = x if exact else pl.when(x.is_finite()).then(x)
    return x.fill_null(0.0) if zero else x


def cross_query(
    lazy: pl.LazyFrame,
    keys: list[pl.Expr],
    pairs: list[Pair],
    schema: pl.Schema,
    pilot: dict[str, float],
) -> pl.LazyFrame:
    """The pairs' statistics per experiment and variant (`keys`), as one lazy query over the
    same scan: counts and covariances only, as one row per arm needs no means to combine."""
    if not pairs:
        return pl.LazyFrame()
    return lazy.group_by(keys).agg(cross_aggs(pairs, schema, pilot))


def cross_aggs(pairs: list[Pair], schema: pl.Schema, pilot: dict[str, float]) -> list[pl.Expr]:
    """The aggregations of cross_query, to add to another group-by by experiment and variant
    (undated unit rows: the sums' own query, so the file is scanned once). The covariance is
    Σ dx·dy / n − (Σ dx / n)(Σ dy / n) of values shifted by each column's pilot (nsexp.io.sums),
    plain sums that stream, and that keep their digits as the shifted sums do; of whole numbers
    (nsexp.io.whole.as_whole) where both columns allow, exact in any order, so reproducible.
    Undated pairs of whole-number parts take plain 64-bit sums instead where the scan shows they
    fit (nsexp.io.sums `SumsPlan.add_pair`); these masked sums are their fallback."""
    aggs: list[pl.Expr] = []
    for pair in pairs:
        valid = pl.all_horizontal(_value(c, schema).is_not_null() for c in pair.required)
        n = valid.sum()
        for alias, op, p, q in pair.stats(means=False):
            if op == "count":
                aggs.append(n.cast(pl.Int64).alias(alias))
            elif op == "cov" and p is not None and q is not None:
                aggs.append(
                    pl.when(n > 0).then(_covariance(p, q, valid, schema, pilot)).alias(alias)
                )
            else:  # a part's own mean, unshifted
                one = p or q
                assert one is not None
                value = _value(one.column, schema, one.zero)
                aggs.append(pl.when(valid).then(value).mean().alias(alias))
    return aggs


def _covariance(
    p: Part, q: Part, valid: pl.Expr, schema: pl.Schema, pilot: dict[str, float]
) -> pl.Expr:
    """Σ(x − x̄)(y − ȳ)/n over the `valid` rows, from sums shifted by the pilots: of whole numbers
    D, E where both columns allow ((n·ΣDE − ΣD·ΣE)/n² in 128-bit integers), else of floats."""
    n = valid.sum()
    x, y = as_whole(p.column, schema, pilot, p.zero), as_whole(q.column, schema, pilot, q.zero)
    if x is None or y is None:
        dx, dy = (
            pl.when(valid).then(_value(r.column, schema, r.zero) - pilot.get(r.column, 0.0))
            for r in (p, q)
        )
        return (dx * dy).sum() / n - (dx.sum() / n) * (dy.sum() / n)
    wide = pl.Int128  # unchecked: rows · |D| · |E| < 2**127 for any |D|, |E| < 2**48
    d, e = (pl.when(valid).then(v[0].cast(wide)) for v in (x, y))
    top = n.cast(wide) * (d * e).sum() - d.sum() * e.sum()
    return top.cast(pl.Float64) / n / n / (x[1] * y[1])


def cross_long(wide: pl.DataFrame, pairs: list[Pair]) -> pl.DataFrame:
    """The pairs' columns of an aggregate (Polars or SQL) as rows of CROSS_SCHEMA."""
    frames = []
    date = pl.col("date") if "date" in wide.columns else pl.lit(None, dtype=pl.Date())
    for pair in pairs:
        n = pl.col(pair.alias("n")).fill_null(0)
        for i, p in enumerate(pair.parts):
            for j, q in enumerate(pair.other_parts):
                frames.append(
                    wide.select(
                        pl.col("experiment").cast(pl.String),
                        pl.col("variant").cast(pl.String),
                        date.alias("date"),
                        pl.lit(pair.metric).alias("metric"),
                        pl.lit(pair.other).alias("other"),
                        pl.lit(p.name).alias("part"),
                        pl.lit(q.name).alias("other_part"),
                        n.cast(pl.Int64).alias("n"),
                        _maybe(wide, pair.alias(f"m{i}")).alias("mean"),
                        _maybe(wide, pair.alias(f"o{j}")).alias("other_mean"),
                        (pl.col(pair.alias(f"c{i}{j}")).cast(pl.Float64).fill_null(0.0) * n)
                        .cast(pl.Float64)
                        .alias("comoment"),
                    )
                )
    if not frames:
        return empty_cross()
    return pl.concat(frames).filter(pl.col("n") > 0)


def _maybe(wide: pl.DataFrame, column: str) -> pl.Expr:
    """A float column of the aggregate, or nulls where the query did not compute it."""
    if column in wide.columns:
        return pl.col(column).cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64)


def empty_cross() -> pl.DataFrame:
    """A cross table without rows."""
    return pl.DataFrame(schema=CROSS_SCHEMA)


_PAIR_KEYS = ("experiment", "variant", "metric", "other", "part", "other_part")


def _pooled(column: str) -> pl.Expr:
    """The unit-weighted mean of a column's daily means (null where a day has none)."""
    mean = (pl.col("n") * pl.col(column)).sum() / pl.col("n").sum()
    return pl.when(pl.col(column).is_null().any()).then(None).otherwise(mean)


def cross_totals(cross: pl.DataFrame) -> pl.DataFrame:
    """One row per experiment, variant, pair and parts: dated rows combined by the pairwise
    formula C = Σ C_d + Σ n_d (x̄_d − x̄)(ȳ_d − ȳ), which keeps the means apart from the spread."""
    keys = list(_PAIR_KEYS)
    pooled = cross.group_by(keys).agg(
        pl.col("n").sum().alias("_n"),
        _pooled("mean").alias("_mean"),
        _pooled("other_mean").alias("_other"),
    )
    joined = cross.join(pooled, on=keys, nulls_equal=True)
    spread = (
        pl.col("n") * (pl.col("mean") - pl.col("_mean")) * (pl.col("other_mean") - pl.col("_other"))
    ).fill_null(0.0)  # one row per arm (no means computed): nothing to spread
    return (
        joined.group_by(keys, maintain_order=True)
        .agg(
            pl.col("_n").first().alias("n"),
            pl.col("_mean").first().alias("mean"),
            pl.col("_other").first().alias("other_mean"),
            (pl.col("comoment").sum() + spread.sum()).alias("comoment"),
        )
        .with_columns(pl.lit(None, dtype=pl.Date()).alias("date"))
        .select(list(CROSS_SCHEMA))
        .sort(keys)
    )


def summary_cross(frame: pl.DataFrame, catalog: Catalog, path: Path) -> pl.DataFrame:
    """Cross rows from summary rows that carry cross sums with the North Star and with the
    parent: shifted (`ns_cross_dev_sum`, as `nsexp sql` writes them; used where present) or raw
    (`ns_cross_sum`; dated rows totalled first). Running totals: the last date."""
    keys = ["experiment", "variant", "metric"]
    if "date" in frame.columns and catalog.dates == "cumulative":
        frame = frame.sort("date").group_by(keys, maintain_order=True).last()
    ns = catalog.north_star.id
    out = []
    for raw, dev in zip(CROSS_SUMS, CROSS_DEV_SUMS, strict=True):
        partner = {m.id: ns if raw == CROSS_SUMS[0] else m.parent for m in catalog.metrics.values()}
        if dev in frame.columns:
            out.append(_from_dev_sums(frame, dev, partner, catalog, path))
        elif raw in frame.columns:
            out.append(_from_raw_sums(frame, raw, partner, catalog, path))
    # a metric whose parent is the North Star gives the same pair twice
    pair = ["experiment", "variant", "date", "metric", "other", "part", "other_part"]
    found = [f for f in out if f.height]
    if not found:
        return empty_cross()
    return pl.concat(found).unique(pair, keep="first", maintain_order=True)


def _partner(frame: pl.DataFrame, partner: dict[str, str | None]) -> pl.DataFrame:
    """`frame` with each row's metric's partner (North Star or parent) as `other`."""
    other = pl.col("metric").replace_strict(partner, default=None, return_dtype=pl.String)
    return frame.with_columns(other.alias("other"))


def _from_raw_sums(
    frame: pl.DataFrame, column: str, partner: dict[str, str | None], catalog: Catalog, path: Path
) -> pl.DataFrame:
    """Cross rows from raw Σx·y over the row's units: Σxy − n·x̄·ȳ of the totals (a file's own
    figures; a large mean costs digits here, which the shifted sums keep); only for an arm
    whose every row carries one."""
    keys = ["experiment", "variant", "metric"]
    sums = frame.group_by(keys).agg(
        pl.col("n").sum(),
        pl.col("sum").sum(),
        pl.when(pl.col(column).is_not_null().all()).then(pl.col(column).sum()).alias(column),
    )
    rows = _partner(sums.filter(pl.col(column).is_not_null()), partner)
    if rows.height == 0:
        return empty_cross()
    _check_summary_pairs(rows, catalog, column, path)
    other = sums.select(
        "experiment",
        "variant",
        pl.col("metric").alias("other"),
        (pl.col("sum") / pl.col("n")).alias("other_mean"),
    )
    mean = pl.col("sum") / pl.col("n")
    return _cross_rows(
        rows.join(other, on=["experiment", "variant", "other"]),
        pl.lit(None, dtype=pl.Date()),
        mean,
        pl.col("other_mean"),
        pl.col(column) - pl.col("n") * mean * pl.col("other_mean"),
    )


def _from_dev_sums(
    frame: pl.DataFrame, column: str, partner: dict[str, str | None], catalog: Catalog, path: Path
) -> pl.DataFrame:
    """Cross rows, one per summary row, from Σ(x − a)(y − b) with a and b the two rows' shifts:
    the co-moment Σ(x − a)(y − b) − Σ(x − a)·Σ(y − b)/n keeps its digits at any mean; each
    row's means are taken less its metric's first shift, and the dates combine as the SQL
    engines' do (cross_totals). Both rows must count the same units; an arm with a date
    without its cross sum has none (its days with one would be a part of its units)."""
    missing = [c for c in ("shift", "dev_sum") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{column} needs each row's shift and dev_sum, which the file has not",
            file=path,
            column=column,
            fix="write shift and dev_sum beside it (nsexp sql does), or give raw ns_cross_sum",
        )
    date = ["date"] if "date" in frame.columns else []
    keys = ["experiment", "variant", *date]
    every = pl.col(column).is_not_null().all().over("experiment", "variant", "metric")
    rows = _partner(frame.filter(every & (pl.col("n") > 0)), partner)
    if rows.height == 0:
        return empty_cross()
    _check_summary_pairs(rows, catalog, column, path)
    arm = ["experiment", "variant"]
    shifts = frame.select(
        *keys, "metric", "n", pl.col("shift").fill_null(0.0), "dev_sum"
    ).with_columns((pl.col("shift") - pl.col("shift").first().over([*arm, "metric"])).alias("d"))
    other = shifts.rename({"metric": "other", "n": "other_n", "dev_sum": "other_dev", "d": "od"})
    rows = rows.join(shifts.select(*keys, "metric", "d"), on=[*keys, "metric"], nulls_equal=True)
    rows = rows.join(other.drop("shift"), on=[*keys, "other"], how="left", nulls_equal=True)
    unmatched = rows.filter(pl.col("other_n").is_null() | (pl.col("other_n") != pl.col("n")))
    if unmatched.height:
        row = unmatched.row(0, named=True)
        other = row["other_n"]
        raise InputError(
            f"{column} given for experiment {row['experiment']}, variant {row['variant']}, "
            f"metric {row['metric']}, whose {row['other']} row "
            + ("is missing" if other is None else f"counts {other:g} units, not {row['n']:g}"),
            file=path,
            column=column,
            fix="give cross sums only over units both rows count (else leave them empty)",
        )
    n = pl.col("n")
    return _cross_rows(
        rows,
        pl.col("date") if date else pl.lit(None, dtype=pl.Date()),
        pl.col("d") + pl.col("dev_sum") / n,
        pl.col("od") + pl.col("other_dev") / n,
        pl.col(column) - pl.col("dev_sum") * pl.col("other_dev") / n,
    )


def _cross_rows(
    rows: pl.DataFrame, date: pl.Expr, mean: pl.Expr, other_mean: pl.Expr, comoment: pl.Expr
) -> pl.DataFrame:
    """Summary cross rows (value with value) in CROSS_SCHEMA."""
    return rows.select(
        "experiment",
        "variant",
        date.alias("date"),
        "metric",
        "other",
        pl.lit("num").alias("part"),
        pl.lit("num").alias("other_part"),
        pl.col("n").cast(pl.Int64),
        mean.alias("mean"),
        other_mean.alias("other_mean"),
        comoment.alias("comoment"),
    )


def _check_summary_pairs(rows: pl.DataFrame, catalog: Catalog, column: str, path: Path) -> None:
    """Cross sums only where they mean something: a metric with that partner, neither a ratio."""
    for row in (
        rows.select("experiment", "variant", "metric", "other").unique().iter_rows(named=True)
    ):
        where = f"experiment {row['experiment']}, variant {row['variant']}, metric {row['metric']}"
        if row["other"] is None or row["other"] == row["metric"]:
            raise InputError(
                f"{column} given for {where}, which has no {column.split('_')[0]} to cross with",
                file=path,
                column=column,
                fix="leave it empty for the North Star and for metrics without a parent",
            )
        kinds = {catalog.metrics[row["metric"]].type, catalog.metrics[row["other"]].type}
        if "ratio" in kinds:
            raise InputError(
                f"{column} given for {where}, but a ratio metric's parts need more cross sums",
                file=path,
                column=column,
                fix="leave it empty for ratio metrics (their covariance is then assumed zero)",
            )
