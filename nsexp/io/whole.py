"""Whole-number sums: exact integer moments about each column's pilot (nsexp.io.sums picks it).

Polars adds a group's rows in whatever order its threads finish, and float addition depends on
the order, so float sums differ in the last digits from run to run and with the thread count.
Integer sums are exact in any order: integer and boolean columns, and float columns whose
values are decimals of at most _DECIMALS places (money, durations: what files hold) or lie on
one binary grid (doubles within a few binades, such as 1e9 ± 1), are summed as integers
D = round((x − pilot)·scale) about a pilot on the grid (in 64 bits, or 128 where needed),
and their moments follow exactly (`Pilots`, `as_whole`). The scan checks its own assumptions
(rows · max|D|^p within the integers, every value on the grid); a column that breaks them is
summed again (nsexp.io.masked), as accurately but not reproducibly.
"""

from __future__ import annotations

import math
from typing import NamedTuple, cast

import polars as pl


class Pilots(dict[str, float]):
    """Each centred column's pilot; the scale of the float columns whose first rows are whole
    numbers of 1/scale from it (see `as_whole`); and the largest such |D| there (`spans`), which
    says whether a power of D is summed in 64 bits or in 128 (`wide`)."""

    def __init__(
        self, pilot: dict[str, float], scales: dict[str, float], spans: dict[str, float]
    ) -> None:
        """The pilots (on their scale's grid), the scales and the first rows' largest |D|."""
        super().__init__(pilot)
        self.scales = scales
        self.spans = spans

    def wide(self, column: str, power: int) -> bool:
        """Whether ΣD^power needs 128 bits: the first rows' largest |D| times 4, to that power,
        times 2**32 rows would not fit in 64 (the scan checks what it assumed: SumsPlan.finish
        in nsexp.io.sums); 64-bit sums cost half as much."""
        return (4 * self.spans.get(column, 0.0)) ** power * 2.0**32 >= INT64


_DECIMALS = 6  # a float column with at most this many decimal places is summed as integers
_SPREAD = 1024  # ... where its values' spread is at least 1/_SPREAD of their size
EXACT = 2.0**53  # whole numbers below this are exact in float64
INT64, INT128 = 2.0**62, 2.0**126  # bounds (with room for rounding) of the integer sums


def whole_type(dtype: pl.DataType) -> bool:
    """Integer and boolean columns: whole numbers, never NaN or infinite."""
    return dtype.is_integer() or dtype == pl.Boolean


_MAX_EXPONENT = 1023  # the largest power of two a double holds


def grid_scale(values: pl.Series, pilot: float) -> float | None:
    """The scale s that makes every finite value x a whole number of 1/s away from the pilot,
    or None: the least 10^k (k <= _DECIMALS) where the values are decimals of k places and spread
    at least 1/_SPREAD of their size (reading x as that decimal moves it by half an ulp, nothing
    beside such a spread), else 2^m where they are multiples of 2^-m (doubles within a few
    binades, such as 1e9 ± 1: their differences are exact)."""
    x = values.cast(pl.Float64).filter(values.cast(pl.Float64).is_finite())
    if x.is_empty():
        return None
    top, spread = cast(float, x.abs().max()), cast(float, x.std(ddof=0) or 0.0)
    decimal = [10.0**k for k in range(_DECIMALS + 1)] if top <= _SPREAD * spread else []
    least = cast(float, x.filter(x != 0).abs().min() or 1.0)
    exponent = 52 - math.floor(math.log2(least))  # past 2^1023 (subnormal values): no grid
    binary = [2.0**exponent] if exponent <= _MAX_EXPONENT else []
    # a huge pilot on a fine grid has no whole numbers; the rest are tried in one query
    scales = [s for s in (*decimal, *binary) if math.isfinite(pilot * s)]
    if not scales:
        return None
    misses = x.to_frame().select(
        _misses(pl.col(x.name), round(pilot * s) / s, s).alias(str(i)) for i, s in enumerate(scales)
    )
    return next((s for s, m in zip(scales, misses.row(0), strict=True) if m == 0), None)


