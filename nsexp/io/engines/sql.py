"""The aggregation contract as portable SQL, generated once from the metric catalog.

Every engine runs the same statement: COUNT, SUM and SUM of products per experiment, variant
[and date], returning the "wide" frame that nsexp.io.units builds in Polars (one row per group,
`<metric>__n`, `<metric>__sum`, ... columns). Dialects differ only in identifier quoting and
type names. Means and centred moments (nsexp.io.moments) come from the values centred on a
pilot per column (the first value the table holds, a one-row CTE `nsexp_pilot`): mean =
pilot + AVG(x − pilot) and M2 = VAR_POP(x − pilot) · COUNT(x), co-moments by COVAR_POP. DuckDB
(Welford), PostgreSQL (Youngs–Cramer, since 12) and Spark (central-moment updates) compute
VAR_POP and COVAR_POP without Σx² − (Σx)²/n, and the pilot keeps AVG's sum small.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from nsexp.config.catalog import Metric
from nsexp.io.cross import Pair, Part

ColumnKind = Literal["numeric", "boolean", "text", "date", "timestamp", "other"]
StatOp = Literal["count", "sum", "min", "max", "shift", "dev", "m2"]


@dataclass(frozen=True)
class Dialect:
    """What differs between engines: identifier quotes and the names of three types."""

    name: str
    quote: str = '"'
    double: str = "DOUBLE PRECISION"
    text: str = "VARCHAR"
    integer: str = "INTEGER"

    def ident(self, name: str) -> str:
        """A quoted identifier (embedded quotes doubled)."""
        q = self.quote
        return f"{q}{name.replace(q, q + q)}{q}"

    def table(self, name: str) -> str:
        """A possibly schema-qualified table name, each part quoted."""
        return ".".join(self.ident(part) for part in name.split("."))


DUCKDB = Dialect("duckdb", double="DOUBLE")
POSTGRES = Dialect("postgres", double="DOUBLE PRECISION", text="TEXT")
SPARK = Dialect("spark", quote="`", double="DOUBLE", text="STRING", integer="INT")


@dataclass(frozen=True)
class Stat:
    """One aggregate of a metric: `op` over the product of `factors`, on rows where every `valid`
    column has a value and every `absent` column has none; `zero` columns count missing as 0.
    `shift` is its one factor's pilot, `dev` the sum of the factor's deviations from it and
    `m2` the centred moment of its two factors (Σ(x − x̄)² or Σ(x − x̄)(y − ȳ))."""

    name: str
    op: StatOp
    factors: tuple[str, ...]
    valid: tuple[str, ...]
    zero: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


def metric_stats(metric: Metric, columns: Collection[str] = ()) -> list[Stat]:
    """The sufficient statistics a metric needs, named as nsexp.io.units names them.

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
            Stat("num_den_m2", "m2", (num, den), valid),
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
        stats += _shifted_stats("", x, (x,))
    cov = metric.covariate
    if cov is not None and cov in columns:
        stats += [
            Stat("cov_sum", "sum", (cov,), (x,), zero=(cov,)),
            Stat("cov_sum_sq", "sum", (cov, cov), (x,), zero=(cov,)),
            Stat("num_cov_sum", "sum", (x, cov), (x,), zero=(cov,)),
            Stat("cov_missing", "count", (), (x,), absent=(cov,)),
            *_shifted_stats("cov_", cov, (x,), zero=(cov,)),
            Stat("num_cov_m2", "m2", (x, cov), (x,), zero=(cov,)),
        ]
    return stats


def _shifted_stats(
    prefix: str, column: str, valid: tuple[str, ...], zero: tuple[str, ...] = ()
) -> list[Stat]:
    """A column's pilot, its sum of deviations from it, and its M2 (see nsexp.io.sums)."""
    return [
        Stat(f"{prefix}shift", "shift", (column,), valid, zero=zero),
        Stat(f"{prefix}dev_sum", "dev", (column,), valid, zero=zero),
        Stat(f"{prefix}m2", "m2", (column, column), valid, zero=zero),
    ]


