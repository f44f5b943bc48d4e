"""The aggregation contract, built once as a sqlglot expression tree and printed per dialect.

Every backend runs the same statement: COUNT and plain SUMs per experiment, variant [and date],
returning the "wide" frame that nsexp.io.units builds in Polars (one row per group,
`<metric>__n`, `<metric>__sum`, ... columns). sqlglot writes it in each warehouse's dialect
(quoting, type names, LIMIT vs TOP): no dialect branch here. Means and centred moments come from
values shifted by a pilot per column (the first value the table holds, a one-row CTE
`nsexp_pilot`): Σ(x − p), Σ(x − p)², Σ(x − p)³ and Σ(x − p)(y − q) are plain sums every
backend runs (SQLite and MySQL have no VAR_POP or COVAR_POP), and with p near the data the
centred moments M2 = Σ(x − p)² − (Σ(x − p))²/n keep their digits (`centred_wide`). Only an
exact quantile (`cap_quantile`) differs by backend: BACKENDS says who has one and how it is
written; a backend without one gets one InputError naming it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import polars as pl
from sqlglot import exp

from nsexp.config.catalog import Metric
from nsexp.errors import InputError
from nsexp.io.cross import Pair, Part

ColumnKind = Literal["numeric", "boolean", "text", "date", "timestamp", "other"]
StatOp = Literal["count", "sum", "min", "max", "shift", "dev", "dev2", "dev3"]
Quantile = Literal["within_group", "percentile", "clickhouse"]


@dataclass(frozen=True)
class Backend:
    """A source.toml engine: sqlglot's dialect for it and how it writes an exact linear
    quantile (None: it has no exact quantile aggregate, so no `cap_quantile`)."""

    name: str
    dialect: str
    quantile: Quantile | None


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("duckdb", "duckdb", "within_group"),
        Backend("postgres", "postgres", "within_group"),
        Backend("spark", "spark", "percentile"),
        Backend("databricks", "databricks", "percentile"),
        Backend("snowflake", "snowflake", "within_group"),
        Backend("redshift", "redshift", "within_group"),
        Backend("clickhouse", "clickhouse", "clickhouse"),
        Backend("bigquery", "bigquery", None),  # PERCENTILE_CONT is a window function only
        Backend("trino", "trino", None),  # approx_percentile only
        Backend("mssql", "tsql", None),  # PERCENTILE_CONT is a window function only
        Backend("mysql", "mysql", None),
        Backend("sqlite", "sqlite", None),
    )
}


@dataclass(frozen=True)
class Stat:
    """One aggregate of a metric: `op` over the product of `factors`, on rows where every `valid`
    column has a value and every `absent` column has none; `zero` columns count missing as 0.
    `shift` is its one factor's pilot p, `dev` Σ(x − p), `dev2` Σ(x − p)(y − q) and
    `dev3` Σ(x − p)³; `plain` factors are not shifted (a proportion's 0/1 values)."""

    name: str
    op: StatOp
    factors: tuple[str, ...]
    valid: tuple[str, ...]
    zero: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()


def metric_stats(metric: Metric, columns: Collection[str] = ()) -> list[Stat]:
    """The sums a metric needs, named as the summary file names them (nsexp.io.moments).

    `columns` are the source's columns: CUPED sums only when the covariate column is there.
    """
    if metric.type == "ratio":
        num, den = metric.numerator or "", metric.denominator or ""
        valid = (num, den)
        return [
            Stat("n", "count", (), valid),
            Stat("sum", "sum", (num,), valid),
            Stat("sum_sq", "sum", (num, num), valid),
            Stat("den_sum", "sum", (den,), valid),
            Stat("den_sum_sq", "sum", (den, den), valid),
            Stat("num_den_sum", "sum", (num, den), valid),
            *_shifted_stats("", num, valid),
            *_shifted_stats("den_", den, valid),
            Stat("num_den_dev_sum", "dev2", (num, den), valid),
        ]
    x = metric.columns[0]
    stats = [
        Stat("n", "count", (), (x,)),
        Stat("sum", "sum", (x,), (x,)),
        Stat("sum_sq", "sum", (x, x), (x,)),
    ]
    if metric.type == "proportion":  # mean and M2 follow from n and the sum (nsexp.io.units)
        stats += [Stat("min", "min", (x,), (x,)), Stat("max", "max", (x,), (x,))]
    else:
        stats += [*_shifted_stats("", x, (x,)), Stat("dev_sum_cu", "dev3", (x,), (x,))]
    cov = metric.covariate
    plain = (x,) if metric.type == "proportion" else ()
    if cov is not None and cov in columns:
        stats += [
            Stat("cov_sum", "sum", (cov,), (x,), zero=(cov,)),
            Stat("cov_sum_sq", "sum", (cov, cov), (x,), zero=(cov,)),
            Stat("num_cov_sum", "sum", (x, cov), (x,), zero=(cov,)),
            Stat("cov_missing", "count", (), (x,), absent=(cov,)),
            *_shifted_stats("cov_", cov, (x,), zero=(cov,)),
            Stat("num_cov_dev_sum", "dev2", (x, cov), (x,), zero=(cov,), plain=plain),
        ]
    return stats


def _shifted_stats(
    prefix: str, column: str, valid: tuple[str, ...], zero: tuple[str, ...] = ()
) -> list[Stat]:
    """A column's pilot and its sums of deviations from it and of their squares."""
    return [
        Stat(f"{prefix}shift", "shift", (column,), valid, zero=zero),
        Stat(f"{prefix}dev_sum", "dev", (column,), valid, zero=zero),
        Stat(f"{prefix}dev_sum_sq", "dev2", (column, column), valid, zero=zero),
    ]


def capped(metrics: list[Metric]) -> list[Metric]:
    """Mean metrics winsorised at their experiment's cap_quantile (as nsexp.io.units does)."""
    return [m for m in metrics if m.type == "mean" and m.cap_quantile is not None]


@dataclass(frozen=True)
class Relation:
    """What to aggregate: a table or a subquery (`source`), and its columns (ours, after
    mapping) by kind."""

    source: exp.Expr
    kinds: dict[str, ColumnKind]
    names: dict[str, str]
    default_experiment: str = ""

    def source_name(self, column: str) -> str:
        """The source's own name for one of our column names."""
        return self.names.get(column, column)

    def col(self, column: str) -> exp.Column:
        """One of our columns as the source names it, quoted."""
        return exp.column(self.source_name(column), quoted=True)

    def table(self) -> exp.Expr:
        """A fresh copy of the FROM item (a node may sit in one place of a tree only), named
        (ClickHouse wants every table function in a join named)."""
        source = self.source.copy()
        if isinstance(source, exp.Subquery) or source.alias:
            return source
        alias = exp.TableAlias(this=exp.to_identifier("nsexp_source"))
        if isinstance(source, exp.Table):
            source.set("alias", alias)
            return source
        return exp.Table(this=source, alias=alias)


def table_of(name: str) -> exp.Table:
    """A possibly catalog- and schema-qualified table name, each part quoted."""
    parts = name.split(".")
    return exp.table_(
        parts[-1],
        db=parts[-2] if len(parts) > 1 else None,
        catalog=".".join(parts[:-2]) or None,
        quoted=True,
    )


def subquery_of(sql: str, dialect: str) -> exp.Expr:
    """An operator's SELECT (source.toml `query`) as a FROM item."""
    return exp.maybe_parse(sql, dialect=dialect).subquery("nsexp_source")


def aggregate_query(
    relation: Relation,
    metrics: list[Metric],
    backend: Backend,
    experiments: tuple[str, ...] = (),
    pairs: tuple[Pair, ...] = (),
) -> tuple[exp.Select, list[tuple[str, str]]]:
    """The one aggregation statement and its output columns as (name, polars type name);
    `pairs` (nsexp.io.cross) add each metric pair's cross sums to the same scan."""
    _require_caps(metrics, backend)
    keys, group_by, out = _keys(relation)
    select: list[exp.Expr] = [*keys, exp.alias_(exp.Count(this=exp.Star()), "units", copy=False)]
    out.append(("units", "int"))
    caps = {m.columns[0]: f"nsexp_cap_{i}" for i, m in enumerate(capped(metrics))}
    stats = [(m, s) for m in metrics for s in metric_stats(m, relation.kinds)]
    # shifted: every factor of a shifted sum but a proportion's (as nsexp.io.sums.pilots)
    centred = {
        c
        for _, s in stats
        if s.op in ("shift", "dev", "dev2", "dev3")
        for c in s.factors
        if c not in s.plain
    }
    pilots = {c: f"nsexp_p{i}" for i, c in enumerate(sorted(centred))}
    sums = _Sums(relation, caps, pilots)
    for metric, stat in stats:
        alias = f"{metric.id}__{stat.name}"
        select.append(exp.alias_(sums.stat(stat), alias, quoted=True, copy=False))
        out.append((alias, "int" if stat.op == "count" else "float"))
    for pair in pairs:
        for sql, alias, kind in sums.cross(pair):
            select.append(exp.alias_(sql, alias, quoted=True, copy=False))
            out.append((alias, kind))
    where = _where(relation, experiments)
    query = exp.select(*select).from_(relation.table(), copy=False)
    if pilots:
        query = query.with_("nsexp_pilot", as_=_pilot_cte(relation, where, pilots), copy=False)
        query = query.join(exp.to_table("nsexp_pilot"), join_type="cross", copy=False)
    if caps:
        query = query.with_(
            "nsexp_caps", as_=_caps_cte(relation, metrics, backend, where), copy=False
        )
        query = _join_caps(query, relation)
    if where is not None:
        query = query.where(where, copy=False)
    if group_by:
        query = query.group_by(*group_by, copy=False)
    return query, out


def aggregate_sql(
    relation: Relation,
    metrics: list[Metric],
    backend: Backend,
    experiments: tuple[str, ...] = (),
    pairs: tuple[Pair, ...] = (),
) -> tuple[str, list[tuple[str, str]]]:
    """`aggregate_query` printed in the backend's dialect."""
    query, out = aggregate_query(relation, metrics, backend, experiments, pairs)
    return query.sql(dialect=backend.dialect), out


def _require_caps(metrics: list[Metric], backend: Backend) -> None:
    """One clear message when the catalog caps a metric and the backend has no exact quantile."""
    wanted = capped(metrics)
    if wanted and backend.quantile is None:
        raise InputError(
            f"cap_quantile is not supported on {backend.name}",
            fix=f"drop cap_quantile from metric '{wanted[0].id}' in metrics.toml, cap the values "
            "in a view, or read the table with another engine (docs/warehouses.md lists them)",
        )


def _quantile(backend: Backend, q: float, value: exp.Expr) -> exp.Expr:
    """The backend's exact quantile with linear interpolation (Polars' `linear`, R-7)."""
    level = exp.Literal.number(repr(q))
    if backend.quantile == "percentile":
        return exp.Quantile(this=value, quantile=level)
    if backend.quantile == "clickhouse":
        return exp.ParameterizedAgg(
            this=exp.to_identifier("quantileExactInclusive"), expressions=[level], params=[value]
        )
    order = exp.Order(expressions=[exp.Ordered(this=value, nulls_first=False)])
    return exp.WithinGroup(this=exp.PercentileCont(this=level), expression=order)


def _caps_cte(
    relation: Relation, metrics: list[Metric], backend: Backend, where: exp.Expr | None
) -> exp.Select:
    """Each capped metric's quantile per experiment (pooled arms, linear interpolation)."""
    quantiles = [
        exp.alias_(
            _quantile(backend, m.cap_quantile or 1.0, _value(m.columns[0], relation, {})),
            f"nsexp_cap_{i}",
            copy=False,
        )
        for i, m in enumerate(capped(metrics))
    ]
    query = exp.select(
        exp.alias_(_experiment(relation), "nsexp_cap_experiment", copy=False), *quantiles
    ).from_(relation.table(), copy=False)
    if where is not None:
        query = query.where(where.copy(), copy=False)
    if "experiment" in relation.kinds:
        query = query.group_by(_experiment(relation), copy=False)
    return query


def _pilot_cte(relation: Relation, where: exp.Expr | None, pilots: dict[str, str]) -> exp.Select:
    """A one-row CTE with a pilot value per column to centre the sums on: any value of the
    column will do (the first the engine meets), 0 where it has none."""
    parts = []
    for column, name in pilots.items():
        condition = _not_null(relation.col(column))
        if where is not None:
            condition = exp.and_(condition, where.copy())
        first = (
            exp.select(_value(column, relation, {}))
            .from_(relation.table(), copy=False)
            .where(condition, copy=False)
        )
        value = exp.Coalesce(
            this=first.limit(1, copy=False).subquery(), expressions=[exp.Literal.number(0)]
        )
        parts.append(exp.alias_(value, name, copy=False))
    return exp.select(*parts)


def _join_caps(query: exp.Select, relation: Relation) -> exp.Select:
    if "experiment" not in relation.kinds:
        return query.join(exp.to_table("nsexp_caps"), join_type="cross", copy=False)
    on = exp.EQ(
        this=_experiment(relation), expression=exp.column("nsexp_cap_experiment", "nsexp_caps")
    )
    return query.join(exp.to_table("nsexp_caps"), on=on, copy=False)


def unit_counts_query(relation: Relation, experiments: tuple[str, ...] = ()) -> exp.Select:
    """Per experiment: rows and distinct unit ids. Equal counts mean no unit is on two rows, so
    none is in two arms either: only experiments with more rows need `unit_checks_query`."""
    unit = relation.col("unit_id")
    query = exp.select(
        exp.alias_(_experiment(relation), "nsexp_experiment", copy=False),
        exp.alias_(exp.Count(this=exp.Star()), "n_rows", copy=False),
        exp.alias_(exp.Count(this=exp.Distinct(expressions=[unit])), "n_units", copy=False),
    ).from_(relation.table(), copy=False)
    return _filtered(query, relation, experiments, [])


def unit_checks_query(relation: Relation, experiments: tuple[str, ...] = ()) -> exp.Select:
    """Per experiment: units seen in more than one variant, and units on more than one row (one
    group per unit: run it only over the experiments `unit_counts_query` flags)."""
    inner = exp.select(
        exp.alias_(_experiment(relation), "nsexp_experiment", copy=False),
        exp.alias_(
            exp.Count(this=exp.Distinct(expressions=[relation.col("variant")])),
            "n_variants",
            copy=False,
        ),
        exp.alias_(exp.Count(this=exp.Star()), "n_rows", copy=False),
    ).from_(relation.table(), copy=False)
    inner = _filtered(inner, relation, experiments, [relation.col("unit_id")])

    def flagged(column: str) -> exp.Expr:
        more = exp.GT(this=exp.column(column), expression=exp.Literal.number(1))
        return exp.Sum(
            this=exp.Case(
                ifs=[exp.If(this=more, true=exp.Literal.number(1))], default=exp.Literal.number(0)
            )
        )

    return (
        exp.select(
            "nsexp_experiment",
            exp.alias_(flagged("n_variants"), "crossed", copy=False),
            exp.alias_(flagged("n_rows"), "repeated", copy=False),
        )
        .from_(inner.subquery("per_unit"), copy=False)
        .group_by("nsexp_experiment", copy=False)
    )


def _filtered(
    query: exp.Select, relation: Relation, experiments: tuple[str, ...], group: list[exp.Expr]
) -> exp.Select:
    """The experiment filter, and a GROUP BY the experiment (where there is one) and `group`."""
    where = _where(relation, experiments)
    if where is not None:
        query = query.where(where, copy=False)
    keys = [_experiment(relation)] if "experiment" in relation.kinds else []
    return query.group_by(*keys, *group, copy=False) if keys or group else query


def _experiment(relation: Relation) -> exp.Expr:
    if "experiment" in relation.kinds:
        return exp.cast(relation.col("experiment"), "TEXT", copy=False)
    return exp.Literal.string(relation.default_experiment)


def _keys(relation: Relation) -> tuple[list[exp.Expr], list[exp.Expr], list]:
    variant = exp.cast(relation.col("variant"), "TEXT", copy=False)
    # output names no source column has: ClickHouse resolves a column name to a same-named
    # alias of the SELECT list, which would make CAST(experiment ...) AS experiment cyclic
    keys = [
        exp.alias_(_experiment(relation), "nsexp_experiment", copy=False),
        exp.alias_(variant, "nsexp_variant", copy=False),
    ]
    group: list[exp.Expr] = [variant.copy()]
    if "experiment" in relation.kinds:
        group.insert(0, _experiment(relation))
    out: list[tuple[str, str]] = [("experiment", "str"), ("variant", "str")]
    if "date" in relation.kinds:
        date: exp.Expr = relation.col("date")
        if relation.kinds["date"] != "date":
            date = exp.cast(date, "DATE", copy=False)
        keys.append(exp.alias_(date, "nsexp_date", copy=False))
        group.append(date.copy())
        out.append(("date", "date"))
    return keys, group, out


def _where(relation: Relation, experiments: tuple[str, ...]) -> exp.Expr | None:
    if not experiments:
        return None
    return _experiment(relation).isin(*experiments)


def _not_null(column: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=column, expression=exp.Null()))


