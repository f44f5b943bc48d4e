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

Columns of whole numbers are summed as integers, exact in any order (nsexp.io.whole).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import polars as pl

from nsexp.config.catalog import Metric
from nsexp.errors import InputError
from nsexp.io.cross import Pair, Part
from nsexp.io.whole import INT64, INT128, Pilots, as_whole, grid_scale, scale_misses, whole_type


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


def pilots(lazy: pl.LazyFrame, metrics: list[Metric], names: list[str]) -> Pilots:
    """A value near each mean, ratio-part and covariate column's typical one (the median of the
    finite values among the first 1,000 rows; 0 where there are none) to centre the sums on,
    rounded to a whole number for integer columns and to 10^-k for a float column whose first
    rows have at most k decimal places (its scale)."""
    columns = sorted(
        {c for m in metrics if m.type != "proportion" for c in m.columns}
        | {m.covariate for m in metrics if m.type != "ratio" and m.covariate in names}
    )
    if not columns:
        return Pilots({}, {}, {})
    schema = lazy.collect_schema()
    head = collect([lazy.head(1000).select(columns)], Path("."))[0]
    row = head.select(finite_value(c).median() for c in columns).row(0, named=True)
    pilot = {c: 0.0 if row[c] is None else float(row[c]) for c in columns}
    scales: dict[str, float] = {}
    spans: dict[str, float] = {}
    for c in columns:
        scale = 1.0 if whole_type(schema[c]) else grid_scale(head[c], pilot[c])
        if scale is None:
            continue
        pilot[c] = round(pilot[c] * scale) / scale
        scales |= {} if whole_type(schema[c]) else {c: scale}
        x = head[c].cast(pl.Float64)
        spans[c] = float(cast(float, ((x - pilot[c]) * scale).abs().max() or 0.0))
    return Pilots(pilot, scales, spans)


def capped(metrics: list[Metric]) -> bool:
    """Whether any metric is winsorised (its column changes before the sums)."""
    return any(m.cap_quantile is not None and m.type == "mean" for m in metrics)


_UNITS = ("units",)
_ZERO = "\x00zero"  # a covariate column with its gaps read as 0 (see SumsPlan._value)
_FROM_SUMS = ("from sums",)  # an integer proportion's min/max, derived in SumsPlan.finish