def _misses(x: pl.Expr, pilot: float, scale: float) -> pl.Expr:
    """How many values are not a whole number of 1/scale from the pilot: (x − pilot)·scale
    within a few ulps of (|x| + |pilot|)·scale (the rounding of a decimal's binary form; exact
    on a binary grid), and never a quarter, of a whole number below 2**53 (a value with more
    digits misses by far more); NaN and infinite values miss too."""
    scaled = (x - pilot) * scale
    tolerance = pl.min_horizontal((x.abs() + abs(pilot)) * scale * 2.0**-50, pl.lit(0.25))
    close = (scaled - scaled.round()).abs() <= tolerance
    return (close & (scaled.abs() < EXACT)).not_().sum()


def as_whole(
    column: str, schema: pl.Schema, pilot: dict[str, float], zero: bool = False
) -> tuple[pl.Expr, float] | None:
    """A column as the 64-bit integers D = round(x·scale) − round(pilot·scale) and its scale,
    for integer and boolean columns (scale 1) and decimal float columns, else None; with
    `zero`, a missing value counts as 0 (a CUPED covariate)."""
    if whole_type(schema[column]):
        scale = 1.0
    elif isinstance(pilot, Pilots) and column in pilot.scales:
        scale = pilot.scales[column]
    else:
        return None
    x = pl.col(column)
    x = x.fill_null(0) if zero else x
    if whole_type(schema[column]):
        shift = round(pilot.get(column, 0.0))
        whole = x.cast(pl.Int64, strict=False)
        return (whole - shift if shift else whole), scale  # no pass subtracting 0
    whole = ((x.cast(pl.Float64) - pilot.get(column, 0.0)) * scale).round()  # see scale_misses
    return whole.cast(pl.Int64, strict=False), scale


def scale_misses(column: str, pilot: dict[str, float], scale: float) -> pl.Expr:
    """How many of the column's values `as_whole` cannot read exactly (it assumes none)."""
    return _misses(pl.col(column).cast(pl.Float64), pilot[column], scale)


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


class Whole(NamedTuple):
    """A masked column's whole numbers D (null where the value is), their scale, the float
    values they stand for and its pilot (see `as_whole`)."""

    d: pl.Expr
    scale: float
    x: pl.Expr
    pilot: float


def whole_centred(
    name: str, w: Whole, pilot: float, n: pl.Expr, cube: bool = False
) -> list[pl.Expr]:
    """`centred`'s statistics from integer sums of D (exact in any order, the M2 numerator
    n·ΣD² − (ΣD)² in 128 bits) where the group allows it (its values all decimals of the scale,
    rows · max|D|^p within 128 bits), else `centred`'s own."""
    plain = centred(name, w.x, pilot, n, cube)
    d = w.d.cast(pl.Int128)
    total = d.sum()
    exact = [
        plain[0],
        pl.when(n > 0).then(total.cast(pl.Float64) / w.scale),
        (n.cast(pl.Int128) * (d * d).sum() - total * total).cast(pl.Float64) / n / w.scale**2,
        pl.when(n > 0).then(d.pow(3).sum().cast(pl.Float64) / w.scale**3),
    ]
    ok = _fits(n, [w, w, w] if cube else [w, w])
    return [
        pl.when(ok).then(e).otherwise(f).alias(f.meta.output_name())
        for e, f in zip(exact[: len(plain)], plain, strict=True)
    ]


def whole_co_moment(name: str, v: Whole, px: float, w: Whole, py: float, n: pl.Expr) -> pl.Expr:
    """`co_moment` as (n·ΣDE − ΣD·ΣE)/n in 128-bit integers where the group allows it (see
    `whole_centred`), else `co_moment`'s own."""
    d, e = v.d.cast(pl.Int128), w.d.cast(pl.Int128)
    top = n.cast(pl.Int128) * (d * e).sum() - d.sum() * e.sum()
    exact = top.cast(pl.Float64) / n / (v.scale * w.scale)
    plain = co_moment(name, v.x, px, w.x, py, n)
    return pl.when(_fits(n, [v, w])).then(exact).otherwise(plain).alias(name)


def _fits(n: pl.Expr, parts: list[Whole]) -> pl.Expr:
    """Whether a group's integer sums of the product of `parts` cannot overflow 128 bits, and
    every value of each is a decimal of its scale."""
    top = n.cast(pl.Float64)
    for part in parts:
        top = top * part.d.abs().max().cast(pl.Float64)
    ok = top.fill_null(0.0) < INT128
    for part in {id(p): p for p in parts}.values():
        ok = ok & (_misses(part.x, part.pilot, part.scale) == 0)
    return ok
