"""The summary query for a catalog, written without a connection (`nsexp sql`).

Without the table at hand the column kinds are assumed from the catalog: a proportion's column
is cast through an integer (a boolean or 0/1 numbers), every other metric column is a number,
the date is cast to a date.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlglot import exp

from nsexp.config.catalog import COLUMN_KEYS, Catalog, Metric, load_catalog
from nsexp.config.source import load_source
from nsexp.errors import InputError
from nsexp.io.cross import CROSS_DEV_SUMS, Pair, cross_pairs
from nsexp.io.engines.sql import (
    BACKENDS,
    Backend,
    ColumnKind,
    Relation,
    aggregate_query,
    metric_stats,
    subquery_of,
    table_of,
)
from nsexp.io.moments import SHIFTED
from nsexp.io.schema import SUMS


def catalog_query(root: Path, engine: str, table: str | None, dates: bool) -> str:
    """The summary query for the data directory `root` (its metrics.toml and source.toml)."""
    catalog_path = root / "metrics.toml"
    if not catalog_path.is_file():
        raise InputError(
            "no metrics.toml here", file=root, fix="point nsexp sql at a data directory"
        )
    catalog = load_catalog(catalog_path)
    backend = BACKENDS[engine]
    config = load_source(root)
    columns = dict(config.columns) if config else {}
    names = {k: columns.get(k, catalog.column(k)) for k in COLUMN_KEYS}
    kinds: dict[str, ColumnKind] = {"experiment": "text", "variant": "text"}
    if dates:
        kinds["date"] = "timestamp"
    metrics = list(catalog.metrics.values())
    for metric in metrics:
        for column in metric.columns:
            kinds[column] = "boolean" if metric.type == "proportion" else "numeric"
        if metric.covariate is not None and metric.type != "ratio":
            kinds.setdefault(metric.covariate, "numeric")
    source: exp.Expr
    if table is not None:
        source = table_of(table)
    elif config is not None and config.query is not None:
        source = subquery_of(config.query, backend.dialect)
    else:
        source = table_of(config.table if config and config.table else "events")
    relation = Relation(source, kinds, names)
    experiments = config.experiments if config else ()
    pairs = summary_pairs(catalog, metrics, list(kinds))
    query = summary_query(relation, metrics, backend, experiments, pairs)
    return query.sql(dialect=backend.dialect, pretty=True)


# The summary file's columns a warehouse query returns: its sums and their shifted forms.
SUMMARY_SUMS = (*SUMS, *SHIFTED)


_PROPORTION = {"dev_sum": "sum", "dev_sum_sq": "sum_sq", "dev_sum_cu": "sum"}


def summary_pairs(catalog: Catalog, metrics: list[Metric], names: list[str]) -> tuple[Pair, ...]:
    """The metric pairs whose cross sums a summary row can carry (nsexp.io.cross
    CROSS_DEV_SUMS): each mean or proportion metric's value with its parent's and the North
    Star's, not a ratio's parts nor a covariate's."""
    ratios = {m.id for m in metrics if m.type == "ratio"}
    return tuple(
        replace(p, parts=p.parts[:1], other_parts=p.other_parts[:1])
        for p in cross_pairs(catalog, metrics, names)
        if not {p.metric, p.other} & ratios
    )


def summary_query(
    relation: Relation,
    metrics: list[Metric],
    backend: Backend,
    experiments: tuple[str, ...] = (),
    pairs: tuple[Pair, ...] = (),
) -> exp.Query:
    """The aggregation as the long rows of a summary file (experiment, variant, [date], metric,
    n and the sums), one SELECT per metric over the aggregate, UNION ALL: what `nsexp sql`
    prints for a data team to schedule. Sums a metric has not are NULL; so are `pairs`' cross
    sums (summary_pairs) where the two metrics were not measured on the same units."""
    wide, _ = aggregate_query(relation, metrics, backend, experiments, pairs)
    ns = next((m.id for m in metrics if m.role == "north_star"), None)
    found: dict[tuple[str, str | None], Pair] = {(p.metric, p.other): p for p in pairs}
    ctes = wide.args.get("with_")
    wide.set("with_", None)
    keys = [("nsexp_experiment", "experiment"), ("nsexp_variant", "variant")]
    if "date" in relation.kinds:
        keys.append(("nsexp_date", "date"))
    selects = []
    for metric in metrics:
        have = {s.name for s in metric_stats(metric, relation.kinds)}
        columns = [exp.alias_(exp.column(a), b, copy=False) for a, b in keys]
        columns += [
            exp.alias_(exp.Literal.string(metric.id), "metric", copy=False),
            exp.alias_(exp.column(f"{metric.id}__n", quoted=True), "n", copy=False),
        ]
        # a proportion's 0/1 values: its sums are its shifted sums about 0 (Σx³ = Σx)
        proportion = metric.type == "proportion"
        alias = _PROPORTION if proportion else {}
        for name in SUMMARY_SUMS:
            value: exp.Expr = exp.cast(exp.Null(), "DOUBLE", copy=False)
            if name in have or name in alias:
                value = exp.column(f"{metric.id}__{alias.get(name, name)}", quoted=True)
            elif name == "shift" and proportion:
                value = exp.cast(exp.Literal.number(0), "DOUBLE", copy=False)
            columns.append(exp.alias_(value, name, copy=False))
        partners = (ns, metric.parent if metric.parent != ns else None)
        for name, other in zip(CROSS_DEV_SUMS, partners, strict=True):
            columns.append(exp.alias_(_cross_sum(found.get((metric.id, other))), name, copy=False))
        selects.append(exp.select(*columns).from_("nsexp_wide", copy=False))
    query: exp.Query = selects[0]
    for select in selects[1:]:
        query = exp.union(query, select, distinct=False)
    if ctes is not None:
        for cte in ctes.expressions:
            query = query.with_(cte.alias, as_=cte.this, copy=False)
    return query.with_("nsexp_wide", as_=wide, copy=False)


def _cross_sum(pair: Pair | None) -> exp.Expr:
    """A pair's Σ(x − a)(y − b) where its units are both metrics' units (equal counts), else
    NULL: over other units the summary's means would not match it."""
    if pair is None:
        return exp.cast(exp.Null(), "DOUBLE", copy=False)
    n = exp.column(pair.alias("n"), quoted=True)
    same = exp.and_(
        exp.EQ(this=n, expression=exp.column(f"{pair.metric}__n", quoted=True)),
        exp.EQ(this=n.copy(), expression=exp.column(f"{pair.other}__n", quoted=True)),
    )
    total = exp.column(pair.alias("c00_xy"), quoted=True)
    return exp.Case(ifs=[exp.If(this=same, true=total)])