def _value(column: str, relation: Relation, caps: dict[str, str]) -> exp.Expr:
    """A column as a double (a boolean through an integer), capped where the metric is."""
    col: exp.Expr = relation.col(column)
    if relation.kinds.get(column) == "boolean":
        col = exp.cast(col, "INT", copy=False)
    value: exp.Expr = exp.cast(col, "DOUBLE", copy=False)
    if column in caps:
        cap = exp.column(caps[column], "nsexp_caps")
        above = exp.GT(this=value.copy(), expression=cap.copy())
        value = exp.Case(ifs=[exp.If(this=above, true=cap)], default=value)
    return value


def _when(condition: exp.Expr, value: exp.Expr) -> exp.Case:
    """CASE WHEN condition THEN value END (NULL otherwise)."""
    return exp.Case(ifs=[exp.If(this=condition, true=value)])


def _product(values: list[exp.Expr]) -> exp.Expr:
    out = values[0]
    for value in values[1:]:
        out = exp.Mul(this=exp.Paren(this=out) if len(values) > 2 else out, expression=value)
    return out


@dataclass(frozen=True)
class _Sums:
    """Writes one metric's or pair's aggregates over the relation, with its caps and pilots."""

    relation: Relation
    caps: dict[str, str]
    pilots: dict[str, str]

    def _factor(self, column: str, zero: bool, centred: bool) -> exp.Expr:
        value = _value(column, self.relation, self.caps)
        if zero:
            value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])
        if centred and column in self.pilots:  # a proportion's part in a pair is not shifted
            pilot = exp.column(self.pilots[column], "nsexp_pilot")
            value = exp.Paren(this=exp.Sub(this=value, expression=pilot))
        return value

    def _condition(self, stat: Stat) -> exp.Expr:
        conditions = [_not_null(self.relation.col(c)) for c in stat.valid]
        conditions += [
            exp.Is(this=self.relation.col(c), expression=exp.Null()) for c in stat.absent
        ]
        return exp.and_(*conditions)

    def stat(self, stat: Stat) -> exp.Expr:
        """One Stat as an aggregate expression."""
        condition = self._condition(stat)
        count = exp.Count(this=_when(condition.copy(), exp.Literal.number(1)))
        if stat.op == "count":
            return count
        if stat.op == "shift":  # MIN of the one pilot: a valid aggregate
            pilot = exp.Min(this=exp.column(self.pilots[stat.factors[0]], "nsexp_pilot"))
            return _when(exp.GT(this=count, expression=exp.Literal.number(0)), pilot)
        centred = stat.op in ("dev", "dev2", "dev3")
        factors = [
            self._factor(c, c in stat.zero, centred and c not in stat.plain) for c in stat.factors
        ]
        if stat.op == "dev3":
            factors = factors * 3
        inner = _when(condition, _product(factors))
        if stat.op in ("min", "max"):
            return exp.Min(this=inner) if stat.op == "min" else exp.Max(this=inner)
        total = exp.Sum(this=inner)
        if stat.op in ("dev", "dev3"):  # NULL where the group has no values, like the pilot
            return _when(exp.GT(this=count, expression=exp.Literal.number(0)), total)
        return exp.Coalesce(this=total, expressions=[exp.Literal.number(0)])

    def cross(self, pair: Pair) -> list[tuple[exp.Expr, str, str]]:
        """(aggregate, alias, type) of a pair's count, part means (less the pilot) and, per part
        pair, the sums
        Σ dx, Σ dy and Σ dx·dy of pilot-shifted values (turned into covariances in Polars by
        `centred_wide`) over the units with both metrics present."""
        valid = exp.and_(*(_not_null(self.relation.col(c)) for c in pair.required))

        def part(p: Part, centred: bool) -> exp.Expr:
            return _when(valid.copy(), self._factor(p.column, p.zero, centred))

        def total(value: exp.Expr) -> exp.Expr:
            return exp.Coalesce(this=exp.Sum(this=value), expressions=[exp.Literal.number(0)])

        out: list[tuple[exp.Expr, str, str]] = []
        for alias, op, p, q in pair.stats():
            if op == "count":
                out.append(
                    (exp.Count(this=_when(valid.copy(), exp.Literal.number(1))), alias, "int")
                )
            elif op == "cov" and p is not None and q is not None:
                product = _when(
                    valid.copy(),
                    _product(
                        [self._factor(p.column, p.zero, True), self._factor(q.column, q.zero, True)]
                    ),
                )
                out += [
                    (total(part(p, True)), f"{alias}_x", "float"),
                    (total(part(q, True)), f"{alias}_y", "float"),
                    (total(product), f"{alias}_xy", "float"),
                ]
            else:
                one = p or q
                assert one is not None
                # about its pilot: the days combine by differences of means (cross_totals),
                # which a mean near 1e9 stored as one float would round away
                out.append((exp.Avg(this=part(one, True)), alias, "float"))
        return out


