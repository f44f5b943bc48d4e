"""Rows in key order without sorting text: one integer per row stands for its keys."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import polars as pl


class KeyOrder(NamedTuple):
    """The rows' order by some key columns, and whether two rows share every key; with each
    row's key (in the given row order) and how many values each key column spans."""

    order: np.ndarray
    repeated: bool
    codes: np.ndarray
    sizes: tuple[int, ...]

    def starts(self, prefix: int) -> np.ndarray:
        """Where each run of rows sharing the first `prefix` keys starts, in `order` (one
        gathered copy of the keys, divided in place, and a flag per row: a 420,000-row
        summary's whole-array temporaries were most of its cost, in fresh pages)."""
        ordered = self.codes[self.order]
        if (below := math.prod(self.sizes[prefix:])) > 1:
            np.floor_divide(ordered, below, out=ordered)
        new = np.empty(ordered.size, bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        return np.flatnonzero(new)

    def groups(self, prefix: int) -> KeyOrder:
        """One row per run of rows sharing the first `prefix` keys (in `order`'s order), keyed
        by those keys alone."""
        first = self.order[self.starts(prefix)]
        codes = self.codes[first] // math.prod(self.sizes[prefix:])
        return KeyOrder(np.arange(len(first)), False, codes, self.sizes[:prefix])

    def regrouped(self, positions: tuple[int, ...]) -> KeyOrder:
        """The same rows' order by some of these keys taken in another order (`positions`
        index them), from each row's key: one integer sort, no text ranked again."""
        codes = np.zeros_like(self.codes)
        for i in positions:
            digit = self.codes // math.prod(self.sizes[i + 1 :]) % self.sizes[i]
            codes = codes * self.sizes[i] + digit
        order = np.argsort(codes, kind="stable")
        ordered = codes[order]
        repeated = bool((ordered[1:] == ordered[:-1]).any())
        return KeyOrder(order, repeated, codes, tuple(self.sizes[i] for i in positions))

    def stored(self) -> KeyOrder:
        """This order for the rows once put in it (`frame[order]`): their keys, already sorted."""
        return KeyOrder(
            np.arange(len(self.codes)), self.repeated, self.codes[self.order], self.sizes
        )


_KEY_BITS = 62  # a row's key must fit an int64, with room to spare


def key_order(frame: pl.DataFrame, keys: list[str]) -> KeyOrder | None:
    """The row order of `frame.sort(keys)` (text keys in Polars' order, a `date` key with
    nulls first), from one int64 per row: each text key's rank among its distinct values (few:
    experiments, variants, metrics), the date's day. Sorting one integer instead of several
    text columns takes about half the time of a 1,000-experiment summary's load; `repeated`
    checks every key's uniqueness on the way. None where there are no rows, a text key has a
    null or the key would not fit 62 bits: sort as usual then."""
    if frame.is_empty():  # no values to rank (an empty mapping would type the key as text)
        return None
    parts: list[pl.Expr] = []
    sizes: list[int] = []
    for name in keys:
        column = frame.get_column(name)
        if column.dtype == pl.Date:
            days = column.cast(pl.Int64)
            low, high = days.min(), days.max()
            low, high = (0, -1) if low is None else (int(low), int(high))  # type: ignore[arg-type]
            parts.append((pl.col(name).cast(pl.Int64) - low + 1).fill_null(0))  # nulls first
            sizes.append(high - low + 2)
            continue
        if column.dtype != pl.String or column.null_count():
            return None
        values = column.unique().sort()
        ranks = pl.int_range(values.len(), eager=True, dtype=pl.Int64)
        parts.append(pl.col(name).replace_strict(values, ranks, return_dtype=pl.Int64))
        sizes.append(values.len())
    if math.prod(sizes) >= 1 << _KEY_BITS:
        return None
    key = parts[0]
    for part, size in zip(parts[1:], sizes[1:], strict=True):
        key = key * size + part
    codes = frame.select(key.alias("key")).to_series().to_numpy()
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    return KeyOrder(order, bool((ordered[1:] == ordered[:-1]).any()), codes, tuple(sizes))