def capped(metrics: list[Metric]) -> list[Metric]:
    """Mean metrics winsorised at their experiment's cap_quantile (as nsexp.io.units does)."""
    return [m for m in metrics if m.type == "mean" and m.cap_quantile is not None]


@dataclass(frozen=True)
class Relation:
    """A table to aggregate: its SQL name and its columns (ours, after mapping) by kind."""

    sql: str
    kinds: dict[str, ColumnKind]
    names: dict[str, str]
    default_experiment: str = ""

    def source_name(self, column: str) -> str:
        """The source's own name for one of our column names."""
        return self.names.get(column, column)


def aggregate_sql(
    relation: Relation,
    metrics: list[Metric],
    dialect: Dialect,
    experiments: tuple[str, ...] = (),
    pairs: tuple[Pair, ...] = (),
) -> tuple[str, list[tuple[str, str]]]:
    """The one aggregation statement and its output columns as (name, polars type name);
    `pairs` (nsexp.io.cross) add each metric pair's cross statistics to the same scan."""
    keys, group_by, out = _keys(relation, dialect)
    select = [*keys, "COUNT(*) AS units"]
    out.append(("units", "int"))
    caps = {m.columns[0]: f"nsexp_cap_{i}" for i, m in enumerate(capped(metrics))}
    stats = [(m, s) for m in metrics for s in metric_stats(m, relation.kinds)]
    centred = sorted({c for _, s in stats if s.op in ("shift", "dev", "m2") for c in s.factors})
    pilots = {c: f"nsexp_pilot.nsexp_p{i}" for i, c in enumerate(centred)}
    for metric, stat in stats:
        alias = f"{metric.id}__{stat.name}"
        sql = _stat_sql(stat, relation, dialect, caps, pilots)
        select.append(f"{sql} AS {dialect.ident(alias)}")
        out.append((alias, "int" if stat.op == "count" else "float"))
    for pair in pairs:
        for sql, alias, kind in _cross_sql(pair, relation, dialect, caps):
            select.append(f"{sql} AS {dialect.ident(alias)}")
            out.append((alias, kind))
    where = _where(relation, dialect, experiments)
    sql = f"SELECT {', '.join(select)} FROM {relation.sql}"
    ctes = []
    if caps:
        ctes.append(_caps_cte(relation, metrics, dialect, where))
        sql += _join_caps(relation, dialect)
    if pilots:
        ctes.append(_pilot_cte(relation, dialect, where, centred))
        sql += " CROSS JOIN nsexp_pilot"
    if ctes:
        sql = f"WITH {', '.join(ctes)} {sql}"
    sql += where
    if group_by:
        sql += f" GROUP BY {', '.join(group_by)}"
    return sql, out


def _caps_cte(relation: Relation, metrics: list[Metric], dialect: Dialect, where: str) -> str:
    """A CTE with each capped metric's quantile per experiment (pooled arms, linear)."""
    experiment = _experiment(relation, dialect)
    quantiles = [
        f"PERCENTILE_CONT({m.cap_quantile!r}) WITHIN GROUP (ORDER BY "
        f"{_value(m.columns[0], relation, dialect, {})}) AS nsexp_cap_{i}"
        for i, m in enumerate(capped(metrics))
    ]
    group = f" GROUP BY {experiment}" if "experiment" in relation.kinds else ""
    return (
        f"nsexp_caps AS (SELECT {experiment} AS nsexp_cap_experiment, "
        f"{', '.join(quantiles)} FROM {relation.sql}{where}{group})"
    )


def _pilot_cte(relation: Relation, dialect: Dialect, where: str, columns: list[str]) -> str:
    """A one-row CTE with a pilot value per column to centre the moments on: any value of the
    column will do (the first the engine meets), 0 where it has none."""
    parts = []
    for i, column in enumerate(columns):
        col = dialect.ident(relation.source_name(column))
        value = _value(column, relation, dialect, {})
        condition = f"{col} IS NOT NULL" + (
            f" AND {where.removeprefix(' WHERE ')}" if where else ""
        )
        first = f"(SELECT {value} FROM {relation.sql} WHERE {condition} LIMIT 1)"
        parts.append(f"COALESCE({first}, 0) AS nsexp_p{i}")
    return f"nsexp_pilot AS (SELECT {', '.join(parts)})"