def _pair_columns(pair: Pair) -> dict[Part, str]:
    """Each part of a pair as the plan names its column (a covariate read with gaps as 0)."""
    return {p: p.column + (_ZERO if p.zero else "") for p in (*pair.parts, *pair.other_parts)}


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
    into `dev_sum` and `m2` in `finish`; a covariate enters them with its gaps as 0. Columns of
    whole numbers (`as_whole`) take ΣD, ΣD·E and ΣD³ instead, exact in any order, and M2 =
    (n·ΣD² − (ΣD)²)/n in 128-bit integers; `finish` checks the sums could not overflow and the
    float columns held decimals (`checks`), else the metric is aggregated again. 8-bit and
    boolean proportions are summed as integers (`_narrow`), and metric pairs' cross statistics
    come from the same kind of sums (`add_pair`, `cross`).
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
        self.scales: dict[str, float] = {}  # columns summed as whole numbers (`as_whole`)
        self.checks: dict[str, dict[str, int]] = {}  # per metric: those columns' highest power
        self.pairs: list[Pair] = []  # metric pairs whose cross statistics come from these sums

    def _whole(self, column: str) -> tuple[pl.Expr, float] | None:
        base = column.removesuffix(_ZERO)
        found = as_whole(base, self.schema, self.pilot, zero=column.endswith(_ZERO))
        if found is not None:
            self.scales[column] = found[1]
        return found

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
            if op in ("isum", "isq", "icube", "absmax", "ixy", "icount"):
                d = [self._exact_part(c) for c in key[1:]]
                # both factors cast, one cast each that the query shares (i128 * i64 casts again)
                w = [e.cast(pl.Int128) for e in d] if self._wide(key) else d
                expr = {
                    "isum": lambda: d[0].sum(),
                    "isq": lambda: (w[0] * w[-1]).sum(),
                    "icube": lambda: (w[0] * w[0] * w[0]).sum(),
                    "absmax": lambda: d[0].abs().max(),
                    "ixy": lambda: (d[0] * d[-1]).sum(),  # 64 bits, checked in `cross`
                    "icount": lambda: d[0].count(),
                }[op]()
            elif op == "misses":
                expr = scale_misses(key[1], self.pilot, self.pilot_scale(key[1]))
            elif op in ("dev", "cube", "var", "cov"):
                centred = [self._centred(c) for c in key[1:]]
                expr = {
                    "dev": lambda: centred[0].sum(),
                    "cube": lambda: (centred[0] ** 3).sum(),
                    "var": lambda: centred[0].var(ddof=0),
                    "cov": lambda: pl.cov(centred[0], centred[-1], ddof=0),
                }[op]()
            elif op == "count" and _ZERO not in key[1] and self._exact(key[1]):  # no cast
                expr = pl.col(key[1]).count()
            else:
                values = [self._value(c) for c in key[1:]]
                expr = values[0] if len(values) == 1 else values[0] * values[1]
                ops = {"count": expr.count, "sum": expr.sum, "min": expr.min, "max": expr.max}
                expr = ops[op]()
            self.exprs[key] = expr.alias(f"__nsexp_{len(self.exprs)}")
        return key

    def _wide(self, key: tuple[str, ...]) -> bool:
        """Whether the planned integer sum `key` is taken in 128 bits (see `Pilots.wide`)."""
        power = {"isq": 2, "icube": 3}.get(key[0], 1)
        spans = self.pilot if isinstance(self.pilot, Pilots) else Pilots({}, {}, {})
        return power > 1 and any(spans.wide(c.removesuffix(_ZERO), power) for c in key[1:])

    def _exact_part(self, column: str) -> pl.Expr:
        found = self._whole(column)
        assert found is not None  # planned only for such columns
        return found[0]

    def pilot_scale(self, column: str) -> float:
        """The scale of a float column summed as whole numbers (see `Pilots`)."""
        return cast(Pilots, self.pilot).scales[column]

    def _exact(self, column: str) -> bool:
        """Integer and boolean columns: whole numbers, never NaN or infinite."""
        return whole_type(self.schema[column])

    def _finite(self, *columns: str, op: str = "sum") -> list[tuple[str, ...]]:
        """The sums (or deviation sums) that are finite only if the columns hold no NaN or
        infinite cell (a decimal column's check covers them: see `_fate`)."""
        return [
            self._agg(op, c)
            for c in columns
            if not self._exact(c.removesuffix(_ZERO)) and (op == "sum" or self._whole(c) is None)
        ]

    def _moments(
        self, prefix: str, x: str, y: str | None = None, cube: bool = False
    ) -> dict[str, tuple[str, ...]]:
        """The mean and M2 of x (and its co-moment with y, named `prefix`; with `cube`, its
        Σ(x − pilot)³) as planned keys, or as `@` keys `_column` derives from exact sums."""
        a = self._agg
        exact = self._whole(x) is not None and (y is None or self._whole(y) is not None)
        if exact:  # the sums `_from_whole` derives the statistics from
            for c in (x,) if y is None else (x, y):
                a("isum", c), a("absmax", c)
            a("isq", x, x if y is None else y)
            if cube:
                a("icube", x)
        if y is not None:
            return {prefix: ("@co", x, y) if exact else a("cov", x, y)}
        out = {
            f"{prefix}shift": ("pilot", x),
            f"{prefix}dev_sum": ("@dev", x) if exact else a("dev", x),
            f"{prefix}m2": ("@co", x, x) if exact else a("var", x),
        }
        if cube:
            out[f"{prefix}dev_sum_cu"] = ("@cube", x) if exact else a("cube", x)
        return out

    def _checks(self, stats: dict[str, tuple[str, ...]]) -> dict[str, int]:
        """The columns whose whole-number sums the statistics rest on, each with the highest
        power summed (ΣD: 1, ΣD·E: 2, ΣD³: 3), for `_fate` to bound."""
        power = {"@dev": 1, "@co": 2, "@cube": 3}
        out: dict[str, int] = {}
        for key in stats.values():
            for c in key[1:] if key[0] in power else ():
                out[c] = max(out.get(c, 0), power[key[0]])
        for c in out:
            if not self._exact(c.removesuffix(_ZERO)):  # a decimal float column
                self._agg("misses", c.removesuffix(_ZERO))
        return out

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
            self.checks[metric.id] = self._checks(stats)
            self.finite[metric.id] = self._finite(num, den, op="dev")
            return
        x = metric.columns[0]
        stats = {"n": a("count", x)}
        if metric.type == "proportion":
            if self._narrow(x) is not None and round(self.pilot.get(x, 0.0)) == 0:
                stats |= {"sum": a("isum", x), "sum_sq": a("isq", x, x)}  # whole: see _narrow
            else:
                stats |= {"sum": a("sum", x), "sum_sq": a("sum", x, x)}
            exact = self._exact(x)  # min and max from the sums: see _zero_one
            stats |= {"min": _FROM_SUMS, "max": _FROM_SUMS} if exact else {}
            stats |= {} if exact else {"min": a("min", x), "max": a("max", x)}
            finite = self._finite(x)
        else:
            stats |= moments("", x, cube=True)
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
        self.checks[metric.id] = self._checks(stats)
        self.whole[metric.id] = whole
        self.finite[metric.id] = finite

    def add_pair(self, pair: Pair) -> bool:
        """Plan a metric pair's cross statistics (nsexp.io.cross) as plain 64-bit sums beside
        the metrics' own: ΣD, ΣE and ΣD·E of its parts' whole numbers, with max|D| and the
        rows with a value, which `cross` checks. cross_aggs' masked 128-bit sums cost four
        times as much. False where a part is not whole numbers: the pair keeps cross_aggs."""
        columns = _pair_columns(pair)
        if any(self._whole(c) is None for c in columns.values()):
            return False
        for column in columns.values():
            self._agg("isum", column)
            if self._narrow(column) is None:  # else its type bounds it
                self._agg("absmax", column)
        for p in pair.parts:
            for q in pair.other_parts:
                self._agg("ixy", columns[p], columns[q])
        for column in pair.required:
            for key in self._present(column):
                self._agg(*key)
        self.pairs.append(pair)
        return True

    def cross(self, wide: pl.DataFrame) -> tuple[pl.DataFrame, list[Pair]]:
        """The planned pairs' columns as cross_aggs names them, from the plain sums, where every
        row has each required part (so the masks select every row) and rows · max|D| · max|E|
        stays within 64 bits (no partial sum overflows, in any order): the same integers,
        combined the same way, so the same figures to the bit. The other pairs are returned,
        for cross_query to aggregate again with the masks."""
        col = {key: e.meta.output_name() for key, e in self.exprs.items()}
        units = wide["units"]
        rows = units.cast(pl.Float64)

        def top(column: str) -> pl.Series | float:
            narrow = self._narrow(column)
            if narrow is not None:
                return narrow
            return wide[col[("absmax", column)]].cast(pl.Float64).fill_null(0.0)

        done: list[pl.Expr] = []
        redo: list[Pair] = []
        for pair in self.pairs:
            name = _pair_columns(pair)
            present = [k for c in pair.required for k in self._present(c)]
            whole = all((wide[col[k]] == (0 if k[0] == "misses" else units)).all() for k in present)
            fits = all((rows * top(c) < INT64).all() for c in name.values()) and all(
                (rows * top(name[p]) * top(name[q]) < INT64).all()
                for p in pair.parts
                for q in pair.other_parts
            )
            if not (whole and fits):
                redo.append(pair)
                continue
            n = pl.col("units")
            for alias, op, p, q in pair.stats(means=False):
                if op == "count":
                    done.append(n.cast(pl.Int64).alias(alias))
                    continue
                assert p is not None and q is not None  # one row per arm: only covariances
                x, y = name[p], name[q]
                d, e, de = (
                    pl.col(col[k]).cast(pl.Int128)
                    for k in (("isum", x), ("isum", y), self._agg("ixy", x, y))
                )
                cov = (n.cast(pl.Int128) * de - d * e).cast(pl.Float64) / n / n
                done.append(
                    pl.when(n > 0).then(cov / (self.scales[x] * self.scales[y])).alias(alias)
                )
        return wide.select("experiment", "variant", *done), redo

    def _narrow(self, column: str) -> float | None:
        """The largest |D| of an 8-bit integer or boolean column (its type bounds it: no pass
        for max|D|, and rows · |D|² < 2**62 for any file under 2**46 rows), else None."""
        base = column.removesuffix(_ZERO)
        if self.schema[base] not in (pl.Int8, pl.UInt8, pl.Boolean):
            return None
        return 255.0 + abs(round(self.pilot.get(base, 0.0)))

    def _present(self, column: str) -> list[tuple[str, ...]]:
        """Sums that show every row holds a value of a pair's part: its count equals the units
        (integers are never NaN) and, for a decimal float column whose scan counts the values
        off its grid (NaN and infinite ones among them), none missed; else as many whole numbers
        D as units."""
        if self._exact(column):
            return [("count", column)]
        if ("misses", column) in self.exprs:
            return [("count", column), ("misses", column)]
        return [("icount", column)]

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

    def _from_whole(self, key: tuple[str, ...], n: pl.Expr, col: dict) -> pl.Expr:
        """Σ(x − pilot), Σ(x − pilot)³ or the co-moment Σ(x − x̄)(y − ȳ) from the exact sums of
        whole numbers D (x = D/scale + pilot): the co-moment as (n·ΣDE − ΣD·ΣE)/n, its numerator
        in 128-bit integers, so the one rounding is the last division."""
        op, x, y = key[0], key[1], key[-1]
        sx, sy = self.scales[x], self.scales[y]
        if op == "@dev":
            return pl.col(col[("isum", x)]).cast(pl.Float64) / sx
        if op == "@cube":
            return pl.col(col[("icube", x)]).cast(pl.Float64) / sx**3
        exact = [pl.col(col[k]).cast(pl.Int128) for k in (("isum", x), ("isum", y))]
        top = n.cast(pl.Int128) * pl.col(col[self._agg("isq", x, y)]).cast(pl.Int128)
        return (top - exact[0] * exact[1]).cast(pl.Float64) / n / (sx * sy)

    def _fate(
        self, metric: Metric, wide: pl.DataFrame, col: dict
    ) -> Literal["ok", "patch", "redo"]:
        """`ok` where the unmasked sums hold for the metric, `patch` for a ratio of integer
        parts with gaps (see `patch_ratios`), else `redo` (aggregate again with the masks)."""
        units = wide["units"]
        whole = all((wide[col[k]] == units).all() for k in self.whole[metric.id])
        finite = all(wide[col[k]].is_finite().all() for k in self.finite[metric.id])
        finite = finite and self._exact_sums(metric, wide, col)
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
        if key[0].startswith("@"):
            return pl.when(n > 0).then(self._from_whole(key, n, col)).alias(name)
        total = pl.col(col[key])
        if stat == "cov_missing":
            return (pl.col("units") - total).cast(pl.UInt32).alias(name)
        if key[0] == "count":
            return total.cast(pl.UInt32).alias(name)
        if key[0] in ("dev", "cube"):
            return pl.when(n > 0).then(total).alias(name)
        if key[0] in ("var", "cov"):
            return (total * n).alias(name)
        if key[0] in ("isum", "isq"):  # a proportion's sums (exact: the floats' to the bit)
            return total.cast(pl.Float64).alias(name)
        return total.alias(name)

    def _exact_sums(self, metric: Metric, wide: pl.DataFrame, col: dict) -> bool:
        """Whether the integer sums are exact: a float column held only whole numbers of its
        scale (no NaN or infinite cell either), and rows · max|D|^p stays within the bits each
        power was summed in (`_wide`): no partial sum overflows, in any order."""
        units = wide["units"].cast(pl.Float64)
        for column, power in self.checks[metric.id].items():
            base = column.removesuffix(_ZERO)
            if ("misses", base) in self.exprs and (wide[col[("misses", base)]] > 0).any():
                return False
            top = wide[col[("absmax", column)]].cast(pl.Float64).fill_null(0.0)
            for p, op in ((1, "isum"), (2, "isq"), (3, "icube"))[:power]:
                bits128 = self._wide((op, column))  # with a wider column: wider still
                if not (units * top**p < (INT128 if bits128 else INT64)).all():
                    return False
        return True

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
