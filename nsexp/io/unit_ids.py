"""Unit-id checks without a group per unit: units on more than one row, or in more than one arm.

The exact checks group the rows by (experiment, unit_id): one group per unit, 20 million groups
for 20 million units, which took ten times the sums' time and 3 GB. Almost every export has no
repeated unit, and that can be shown with far less:

1. Beside the sums, in the same streaming query (`sink`), every row's (experiment, unit_id) is
   hashed to 64 bits. The hashes are kept in 256 buckets by their top 8 bits, 6 bytes a row (the
   next 48 bits), and each bucket is sorted at the end. Two rows of one unit always share their
   hash, so a table without two equal kept hashes has no repeated unit, hence no unit in two arms
   either: nothing to record, and no second pass.
2. Equal hashes name candidates: the repeated units, plus (rarely: about n² / 2^57 pairs, 0.07 at
   100 million rows) distinct units whose hashes agree in their top 56 bits. Only the rows with a
   candidate hash are then grouped by (experiment, unit_id) exactly as before (`exact_checks`),
   so the counts recorded are the exact ones, and experiments without repeats are never grouped.

Memory: 6 bytes a row kept, at most `BUDGET_ROWS` rows (384 MB) at a time. When a scan would
keep more, it keeps only its lowest buckets (those holding at most half the budget so far) and
drops the rest, which a later pass of the two key columns alone takes up (`UnitHashes(start)`):
every unit's rows share one bucket, and each bucket is checked whole in exactly one pass. 20
million rows take one pass with the sums, 100 million a second pass.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

BUCKETS = 256
_EDGES = np.arange(1, BUCKETS, dtype=np.uint64) << np.uint64(56)
BATCH_ROWS = 1 << 20  # rows of hashes handed to `add` at a time
BUDGET_ROWS = 64 << 20  # hashes kept at most in one pass (6 bytes each: 384 MB)
_FP = "__nsexp_unit_fp"


def fingerprint(names: list[str]) -> pl.Expr:
    """A 64-bit hash of the row's (experiment, unit_id): equal for every row of one unit.

    The experiment column is hashed as it is stored (a Categorical or Enum by its category), so
    the hash costs no text conversion; a file without one is a single experiment."""
    if "experiment" in names:
        return pl.struct("experiment", "unit_id").hash().alias(_FP)
    return pl.col("unit_id").hash().alias(_FP)


class UnitHashes:
    """One pass's kept hashes, bucketed by their top 8 bits: the buckets from `start` up to
    `limit` (which falls when the budget is reached); `repeated()` names those seen twice."""

    def __init__(self, start: int = 0) -> None:
        """Empty buckets for a pass over the buckets from `start` on, filled as the scan
        streams; at most BUDGET_ROWS hashes are kept."""
        self.start, self.limit, self.budget = start, BUCKETS, BUDGET_ROWS
        self.high: list[list[np.ndarray]] = [[] for _ in range(BUCKETS)]
        self.low: list[list[np.ndarray]] = [[] for _ in range(BUCKETS)]
        self.counts = np.zeros(BUCKETS, dtype=np.int64)
        self._lock = threading.Lock()  # the scan may call `add` from several threads
        self._sorted = self._shifted = np.empty(0, dtype=np.uint64)
        self._high, self._low = np.empty(0, dtype=np.uint32), np.empty(0, dtype=np.uint16)

    def add(self, batch: pl.DataFrame) -> None:
        """Keep one batch of hashes (the `sink_batches` callback); each bucket's share is its
        own copy, so that a dropped bucket frees its memory, and the batch's working arrays are
        reused from batch to batch, so that the kept ones do not scatter over the heap."""
        with self._lock:
            size = batch.height
            if self._sorted.size < size:
                self._sorted = np.empty(size, dtype=np.uint64)
                self._shifted = np.empty(size, dtype=np.uint64)
                self._high = np.empty(size, dtype=np.uint32)
                self._low = np.empty(size, dtype=np.uint16)
            hashes, shifted = self._sorted[:size], self._shifted[:size]
            high, low = self._high[:size], self._low[:size]
            hashes[:] = batch.to_series().to_numpy()
            hashes.sort()
            np.copyto(high, np.right_shift(hashes, 24, out=shifted), casting="unsafe")  # 24..55
            np.copyto(low, np.right_shift(hashes, 8, out=shifted), casting="unsafe")  # 8..23
            cuts = [0, *np.searchsorted(hashes, _EDGES).tolist(), size]
            for bucket in range(self.start, self.limit):
                start, end = cuts[bucket], cuts[bucket + 1]
                if end > start:
                    self.high[bucket].append(high[start:end].copy())
                    self.low[bucket].append(low[start:end].copy())
                    self.counts[bucket] += end - start
            if self.counts.sum() > self.budget:
                self._shrink()

    def _shrink(self) -> None:
        """Keep the lowest buckets holding at most half the budget (one at least) and drop the
        others: a later pass checks them."""
        held = np.cumsum(self.counts[self.start : self.limit])
        limit = self.start + max(1, int(np.searchsorted(held, self.budget // 2, side="right")))
        for bucket in range(limit, self.limit):
            self.high[bucket], self.low[bucket] = [], []
        self.counts[limit:] = 0
        self.limit = limit

    def sink(self, lazy: pl.LazyFrame, names: list[str]) -> pl.LazyFrame:
        """The streaming query that feeds this collector: run it with the sums (collect_all) in
        the first pass, alone in a later one (the buckets below `start` left out)."""
        hashes = lazy.select(fingerprint(names))
        if self.start:
            first = pl.lit(self.start << 56, dtype=pl.UInt64)
            hashes = hashes.filter(pl.col(_FP) >= first)
        return hashes.sink_batches(self.add, chunk_size=BATCH_ROWS, maintain_order=False, lazy=True)

    def repeated(self) -> np.ndarray:
        """Every kept hash (as hash >> 8) that occurs more than once; frees the buckets. The
        buckets are sorted on every core (numpy's sort releases the GIL)."""
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            found = [f for f in pool.map(self._repeated_in, range(BUCKETS)) if f.size]
        return np.concatenate(found) if found else np.empty(0, dtype=np.uint64)

    def _repeated_in(self, bucket: int) -> np.ndarray:
        high, low = self.high[bucket], self.low[bucket]
        self.high[bucket], self.low[bucket] = [], []
        if not high:
            return np.empty(0, dtype=np.uint64)
        keys = np.concatenate(high).astype(np.uint64) << np.uint64(16)
        del high
        keys |= np.concatenate(low)
        keys.sort()
        same = keys[1:] == keys[:-1]
        return np.unique(keys[1:][same]) | (np.uint64(bucket) << np.uint64(48))


def exact_checks(lazy: pl.LazyFrame, experiment: pl.Expr) -> pl.LazyFrame:
    """Per experiment: units exposed to more than one variant, units on more than one row."""
    per_unit = lazy.group_by(experiment, "unit_id").agg(
        pl.col("variant").n_unique().alias("variants"), pl.len().alias("rows")
    )
    return per_unit.group_by("experiment").agg(
        (pl.col("variants") > 1).sum().alias("crossed"),
        (pl.col("rows") > 1).sum().alias("repeated"),
    )


def candidate_checks(
    lazy: pl.LazyFrame, names: list[str], experiment: pl.Expr, candidates: np.ndarray
) -> pl.LazyFrame:
    """`exact_checks` over only the rows whose hash is a candidate (every row of a repeated
    unit is one): the same counts, from a handful of rows."""
    top = fingerprint(names) // pl.lit(256, dtype=pl.UInt64)  # bits 8..63, as kept
    keep = top.is_in(pl.Series(candidates, dtype=pl.UInt64).implode())
    return exact_checks(lazy.filter(keep), experiment)


NO_CHECKS = pl.DataFrame(
    schema={"experiment": pl.String, "crossed": pl.UInt32, "repeated": pl.UInt32}
)
