"""Unit-id checks without a group per unit: units on more than one row, or in more than one arm.

The exact checks group the rows by (experiment, unit_id): one group per unit, 20 million groups
for 20 million units, which took ten times the sums' time and 3 GB. Almost every export has no
repeated unit, and that can be shown with far less:

1. Beside the sums, in the same streaming query (`sink`), every row's (experiment, unit_id) is
   hashed to 64 bits. The hashes are kept in 256 buckets by their top 8 bits, 6 bytes a row (the
   next 48 bits: a 32-bit key and 16 more), and each bucket's keys are sorted at the end (half
   the cost of sorting 64-bit words); only the rows under a key seen twice are compared in all
   48 bits. Two rows of one unit always share their hash, so a table without two equal kept
   hashes has no repeated unit, hence no unit in two arms either: nothing to record, and no
   second pass.
2. Equal hashes name candidates: the repeated units, plus (rarely: about n² / 2^57 pairs, 0.07 at
   100 million rows) distinct units whose hashes agree in their top 56 bits. Only the rows with a
   candidate hash are then grouped by (experiment, unit_id) exactly as before (`exact_checks`),
   so the counts recorded are the exact ones, and experiments without repeats are never grouped.

Memory: 6 bytes a row kept, at most `BUDGET_ROWS` rows at a time. When the row count is known up
front (a Parquet file's metadata), the buckets are split before the scan into passes that each
expect at most `PLAN_SHARE` of the budget (`planned_limit`): a pass keeps only its own buckets and
sorts nothing it will drop, and a later pass of the two key columns alone (`UnitHashes(start)`)
takes up the rest. When it is not known (CSV), or a pass still fills its budget (many rows of
one unit share a bucket), the scan keeps its lowest buckets (those holding at most half the
budget so far) and drops the rest for a later pass. Every unit's rows share one bucket, and each
bucket is checked whole in exactly one pass. 100 million rows take one pass with the sums, more
rows take further passes, so memory is bounded at any size.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl

BUCKETS = 256
_TOP = 54  # a kept value is the hash >> 2: its bucket is its bits 54..61 (the hash's top 8)
_EDGES = np.arange(1, BUCKETS, dtype=np.uint64) << np.uint64(_TOP)
# rows of hashes handed to `add` at a time: under 2^20, so a batch's kept 32-bit keys stay below
# numpy's 4 MiB huge-page threshold (fresh huge pages, compacted on fault, cost ~3x the CPU of
# small pages per byte kept: 0.11 s at 20M rows, ~0.55 s at 100M)
BATCH_ROWS = 1_000_000
# hashes kept at most in one pass, 6 bytes each (600 MiB): 100M rows take one pass at a peak RSS
# of 876-880 MB (two planned passes: 620 MB, 3.6 CPU s more; docs/benchmarks.md)
BUDGET_ROWS = 100 << 20
PLAN_SHARE = 63 / 64  # of the budget a planned pass expects to fill: room for uneven buckets
_FP = "__nsexp_unit_fp"


def fingerprint(names: list[str]) -> pl.Expr:
    """A 64-bit hash of the row's (experiment, unit_id): equal for every row of one unit.

    unit_id's hash XOR the experiment's (another seed, so that swapped values do not cancel):
    a third of hashing the two as a struct. The experiment column is hashed as it is stored (a
    Categorical or Enum by its category), so the hash costs no text conversion; a file without
    one is a single experiment. Distinct units whose hashes agree only cost the exact check."""
    unit = pl.col("unit_id").hash()
    if "experiment" in names:
        return (unit ^ pl.col("experiment").hash(seed=1)).alias(_FP)
    return unit.alias(_FP)


def planned_limit(start: int, rows: int | None, budget: int) -> int:
    """Where a pass from bucket `start` stops: with `rows` known, the buckets split evenly into
    as few passes as keep each pass's expected hashes within PLAN_SHARE of `budget`; unknown,
    the last bucket (the scan shrinks the pass when its budget fills)."""
    if rows is None:
        return BUCKETS
    passes = max(1, math.ceil(rows / (budget * PLAN_SHARE)))
    return min(BUCKETS, start + math.ceil(BUCKETS / passes))


class UnitHashes:
    """One pass's kept hashes, bucketed by their top 8 bits: the buckets from `start` up to
    `limit` (which falls when the budget is reached); `repeated()` names those seen twice."""

    def __init__(self, start: int = 0, rows: int | None = None) -> None:
        """Empty buckets for a pass over the buckets from `start` on, filled as the scan
        streams; at most BUDGET_ROWS hashes are kept. `rows`, when known, plans the passes."""
        self.start, self.rows, self.budget = start, rows, BUDGET_ROWS
        self.limit = planned_limit(start, rows, self.budget)
        # per batch, sorted: bits 24..55 and 8..23 of each kept hash, and where each bucket
        # starts (a bucket's rows are one slice of every batch)
        self.batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.counts = np.zeros(BUCKETS, dtype=np.int64)
        self._lock = threading.Lock()  # the scan may call `add` from several threads
        self._sorted = self._shifted = np.empty(0, dtype=np.uint64)

    def add(self, batch: pl.DataFrame) -> None:
        """Keep one batch of hashes (the `sink_batches` callback): sorted, so that each bucket
        is one slice of it, and narrowed to the 48 bits below the bucket's 8. Each of the
        batch's chunks is shifted right by 2 straight into a working array reused from batch to
        batch (no copy of the whole batch first): 62-bit values, which numpy sorts as doubles
        (a non-negative double orders as its bits do; AVX2 compares doubles natively, uint64
        not: ~25% less than an unsigned sort). Only the narrowed copies are kept."""
        chunks = [c.to_numpy() for c in batch.to_series().get_chunks()]
        with self._lock:
            size = sum(c.size for c in chunks)
            if self._sorted.size < size:
                self._sorted = np.empty(size, dtype=np.uint64)
                self._shifted = np.empty(size, dtype=np.uint64)
            values, scratch = self._sorted[:size], self._shifted[:size]
            at = 0
            for chunk in chunks:
                np.right_shift(chunk, 2, out=values[at : at + chunk.size])
                at += chunk.size
            if self.limit < BUCKETS:  # the buckets of later passes: neither kept nor sorted
                keep = values < np.uint64(self.limit << _TOP)
                size = int(np.count_nonzero(keep))
                values, scratch = np.compress(keep, values, out=scratch[:size]), values[:size]
            values.view(np.float64).sort()
            high = np.right_shift(values, 22, out=scratch).astype(np.uint32)
            low = np.right_shift(values, 6, out=scratch).astype(np.uint16)
            cuts = np.empty(BUCKETS + 1, dtype=np.int64)
            cuts[0], cuts[1:-1], cuts[-1] = 0, np.searchsorted(values, _EDGES), size
            self.batches.append((high, low, cuts))
            self.counts[self.start : self.limit] += np.diff(cuts)[self.start : self.limit]
            if self.counts.sum() > self.budget:
                self._shrink()

    def _shrink(self) -> None:
        """Keep the lowest buckets holding at most half the budget (one at least) and drop the
        others: a later pass checks them. The kept buckets are each batch's first rows."""
        held = np.cumsum(self.counts[self.start : self.limit])
        limit = self.start + max(1, int(np.searchsorted(held, self.budget // 2, side="right")))
        for i, (high, low, cuts) in enumerate(self.batches):
            end = int(cuts[limit])
            self.batches[i] = (high[:end].copy(), low[:end].copy(), np.minimum(cuts, end))
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
        buckets are dealt to one worker per core (numpy's sort releases the GIL), each checking
        its share in arrays reused from bucket to bucket."""
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        workers = max(1, workers)
        shares = [range(self.start + i, self.limit, workers) for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = [f for share in pool.map(self._repeated_over, shares) for f in share]
        self.batches = []
        self.counts[:] = 0
        return np.concatenate(found) if found else np.empty(0, dtype=np.uint64)

    def _repeated_over(self, buckets: range) -> list[np.ndarray]:
        """The repeated hashes of some buckets, in working arrays sized once for the largest
        (fresh arrays per bucket cost a page fault per 4 KB touched, ~0.5 s at 100M rows)."""
        work = _Work(int(self.counts[buckets.start : buckets.stop : buckets.step].max(initial=0)))
        found = [self._repeated_in(bucket, work) for bucket in buckets]
        return [f for f in found if f.size]

    def _repeated_in(self, bucket: int, work: _Work) -> np.ndarray:
        """One bucket's repeated hashes: its 32-bit keys sorted (half a 64-bit sort's cost) show
        the keys seen twice, and only rows under those keys are compared in full (48 bits)."""
        spans = [(high, low, cuts[bucket], cuts[bucket + 1]) for high, low, cuts in self.batches]
        size = sum(b - a for _, _, a, b in spans)
        if size < 2:
            return np.empty(0, dtype=np.uint64)
        high = np.concatenate([h[a:b] for h, _, a, b in spans], out=work.high[:size])
        keys = work.keys[:size]
        keys[:] = high
        keys.sort()
        same = np.equal(keys[1:], keys[:-1], out=work.same[: size - 1])
        if not same.any():
            return np.empty(0, dtype=np.uint64)
        # rows whose key's low 16 bits are a repeated key's: a superset of the repeated keys' rows
        marks = keys[1:][same] & np.uint32(0xFFFF)
        work.seen[marks] = True
        index = np.bitwise_and(high, 0xFFFF, out=work.index[:size], casting="unsafe")
        rows = np.flatnonzero(np.take(work.seen, index, out=work.rows[:size]))
        work.seen[marks] = False
        low = np.concatenate([lo[a:b] for _, lo, a, b in spans], out=work.low[:size])[rows]
        full = (high[rows].astype(np.uint64) << np.uint64(16)) | low
        full.sort()
        twice = full[1:][full[1:] == full[:-1]]
        return np.unique(twice) | (np.uint64(bucket) << np.uint64(48))


class _Work:
    """One worker's arrays for checking buckets of up to `size` kept hashes."""

    def __init__(self, size: int) -> None:
        """Uninitialised arrays (only what a bucket writes is read) and the marks, all clear."""
        self.high, self.keys = np.empty(size, np.uint32), np.empty(size, np.uint32)
        self.low, self.index = np.empty(size, np.uint16), np.empty(size, np.intp)
        self.same, self.rows = np.empty(size, bool), np.empty(size, bool)
        self.seen = np.zeros(1 << 16, dtype=bool)


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