_PARTS = (
    ("", "dev_sum", "dev_sum_sq", "m2"),
    ("den_", "den_dev_sum", "den_dev_sum_sq", "den_m2"),
    ("cov_", "cov_dev_sum", "cov_dev_sum_sq", "cov_m2"),
)
_CROSS = (
    ("num_den_dev_sum", "dev_sum", "den_dev_sum", "num_den_m2"),
    ("num_cov_dev_sum", "dev_sum", "cov_dev_sum", "num_cov_m2"),
)


def centred_wide(
    wide: pl.DataFrame, metrics: list[Metric], pairs: tuple[Pair, ...] = ()
) -> pl.DataFrame:
    """The fetched sums as the wide frame nsexp.io.units builds: M2 = Σd² − (Σd)²/n and
    C = Σdxdy − ΣdxΣdy/n per metric, each pair's covariance C/n (null with no values)."""
    out: list[pl.Expr] = []
    drop: list[str] = []
    for metric in metrics:
        n = pl.col(f"{metric.id}__n").cast(pl.Float64)

        def c(name: str, mid: str = metric.id) -> pl.Expr:
            return pl.col(f"{mid}__{name}")

        for _, dev, sq, m2 in _PARTS:
            if f"{metric.id}__{sq}" in wide.columns:
                out.append(pl.when(n > 0).then(c(sq) - c(dev) ** 2 / n).alias(f"{metric.id}__{m2}"))
                drop.append(f"{metric.id}__{sq}")
        for cross, x, y, m2 in _CROSS:
            if f"{metric.id}__{cross}" in wide.columns:
                x = x if f"{metric.id}__{x}" in wide.columns else "sum"  # a proportion: plain
                out.append(
                    pl.when(n > 0).then(c(cross) - c(x) * c(y) / n).alias(f"{metric.id}__{m2}")
                )
                drop.append(f"{metric.id}__{cross}")
    for pair in pairs:
        n = pl.col(pair.alias("n")).cast(pl.Float64)
        for alias, op, _, _ in pair.stats():
            if op == "cov":
                sx, sy, sxy = (pl.col(f"{alias}{s}") for s in ("_x", "_y", "_xy"))
                out.append(pl.when(n > 0).then(sxy / n - (sx / n) * (sy / n)).alias(alias))
                drop += [f"{alias}{s}" for s in ("_x", "_y", "_xy")]
    return wide.with_columns(out).drop(drop)


__all__ = [
    "BACKENDS",
    "Backend",
    "ColumnKind",
    "Relation",
    "aggregate_query",
    "aggregate_sql",
    "centred_wide",
    "metric_stats",
    "subquery_of",
    "table_of",
    "unit_checks_query",
    "unit_counts_query",
]