def _join_caps(relation: Relation, dialect: Dialect) -> str:
    if "experiment" not in relation.kinds:
        return " CROSS JOIN nsexp_caps"
    experiment = _experiment(relation, dialect)
    return f" JOIN nsexp_caps ON {experiment} = nsexp_caps.nsexp_cap_experiment"


def unit_counts_sql(relation: Relation, dialect: Dialect, experiments: tuple[str, ...] = ()) -> str:
    """Per experiment: rows and distinct unit ids. Equal counts mean no unit is on two rows, so
    none is in two arms either: only experiments with more rows need `unit_checks_sql`."""
    experiment = _experiment(relation, dialect)
    unit = dialect.ident(relation.source_name("unit_id"))
    group = f" GROUP BY {experiment}" if "experiment" in relation.kinds else ""
    return (
        f"SELECT {experiment} AS experiment, COUNT(*) AS n_rows, COUNT(DISTINCT {unit}) AS n_units "
        f"FROM {relation.sql}{_where(relation, dialect, experiments)}{group}"
    )


def unit_checks_sql(relation: Relation, dialect: Dialect, experiments: tuple[str, ...] = ()) -> str:
    """Per experiment: units seen in more than one variant, and units on more than one row (one
    group per unit: run it only over the experiments `unit_counts_sql` flags)."""
    experiment = _experiment(relation, dialect)
    unit = dialect.ident(relation.source_name("unit_id"))
    variant = dialect.ident(relation.source_name("variant"))
    group = [unit] if "experiment" not in relation.kinds else [experiment, unit]
    inner = (
        f"SELECT {experiment} AS experiment, COUNT(DISTINCT {variant}) AS n_variants, "
        f"COUNT(*) AS n_rows FROM {relation.sql}{_where(relation, dialect, experiments)} "
        f"GROUP BY {', '.join(group)}"
    )
    return (
        "SELECT experiment, SUM(CASE WHEN n_variants > 1 THEN 1 ELSE 0 END) AS crossed, "
        "SUM(CASE WHEN n_rows > 1 THEN 1 ELSE 0 END) AS repeated "
        f"FROM ({inner}) per_unit GROUP BY experiment"
    )


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _experiment(relation: Relation, dialect: Dialect) -> str:
    if "experiment" in relation.kinds:
        col = dialect.ident(relation.source_name("experiment"))
        return f"CAST({col} AS {dialect.text})"
    return literal(relation.default_experiment)


def _keys(relation: Relation, dialect: Dialect) -> tuple[list[str], list[str], list]:
    experiment = _experiment(relation, dialect)
    variant = f"CAST({dialect.ident(relation.source_name('variant'))} AS {dialect.text})"
    keys = [f"{experiment} AS experiment", f"{variant} AS variant"]
    group = [variant] if "experiment" not in relation.kinds else [experiment, variant]
    out: list[tuple[str, str]] = [("experiment", "str"), ("variant", "str")]
    if "date" in relation.kinds:
        date = dialect.ident(relation.source_name("date"))
        if relation.kinds["date"] != "date":
            date = f"CAST({date} AS DATE)"
        keys.append(f"{date} AS {dialect.ident('date')}")
        group.append(date)
        out.append(("date", "date"))
    return keys, group, out


def _where(relation: Relation, dialect: Dialect, experiments: tuple[str, ...]) -> str:
    if not experiments:
        return ""
    values = ", ".join(literal(e) for e in experiments)
    return f" WHERE {_experiment(relation, dialect)} IN ({values})"


