"""The sums planner: which aggregations a unit-level file's metrics need, computed in one pass.

nsexp.io.units reads and checks the file; this module decides the Polars aggregations (each
distinct one once, unmasked where the data allows: `SumsPlan`); nsexp.io.masked holds the masked
fallback (`masked_query`) and the patch for ratio parts with gaps (`patch_ratios`).

Besides the raw sums of the file contract, every mean, ratio and CUPED column gets its mean and
its sums around a pilot value per column (`pilots`: a value from the file's first rows):
`shift` = the pilot, `dev_sum` = Σ(y − pilot), and M2 = Σ(y − ȳ)² = n · var₀(y − pilot) from
Polars' own stable variance (co-moments from its covariance), so a large mean against a small
spread (revenue in cents, timestamps, durations in ms) loses no digits to Σy² − (Σy)²/n.
nsexp.io.units turns them into the summary's shifted sums.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from nsexp.config.catalog import Metric
from nsexp.errors import InputError


def collect(queries: list[pl.LazyFrame], path: Path) -> list[pl.DataFrame]:
    """Run the queries in one streaming pass; a Polars error becomes the file's InputError."""
    try:
        return pl.collect_all(queries, engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"cannot aggregate the file ({str(exc).splitlines()[0]})",
            file=path,
            fix="check the date and metric columns hold dates and numbers",
        ) from exc


def pilots(lazy: pl.LazyFrame, metrics: list[Metric], names: list[str]) -> dict[str, float]:
    """A value near each mean, ratio-part and covariate column's typical one (the median of the
    finite values among the first 1,000 rows; 0 where there are none) to centre the sums on."""
    columns = sorted(
        {c for m in metrics if m.type != "proportion" for c in m.columns}
        | {m.covariate for m in metrics if m.type != "ratio" and m.covariate in names}
    )
    if not columns:
        return {}
    head = lazy.head(1000).select(finite_value(c).median().alias(c) for c in columns)
    row = collect([head], Path("."))[0].row(0, named=True)
    return {c: 0.0 if row[c] is None else float(row[c]) for c in columns}


def centred(name: str, x: pl.Expr, pilot: float, n: pl.Expr, cube: bool = False) -> list[pl.Expr]:
    """`<name>shift` (the pilot), `<name>dev_sum` = Σ(x − pilot) and `<name>m2` = Σ(x − x̄)²
    over the n values x holds (null where there are none); with `cube`, also
    `<name>dev_sum_cu` = Σ(x − pilot)³ (a mean metric's skewness)."""
    d = x - pilot
    out = [
        pl.when(n > 0).then(pl.lit(pilot, pl.Float64)).alias(f"{name}shift"),
        pl.when(n > 0).then(d.sum()).alias(f"{name}dev_sum"),
        (d.var(ddof=0) * n).alias(f"{name}m2"),
    ]
    return [*out, pl.when(n > 0).then((d**3).sum()).alias(f"{name}dev_sum_cu")] if cube else out


def co_moment(name: str, x: pl.Expr, px: float, y: pl.Expr, py: float, n: pl.Expr) -> pl.Expr:
    """Σ(x − x̄)(y − ȳ) over the rows where both have a value (n of them)."""
    return (pl.cov(x - px, y - py, ddof=0) * n).alias(name)


def capped(metrics: list[Metric]) -> bool:
    """Whether any metric is winsorised (its column changes before the sums)."""
    return any(m.cap_quantile is not None and m.type == "mean" for m in metrics)


_UNITS = ("units",)
_ZERO = "\x00zero"  # a covariate column with its gaps read as 0 (see SumsPlan._value)
_FROM_SUMS = ("from sums",)  # an integer proportion's min/max, derived in SumsPlan.finish


def _if_any(n: pl.Expr, value: pl.Expr, name: str) -> pl.Expr:
    """`value` where the group has values, else null (like min/max of no values)."""
    return pl.when(n > 0).then(value).otherwise(None).cast(pl.Float64).alias(name)


