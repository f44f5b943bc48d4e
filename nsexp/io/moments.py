"""Shifted sums in the summary table: sums of deviations from a shift, never Σy² − (Σy)²/n alone.

Beside the raw sums of the file contract (`sum`, `sum_sq`, ...), every summary row carries each
metric's sums around a shift s: `dev_sum` = Σ(y − s), `dev_sum_sq` = Σ(y − s)², and likewise
for a ratio's denominator (`den_*`) and a CUPED covariate (`cov_*`), with the cross sums of
deviations `num_den_dev_sum` and `num_cov_dev_sum`. The mean is s + Σ(y − s)/n and
M2 = Σ(y − ȳ)² = Σ(y − s)² − (Σ(y − s))²/n, which keeps its digits when s lies near the mean:
the readers give s = the row's own mean and Σ(y − s)² = M2 from a stable aggregate (so
Σ(y − s) = 0), rows are moved to a common shift exactly before they are added
(`recentred`: Σ(y − t) = Σ(y − s) + n(s − t), Σ(y − t)² = Σ(y − s)² + 2(s − t)Σ(y − s) +
n(s − t)²), and then totals, running totals and differences of running totals are plain sums,
as exact as the raw ones (Chan, Golub & LeVeque 1979, in the updating form).

Where a reader has nothing but raw sums (plain sum/sum_sq summary rows), `derive` takes s = the
row's mean and Σ(y − s)² = Σy² − (Σy)²/n, and marks the part `from_raw_sums`: that subtraction
may lose every digit, and the statistics bound its rounding error from the raw sums
(nsexp.stats.arms.rounding_error), so that a readout can refuse a variance the input could not
hold instead of printing p = 0.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.io.order import KeyOrder, key_order

# Each part: (raw sum, raw sum of squares, shift, Σ(y − s), Σ(y − s)²).
PARTS = {
    "": ("sum", "sum_sq", "shift", "dev_sum", "dev_sum_sq"),
    "den_": ("den_sum", "den_sum_sq", "den_shift", "den_dev_sum", "den_dev_sum_sq"),
    "cov_": ("cov_sum", "cov_sum_sq", "cov_shift", "cov_dev_sum", "cov_dev_sum_sq"),
}
# Each cross sum of deviations: its two parts and the raw cross sum.
CROSS = {
    "num_den_dev_sum": ("", "den_", "num_den_sum"),
    "num_cov_dev_sum": ("", "cov_", "num_cov_sum"),
}
# The third power about the shift, Σ(y − s)³, of the metric's own part only: the skewness of a
# mean metric's arms (nsexp.stats.skew). Optional: engines without it leave it null.
CUBE = "dev_sum_cu"
SHIFTED = (*(c for p in PARTS.values() for c in p[2:]), *CROSS, CUBE)
_SHIFTS = tuple(p[2] for p in PARTS.values())
# Per part: were its shifted sums (and its cross sum with the numerator) derived from raw sums?
FLAGS = {"": "from_raw_sums", "den_": "den_from_raw_sums", "cov_": "cov_from_raw_sums"}


def derive(lazy: pl.LazyFrame) -> pl.LazyFrame:
    """Fill the shifted sums a reader left null from its raw sums (shift = the row's mean), and
    mark such parts `from_raw_sums` (`den_…`, `cov_…`; a cross sum counts with its second part)."""
    n = pl.col("n").cast(pl.Float64)
    fill: list[pl.Expr] = []
    derived: dict[str, list[pl.Expr]] = {p: [] for p in PARTS}
    for part, (raw, raw_sq, shift, dev, dev_sq) in PARTS.items():
        missing = pl.col(shift).is_null() & pl.col(raw).is_not_null() & (n > 0)
        m2 = pl.col(raw_sq) - pl.col(raw) ** 2 / n
        fill += [
            pl.when(missing).then(pl.col(raw) / n).otherwise(pl.col(shift)).alias(shift),
            pl.when(missing).then(0.0).otherwise(pl.col(dev)).alias(dev),
            pl.when(missing)
            .then(pl.when(m2 < 0).then(0.0).otherwise(m2))  # rounding can make it negative
            .otherwise(pl.col(dev_sq))
            .alias(dev_sq),
        ]
        derived[part].append(missing)
    for cross, (x, y, raw_cross) in CROSS.items():
        sx, sy = pl.col(PARTS[x][0]), pl.col(PARTS[y][0])
        missing = pl.col(cross).is_null() & pl.col(raw_cross).is_not_null() & (n > 0)
        value = pl.col(raw_cross) - sx * sy / n
        fill.append(pl.when(missing).then(value).otherwise(pl.col(cross)).alias(cross))
        derived[y].append(missing)
    flags = [
        pl.any_horizontal(pl.col(flag).fill_null(False), *derived[p]).alias(flag)
        for p, flag in FLAGS.items()
    ]
    return lazy.with_columns(*fill, *flags)


def cube_from_raw(n: pl.Expr, total: pl.Expr, squares: pl.Expr, cubes: pl.Expr) -> pl.Expr:
    """Σ(y − ȳ)³ = Σy³ − 3ȳΣy² + 2nȳ³ from raw sums, about the mean (the shift `derive` gives
    raw-sum rows): it may lose digits like Σy² − (Σy)²/n, but only a skewness rests on it."""
    mean = total / n
    return cubes - 3 * mean * squares + 2 * n * mean**3


def _m2(part: str) -> pl.Expr:
    """Σ(y − ȳ)² of a part from its shifted sums."""
    _, _, _, dev, dev_sq = PARTS[part]
    return pl.col(dev_sq) - pl.col(dev) ** 2 / pl.col("n").cast(pl.Float64)


def recentred(target: dict[str, pl.Expr]) -> dict[str, pl.Expr]:
    """Every shifted sum moved to the shift `target[part]` (an expression), exactly:
    Σ(y − t) = S₁ + nδ, Σ(y − t)² = S₂ + 2δS₁ + nδ², Σ(x − t)(y − u) = Sₓᵧ + δᵧSₓ + δₓSᵧ +
    nδₓδᵧ with δ = s − t. Rows without a part keep nulls."""
    n = pl.col("n").cast(pl.Float64)
    delta = {p: pl.col(PARTS[p][2]) - target[p] for p in PARTS}
    out: dict[str, pl.Expr] = {}
    for p, (_, _, shift, dev, dev_sq) in PARTS.items():
        d = delta[p]
        out[shift] = pl.when(pl.col(shift).is_not_null()).then(target[p])
        out[dev] = pl.col(dev) + n * d
        out[dev_sq] = pl.col(dev_sq) + 2 * d * pl.col(dev) + n * d * d
    d, (_, _, _, dev, dev_sq) = delta[""], PARTS[""]
    # Σ(y − t)³ = S₃ + 3δS₂ + 3δ²S₁ + nδ³
    out[CUBE] = pl.col(CUBE) + 3 * d * pl.col(dev_sq) + 3 * d * d * pl.col(dev) + n * d**3
    for cross, (x, y, _) in CROSS.items():
        dx, dy = delta[x], delta[y]
        sx, sy = pl.col(PARTS[x][3]), pl.col(PARTS[y][3])
        out[cross] = pl.col(cross) + dy * sx + dx * sy + n * dx * dy
    return out


def _first_shift(part: str) -> pl.Expr:
    return pl.col(PARTS[part][2]).drop_nulls().first()


def merged(
    frame: pl.LazyFrame, keys: list[str], sums: tuple[str, ...] = (), found: KeyOrder | None = None
) -> pl.LazyFrame:
    """One row per `keys` group: every row's shifted sums moved to the group's mean shift (each
    row's shift is near its mean, so theirs is too), then added; `sums` (n, raw sums) added as
    they are. A column no row of a group has stays null there. The rows are added in their
    given order (`ordered_sums`), so the same rows give the same bits at any thread count.
    `found`: the rows' key_order by `keys` where the caller has it."""
    rows = frame.collect()
    found = key_order(rows, keys) if found is None else found  # stable: a group's rows keep
    # their given order
    if found is None:
        rows = rows.sort(keys, maintain_order=True)
        starts = group_starts(rows, keys)
    else:  # rows already in order (KeyOrder.stored) are not copied
        in_order = bool((found.order[1:] > found.order[:-1]).all())
        rows, starts = rows if in_order else rows[found.order], found.starts(len(keys))
    sizes = np.diff(np.append(starts, rows.height))
    targets = {p: f"__target_{i}" for i, p in enumerate(PARTS)}
    shifts = ordered_sums(rows, starts, [PARTS[p][2] for p in PARTS])
    means = {}
    for p, t in targets.items():
        total, count = shifts[PARTS[p][2]], shifts[f"__count_{PARTS[p][2]}"]
        means[t] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    rows = rows.with_columns(pl.Series(t, np.repeat(m, sizes)) for t, m in means.items())
    moved = recentred({p: pl.col(t) for p, t in targets.items()})
    rows = rows.with_columns(e.alias(c) for c, e in moved.items())
    added = [*sums, *(c for c in SHIFTED if c not in _SHIFTS)]
    flags = list(FLAGS.values())
    totals = ordered_sums(rows.with_columns(pl.col(flags).cast(pl.Int64)), starts, [*added, *flags])
    return (
        rows[starts]
        .select(*keys, *_SHIFTS)
        .with_columns(
            *(pl.Series(c, totals[c]) for c in added),
            *(pl.Series(f, totals[f] > 0) for f in flags),
        )
        .with_columns(
            pl.when(pl.Series(totals[f"__count_{c}"]) > 0).then(pl.col(c)).alias(c) for c in added
        )
        .lazy()
    )


def group_starts(rows: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """Where each run of equal `keys` starts in rows sorted by them."""
    new = pl.any_horizontal(pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys)
    flags = rows.select(new.fill_null(True)).to_series().to_numpy()
    flags[:1] = True
    return np.flatnonzero(flags)


def ordered_sums(rows: pl.DataFrame, starts: np.ndarray, columns: list[str]) -> dict:
    """Each column's sum per group of consecutive rows (from `starts`), its values added in row
    order (numpy's reduceat: one thread, one order), and `__count_<column>` its non-null
    values. Polars adds a group's rows in whatever order its threads finish, so float sums
    would differ in the last digits from run to run. A column with no nulls counts its
    groups' sizes, one with only nulls zeros (no whole-column masks and casts: a 420,000-row
    portfolio has 24 of the one kind and 19 of the other, a ratio metric's or covariate's sums
    where it has none)."""
    out = {}
    sizes = np.diff(starts, append=rows.height).astype(np.int64)
    for c in columns:
        column = rows[c]
        nulls = column.null_count()
        if nulls and nulls == rows.height:
            out[c] = np.zeros(starts.size, column[:0].fill_null(0).to_numpy().dtype)
            out[f"__count_{c}"] = np.zeros(starts.size, np.int64)
            continue
        values = column.fill_null(0).to_numpy()
        with np.errstate(invalid="ignore", over="ignore"):  # as Polars: inf − inf is NaN,
            # found and named by the summary's checks, not printed as a numpy warning
            out[c] = np.add.reduceat(values, starts) if rows.height else values[:0]
        if not nulls:
            out[f"__count_{c}"] = sizes
            continue
        present = column.is_not_null().to_numpy().astype(np.int64)
        out[f"__count_{c}"] = np.add.reduceat(present, starts)
    return out


def null_columns(frame: pl.DataFrame) -> set[str]:
    """The frame's columns with only nulls (every column of a frame with no rows)."""
    return {
        c
        for c, k in zip(frame.columns, frame.null_count().row(0), strict=True)
        if k == frame.height
    }


def _on_first_shift(frame: pl.DataFrame, over: list[str]) -> pl.DataFrame:
    """Every row's shifted sums moved to its series' first shift (rows in date order)."""
    targets = {p: f"__target_{i}" for i, p in enumerate(PARTS)}
    frame = frame.with_columns(_first_shift(p).over(over).alias(t) for p, t in targets.items())
    moved = recentred({p: pl.col(t) for p, t in targets.items()})
    return frame.with_columns(e.alias(c) for c, e in moved.items()).drop(targets.values())


def running(frame: pl.DataFrame, over: list[str]) -> pl.DataFrame:
    """Running totals of the shifted sums per `over` series (rows in date order), each row
    moved to its series' first shift first. `n` and the raw sums are the caller's. A column
    with only nulls stays as it is (its running total is null everywhere)."""
    frame = _on_first_shift(frame, over)
    out, empty = [], null_columns(frame)
    for column in (c for c in SHIFTED if c not in _SHIFTS and c not in empty):
        seen = pl.col(column).is_not_null().any().over(over)
        total = pl.col(column).fill_null(0.0).cum_sum().over(over)
        out.append(pl.when(seen).then(total).alias(column))
    shifts = (pl.col(c).drop_nulls().first().over(over).alias(c) for c in _SHIFTS)
    flags = (
        pl.col(f).fill_null(False).cast(pl.Int8).cum_max().over(over).cast(pl.Boolean).alias(f)
        for f in FLAGS.values()
    )
    return frame.with_columns(*out, *shifts, *flags)


def increments(frame: pl.DataFrame, over: list[str]) -> pl.DataFrame:
    """Per-row shifted sums from running totals (rows in date order per `over` series): each
    snapshot moved to its series' first shift, then differenced — exact, like the raw sums,
    whatever the snapshots hold (a count that stays put while a sum grows included)."""
    frame = _on_first_shift(frame, over)
    return frame.with_columns(
        (pl.col(c) - pl.col(c).shift(1).over(over).fill_null(0.0)).alias(c)
        for c in SHIFTED
        if c not in _SHIFTS
    )


def from_moments(part: str, mean: pl.Expr, m2: pl.Expr) -> list[pl.Expr]:
    """A part's shifted sums from its mean and M2 (shift = mean, so Σ(y − s) = 0)."""
    _, _, shift, dev, dev_sq = PARTS[part]
    return [mean.alias(shift), pl.when(mean.is_not_null()).then(0.0).alias(dev), m2.alias(dev_sq)]


def centred(summary: pl.DataFrame) -> pl.DataFrame:
    """The summary with its shifted sums replaced by what they stand for, independent of the
    shift a reader chose: each part's mean and M2, the cross parts' co-moments, and the
    metric's M3 = Σ(y − ȳ)³ (null where no reader gave its third power)."""
    n = pl.col("n").cast(pl.Float64)
    s1, s2 = pl.col(PARTS[""][3]), pl.col(PARTS[""][4])
    out = [(pl.col(CUBE) - 3 * s1 * s2 / n + 2 * s1**3 / n**2).alias("m3")]
    for prefix, (_, _, shift, dev, _) in PARTS.items():
        out += [
            (pl.col(shift) + pl.col(dev) / n).alias(f"{prefix}mean"),
            _m2(prefix).alias(f"{prefix}m2"),
        ]
    for cross, (x, y, _) in CROSS.items():
        dev_x, dev_y = pl.col(PARTS[x][3]), pl.col(PARTS[y][3])
        out.append((pl.col(cross) - dev_x * dev_y / n).alias(cross.replace("dev_sum", "m2")))
    return summary.with_columns(out).drop(SHIFTED)