def _value(column: str, relation: Relation, dialect: Dialect, caps: dict[str, str]) -> str:
    col = dialect.ident(relation.source_name(column))
    if relation.kinds.get(column) == "boolean":
        col = f"CAST({col} AS {dialect.integer})"
    value = f"CAST({col} AS {dialect.double})"
    if column in caps:
        cap = f"nsexp_caps.{caps[column]}"
        value = f"CASE WHEN {value} > {cap} THEN {cap} ELSE {value} END"
    return value


def _stat_sql(
    stat: Stat,
    relation: Relation,
    dialect: Dialect,
    caps: dict[str, str],
    pilots: dict[str, str] | None = None,
) -> str:
    def ident(c: str) -> str:
        return dialect.ident(relation.source_name(c))

    if stat.op in ("shift", "dev", "m2"):
        return _moment_sql(stat, relation, dialect, caps, pilots or {})

    conditions = [f"{ident(c)} IS NOT NULL" for c in stat.valid]
    conditions += [f"{ident(c)} IS NULL" for c in stat.absent]
    condition = " AND ".join(conditions)
    if stat.op == "count":
        if len(conditions) == 1 and stat.valid:
            return f"COUNT({ident(stat.valid[0])})"
        return f"COUNT(CASE WHEN {condition} THEN 1 END)"
    factors = []
    for c in stat.factors:
        value = _value(c, relation, dialect, caps)
        factors.append(f"COALESCE({value}, 0)" if c in stat.zero else value)
    product = " * ".join(factors)
    if len(stat.valid) > 1 or stat.zero or set(stat.factors) != set(stat.valid):
        product = f"CASE WHEN {condition} THEN {product} END"
    if stat.op == "sum":
        return f"COALESCE(SUM({product}), 0)"
    return f"{stat.op.upper()}({product})"


def _cross_sql(
    pair: Pair, relation: Relation, dialect: Dialect, caps: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(SQL, alias, type) of a pair's count, part means and COVAR_POP co-variances over the units
    with both metrics present: the engine's covariance aggregate updates running means, so large
    means do not cancel (DuckDB, PostgreSQL and Spark all compute it that way)."""
    valid = " AND ".join(
        f"{dialect.ident(relation.source_name(c))} IS NOT NULL" for c in pair.required
    )

    def part(p: Part) -> str:
        value = _value(p.column, relation, dialect, caps)
        return f"CASE WHEN {valid} THEN {f'COALESCE({value}, 0)' if p.zero else value} END"

    out = []
    for alias, op, p, q in pair.stats():
        if op == "count":
            out.append((f"COUNT(CASE WHEN {valid} THEN 1 END)", alias, "int"))
        elif op == "cov" and p is not None and q is not None:
            out.append((f"COVAR_POP({part(p)}, {part(q)})", alias, "float"))
        else:
            out.append((f"AVG({part(p or q)})", alias, "float"))  # type: ignore[arg-type]
    return out


def _moment_sql(
    stat: Stat, relation: Relation, dialect: Dialect, caps: dict[str, str], pilots: dict[str, str]
) -> str:
    """The pilot, SUM(x − pilot), or VAR_POP / COVAR_POP of the centred values times their
    count, over the stat's rows (NULL where there are none)."""
    ident = [dialect.ident(relation.source_name(c)) for c in stat.valid]
    condition = " AND ".join(f"{c} IS NOT NULL" for c in ident)
    centred = []
    for c in stat.factors:
        value = _value(c, relation, dialect, caps)
        value = f"COALESCE({value}, 0)" if c in stat.zero else value
        centred.append(f"CASE WHEN {condition} THEN {value} - {pilots[c]} END")
    count = f"COUNT(CASE WHEN {condition} THEN 1 END)"
    pilot = f"MIN({pilots[stat.factors[0]]})"  # MIN of the one pilot: a valid aggregate
    if stat.op == "shift":
        return f"CASE WHEN {count} > 0 THEN {pilot} END"
    if stat.op == "dev":
        return f"SUM({centred[0]})"
    if stat.factors[0] == stat.factors[1]:
        return f"(VAR_POP({centred[0]}) * {count})"
    return f"(COVAR_POP({centred[0]}, {centred[1]}) * {count})"