class SumsPlan:
    """The sufficient statistics as plain per-column aggregations, each computed once.

    The masks of `_metric_aggs` (NaN and infinite cells count as missing; a ratio counts rows
    with both parts) cost about a quarter of the query's CPU time. Unmasked sums give the same
    numbers whenever a column has no such cells, which the query itself shows: a float column's
    sum is finite only if every cell is, and a column's count equals the rows only if it has no
    nulls. Integer and boolean columns are always finite, and a Float64 column is not cast; an
    integer proportion needs no min/max pass when its sums show only 0s and 1s (`_zero_one`).
    `finish` names the metrics whose assumptions the data broke: a ratio of integer parts with
    missing parts is patched by `patch_ratios`, any other is aggregated again with the masks.
    The shifted sums are Σ(y − pilot), var₀ and cov₀ of the pilot-centred columns, turned
    into `dev_sum` and `m2` in `finish`; a covariate enters them with its gaps as 0.
    """

    def __init__(self, schema: pl.Schema, pilot: dict[str, float]) -> None:
        """Plan over the scan's schema, shifting each column by its pilot value."""
        self.schema = schema
        self.pilot = pilot
        self.exprs: dict[tuple[str, ...], pl.Expr] = {}
        self.stats: dict[str, dict[str, tuple[str, ...]]] = {}
        self.whole: dict[str, list[tuple[str, ...]]] = {}  # counts that must equal the units
        self.finite: dict[str, list[tuple[str, ...]]] = {}  # sums that must be finite
        self.raw: dict[str, list[str]] = {}  # parts whose raw sums follow from the shifted ones

    def _value(self, column: str) -> pl.Expr:
        base = column.removesuffix(_ZERO)
        dtype = self.schema[base]
        x = pl.col(base) if dtype == pl.Float64 else pl.col(base).cast(pl.Float64)
        return x.fill_null(0.0) if column.endswith(_ZERO) else x

    def _centred(self, column: str) -> pl.Expr:
        return self._value(column) - self.pilot[column.removesuffix(_ZERO)]

    def _agg(self, op: str, *columns: str) -> tuple[str, ...]:
        key = (op, *sorted(columns))
        if key not in self.exprs:
            if op in ("dev", "cube", "var", "cov"):
                centred = [self._centred(c) for c in key[1:]]
                expr = {
                    "dev": lambda: centred[0].sum(),
                    "cube": lambda: (centred[0] ** 3).sum(),
                    "var": lambda: centred[0].var(ddof=0),
                    "cov": lambda: pl.cov(centred[0], centred[-1], ddof=0),
                }[op]()
            else:
                values = [self._value(c) for c in key[1:]]
                expr = values[0] if len(values) == 1 else values[0] * values[1]
                ops = {"count": expr.count, "sum": expr.sum, "min": expr.min, "max": expr.max}
                expr = ops[op]()
            self.exprs[key] = expr.alias(f"__nsexp_{len(self.exprs)}")
        return key

    def _exact(self, column: str) -> bool:
        """Integer and boolean columns: whole numbers, never NaN or infinite."""
        return self.schema[column].is_integer() or self.schema[column] == pl.Boolean

    def _finite(self, *columns: str, op: str = "sum") -> list[tuple[str, ...]]:
        """The sums (or deviation sums) that are finite only if the columns hold no NaN or
        infinite cell."""
        return [self._agg(op, c) for c in columns if not self._exact(c.removesuffix(_ZERO))]

    def _moments(self, prefix: str, x: str, y: str | None = None) -> dict[str, tuple[str, ...]]:
        """The mean and M2 of x (and its co-moment with y, named `prefix`) as planned keys."""
        a = self._agg
        if y is not None:
            return {prefix: a("cov", x, y)}
        return {
            f"{prefix}shift": ("pilot", x),
            f"{prefix}dev_sum": a("dev", x),
            f"{prefix}m2": a("var", x),
        }

    def add(self, metric: Metric, names: list[str]) -> None:
        """Plan one metric's statistics (and its CUPED sums when the covariate is there)."""
        a, moments = self._agg, self._moments
        if metric.type == "ratio":
            num, den = metric.numerator or "", metric.denominator or ""
            stats = {
                "n": _UNITS,  # every row has both parts (checked in finish)
                **moments("", num),
                **moments("den_", den),
                **moments("num_den_m2", num, den),
            }
            if self._exact(num) and self._exact(den):  # the raw sums, exact: see patch_ratios
                stats |= {
                    "sum": a("sum", num),
                    "sum_sq": a("sum", num, num),
                    "den_sum": a("sum", den),
                    "den_sum_sq": a("sum", den, den),
                    "num_den_sum": a("sum", num, den),
                }
            else:  # the raw sums follow from the shifted ones (finish): no aggregation
                self.raw[metric.id] = ["", "den_"]
            self.whole[metric.id] = [a("count", num), a("count", den)]
            self.stats[metric.id] = stats
            self.finite[metric.id] = self._finite(num, den, op="dev")
            return
        x = metric.columns[0]
        stats = {"n": a("count", x)}
        if metric.type == "proportion":
            stats |= {"sum": a("sum", x), "sum_sq": a("sum", x, x)}
            exact = self._exact(x)  # min and max from the sums: see _zero_one
            stats |= {"min": _FROM_SUMS, "max": _FROM_SUMS} if exact else {}
            stats |= {} if exact else {"min": a("min", x), "max": a("max", x)}
            finite = self._finite(x)
        else:
            stats |= moments("", x) | {"dev_sum_cu": a("cube", x)}
            self.raw[metric.id] = [""]
            finite = self._finite(x, op="dev")
        whole: list[tuple[str, ...]] = []
        cov = metric.covariate
        if metric.type != "ratio" and cov is not None and cov in names:
            if x not in self.pilot:  # a proportion's values need no centring: 0 will do
                self.pilot[x] = 0.0
            stats |= {
                "cov_missing": a("count", cov),  # turned into units - count in finish
                **moments("cov_", cov + _ZERO),
                **moments("num_cov_m2", x, cov + _ZERO),
            }
            self.raw[metric.id] = [*self.raw.get(metric.id, []), "cov_"]
            whole = [a("count", x)]  # the covariate sums run over units with a metric value
            finite += self._finite(cov + _ZERO, op="dev")
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
        ratios whose sums still count rows missing a part (see `patch_ratios`)."""
        col = {key: e.meta.output_name() for key, e in self.exprs.items()} | {_UNITS: "units"}
        redo, patch, out = [], [], []
        for metric in metrics:
            fate = self._fate(metric, wide, col)
            if fate == "redo":
                redo.append(metric)
                continue
            if fate == "patch":
                patch.append(metric)
            stats = self.stats[metric.id]
            n = pl.col(col[stats["n"]]).cast(pl.Float64)
            out += [self._column(metric.id, s, k, n, col) for s, k in stats.items()]
        keep = [c for c in wide.columns if not c.startswith("__nsexp_")]
        wide = wide.select(*keep, *out)
        done = [m for m in metrics if m not in redo]
        return (
            wide.with_columns(*(e for m in done for e in _raw_sums(m.id, self.raw.get(m.id, [])))),
            redo,
            patch,
        )

    def _fate(
        self, metric: Metric, wide: pl.DataFrame, col: dict
    ) -> Literal["ok", "patch", "redo"]:
        """`ok` where the unmasked sums hold for the metric, `patch` for a ratio of integer
        parts with gaps (see `patch_ratios`), else `redo` (aggregate again with the masks)."""
        units = wide["units"]
        whole = all((wide[col[k]] == units).all() for k in self.whole[metric.id])
        finite = all(wide[col[k]].is_finite().all() for k in self.finite[metric.id])
        stats = self.stats[metric.id]
        zero_one = "min" not in stats or stats["min"] != _FROM_SUMS
        if not zero_one:  # an integer proportion: are all its values 0 or 1?
            zero_one = self._zero_one(wide, col[stats["sum"]], col[stats["sum_sq"]])
        if whole and finite and zero_one:
            return "ok"
        if finite and zero_one and self._patchable(metric, wide, col):
            return "patch"
        return "redo"

    def _column(self, mid: str, stat: str, key: tuple[str, ...], n: pl.Expr, col: dict) -> pl.Expr:
        """One statistic under its name, from the planned aggregation `key` (n: the metric's)."""
        name = f"{mid}__{stat}"
        if key == _FROM_SUMS:  # an integer proportion's min and max, from n and its sum
            total = pl.col(col[self.stats[mid]["sum"]])
            if stat == "min":
                return _if_any(n, pl.when(total < n).then(0.0).otherwise(1.0), name)
            return _if_any(n, pl.when(total > 0).then(1.0).otherwise(0.0), name)
        if key[0] == "pilot":
            pilot = self.pilot[key[1].removesuffix(_ZERO)]
            return pl.when(n > 0).then(pl.lit(pilot, pl.Float64)).alias(name)
        total = pl.col(col[key])
        if stat == "cov_missing":
            return (pl.col("units") - total).cast(pl.UInt32).alias(name)
        if key[0] == "count":
            return total.cast(pl.UInt32).alias(name)
        if key[0] in ("dev", "cube"):
            return pl.when(n > 0).then(total).alias(name)
        if key[0] in ("var", "cov"):
            return (total * n).alias(name)
        return total.alias(name)

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


_RAW = {"": ("sum", "sum_sq"), "den_": ("den_sum", "den_sum_sq"), "cov_": ("cov_sum", "cov_sum_sq")}
_CROSS = {"den_": ("num_den_sum", "num_den_m2"), "cov_": ("num_cov_sum", "num_cov_m2")}


def _raw_sums(mid: str, parts: list[str]) -> list[pl.Expr]:
    """The file contract's raw sums of the parts the plan did not aggregate, from the shifted
    ones: Σx = n·pilot + Σ(x − pilot), Σx² = M2 + (Σx)²/n, Σxy = C + ΣxΣy/n (0 with no
    values, as a sum of none)."""
    n = pl.col(f"{mid}__n").cast(pl.Float64)
    total = {
        p: pl.when(n > 0)
        .then(n * pl.col(f"{mid}__{p}shift") + pl.col(f"{mid}__{p}dev_sum"))
        .otherwise(0.0)
        for p in parts
    }
    out = []
    for p in parts:
        raw, raw_sq = _RAW[p]
        square = pl.when(n > 0).then(pl.col(f"{mid}__{p}m2") + total[p] ** 2 / n).otherwise(0.0)
        out += [total[p].alias(f"{mid}__{raw}"), square.alias(f"{mid}__{raw_sq}")]
    for p in parts:
        if p in _CROSS:
            raw, moment = _CROSS[p]
            x = total[""] if "" in total else pl.col(f"{mid}__sum")
            cross = pl.col(f"{mid}__{moment}") + x * total[p] / n
            out.append(pl.when(n > 0).then(cross).otherwise(0.0).alias(f"{mid}__{raw}"))
    return out


def finite_value(column: str) -> pl.Expr:
    """A metric column as floats; NaN and infinite cells count as missing, like empty ones."""
    x = pl.col(column).cast(pl.Float64)
    return pl.when(x.is_finite()).then(x)
