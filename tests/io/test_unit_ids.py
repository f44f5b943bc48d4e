"""The unit-id checks (repeated and crossed units) record exactly what one group per unit records.

The reference is the per-unit query the checks used to run over every row (`exact_checks` over
the whole file); the checks now hash (experiment, unit_id) beside the sums and group only the
candidate units (nsexp/io/unit_ids.py), and the SQL engines count rows vs distinct ids first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import make_units, write_frame, write_metrics

from nsexp.io import load_dataset
from nsexp.io import unit_ids as unit_ids_module
from nsexp.io.files import experiment_expr
from nsexp.io.unit_ids import UnitHashes, exact_checks, planned_limit
from nsexp.io.units import FileRead, record_unit_problems


def portfolio(seed: int = 5) -> pl.DataFrame:
    """Four experiments: clean, repeated rows, crossed units, and both (with a unit on 3 rows)."""
    parts = []
    for i, eid in enumerate(("clean", "repeats", "crossed", "both")):
        part = make_units(seed + i, {"control": 400, "treatment": 380}, experiment=eid)
        parts.append(
            part.with_columns(pl.concat_str(pl.lit(f"{eid}-"), "unit_id").alias("unit_id"))
        )
    rows = pl.concat(parts)
    extra = []
    for eid, copies, cross in (("repeats", 7, 0), ("crossed", 5, 5), ("both", 9, 4)):
        block = rows.filter(pl.col("experiment") == eid).head(copies)
        flip = pl.int_range(pl.len()) < cross
        other = pl.when(pl.col("variant") == "control").then(pl.lit("treatment"))
        moved = other.otherwise(pl.lit("control"))
        extra.append(
            block.with_columns(pl.when(flip).then(moved).otherwise("variant").alias("variant"))
        )
    extra.append(rows.filter(pl.col("experiment") == "both").head(1))  # a unit on three rows
    return pl.concat([rows, *extra])


def reference_problems(rows: pl.DataFrame) -> dict[str, list[str]]:
    """What the old per-unit query over every row records."""
    lazy = rows.lazy()
    names = rows.columns
    checks = exact_checks(lazy, experiment_expr(names, Path("d.parquet"))).collect()
    read = FileRead(summary=pl.DataFrame(), units=pl.DataFrame(), metrics=set())
    record_unit_problems(checks, read)
    return read.problems


def problems(root: Path) -> dict[str, list[str]]:
    """The problems load_dataset records, per experiment (experiments without any left out)."""
    return {e: list(x.problems) for e, x in load_dataset(root).experiments.items() if x.problems}


def write(rows: pl.DataFrame, root: Path, name: str = "d.parquet") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_frame(rows, root / name)
    write_metrics(root)
    return root


def test_reference_sees_what_the_portfolio_was_built_with() -> None:
    assert reference_problems(portfolio()) == {
        "repeats": ["7 units appear on more than one row"],
        "crossed": ["5 units were exposed to more than one variant"],
        "both": ["4 units were exposed to more than one variant"],
    }


@pytest.mark.parametrize(
    "shape",
    ["parquet", "csv", "categorical", "enum", "integer ids", "null ids", "clean"],
)
def test_same_problems_as_one_group_per_unit(tmp_path: Path, shape: str) -> None:
    rows = portfolio()
    name = "d.csv" if shape == "csv" else "d.parquet"
    if shape == "categorical":
        rows = rows.with_columns(pl.col("experiment", "variant").cast(pl.Categorical))
    elif shape == "enum":
        kinds = pl.Enum(["clean", "repeats", "crossed", "both"])
        rows = rows.with_columns(pl.col("experiment").cast(kinds))
    elif shape == "integer ids":
        rows = rows.with_columns(pl.col("unit_id").rank("dense").cast(pl.Int64))
    elif shape == "null ids":  # nulls group together, as one unit, in both versions
        rows = rows.with_columns(
            pl.when(pl.int_range(pl.len()) % 97 == 3)
            .then(None)
            .otherwise("unit_id")
            .alias("unit_id")
        )
    elif shape == "clean":
        rows = rows.unique(["experiment", "unit_id"], keep="first", maintain_order=True)
    want = reference_problems(rows)
    assert problems(write(rows, tmp_path / "d", name)) == want
    if shape == "clean":
        assert want == {}


def test_a_file_without_experiment_column(tmp_path: Path) -> None:
    rows = portfolio().filter(pl.col("experiment") == "both").drop("experiment")
    got = problems(write(rows, tmp_path / "d", "both.parquet"))
    assert got == {"both": ["4 units were exposed to more than one variant"]}


def test_hash_collisions_only_cost_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hash that collides all the time makes every unit a candidate: the counts stay exact."""

    def weak(names: list[str]) -> pl.Expr:
        return (pl.col("unit_id").hash() % 3 * pl.lit(2**40, dtype=pl.UInt64)).alias(
            "__nsexp_unit_fp"
        )

    monkeypatch.setattr(unit_ids_module, "fingerprint", weak)
    rows = portfolio()
    clean = rows.unique(["experiment", "unit_id"], keep="first", maintain_order=True)
    assert problems(write(clean, tmp_path / "clean")) == {}
    assert problems(write(rows, tmp_path / "dirty")) == reference_problems(rows)


def test_no_second_query_without_repeats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = unit_ids_module.candidate_checks

    def spy(*args: Any) -> pl.LazyFrame:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr("nsexp.io.units.candidate_checks", spy)
    rows = portfolio()
    clean = rows.unique(["experiment", "unit_id"], keep="first", maintain_order=True)
    problems(write(clean, tmp_path / "clean"))
    assert calls == []
    problems(write(rows, tmp_path / "dirty"))
    assert len(calls) == 1 and calls[0][3].size == 7 + 5 + 9  # exactly the repeated units


def test_unit_hashes_find_repeats_across_batches_and_buckets() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 2**63, 50_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    twice = values[[5, 17_000, 49_999]]
    hashes = UnitHashes()
    for part in np.array_split(np.concatenate([values, twice[::-1]]), 7):
        hashes.add(pl.DataFrame({"h": pl.Series(part, dtype=pl.UInt64)}))
    assert hashes.counts.sum() == 50_003
    assert sorted(hashes.repeated().tolist()) == sorted((twice >> np.uint64(8)).tolist())
    assert hashes.repeated().size == 0  # buckets are freed


def test_unit_hashes_keep_every_hash_in_its_bucket_whatever_its_bits() -> None:
    """Each batch is sorted as doubles (its hashes >> 2): the extremes, every bucket's edges and
    hashes below 2^54 (subnormal doubles) still land in their bucket with all 48 kept bits, as
    a plain integer split of the same hashes says (batches of several chunks, as sinks give)."""
    rng = np.random.default_rng(11)
    edges = np.arange(256, dtype=np.uint64) << np.uint64(56)
    extremes = np.array([0, 1, 2**54 - 1, 2**64 - 1], dtype=np.uint64)
    special = np.concatenate([edges, edges - np.uint64(1), edges + np.uint64(0xFF), extremes])
    small = rng.integers(0, 2**54, 500, dtype=np.int64).astype(np.uint64)  # subnormal when >> 2
    values = rng.integers(0, 2**63, 20_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    stream = rng.permutation(np.concatenate([values, special, small]))
    hashes = UnitHashes()
    for part in np.array_split(stream, 4):
        chunks = [pl.Series("h", c, dtype=pl.UInt64) for c in np.array_split(part, 3)]
        hashes.add(pl.DataFrame(pl.concat(chunks, rechunk=False)))
    bucket = stream >> np.uint64(56)
    assert hashes.counts.tolist() == np.bincount(bucket.astype(np.intp), minlength=256).tolist()
    for b in range(256):
        kept = [
            (high[cuts[b] : cuts[b + 1]].astype(np.uint64) << np.uint64(24))
            | (low[cuts[b] : cuts[b + 1]].astype(np.uint64) << np.uint64(8))
            for high, low, cuts in hashes.batches
        ]
        expected = np.sort(stream[bucket == b] & np.uint64(2**56 - 256))
        assert np.array_equal(np.sort(np.concatenate(kept)), expected)


def test_unit_hashes_compare_the_whole_kept_hash_where_the_sorted_key_repeats() -> None:
    """Each bucket is sorted on 32 of its 48 kept bits: hashes that agree there (or only in the
    key's low 16 bits, which pick the rows compared in full) but differ below are not repeats;
    hashes that differ only in the 8 bits never kept are."""
    rng = np.random.default_rng(8)
    values = rng.integers(0, 2**63, 30_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    base = values[123]
    near = [base ^ np.uint64(1 << 8), base ^ np.uint64(1 << 23), base ^ np.uint64(1 << 40)]
    same = base ^ np.uint64(0x7F)  # equal in every kept bit: the same unit, as far as kept
    assert (same >> np.uint64(8)) == (base >> np.uint64(8))
    hashes = UnitHashes()
    for part in np.array_split(rng.permutation(np.concatenate([values, near, [same]])), 5):
        hashes.add(pl.DataFrame({"h": pl.Series(part, dtype=pl.UInt64)}))
    assert hashes.repeated().tolist() == [int(base >> np.uint64(8))]


def test_duckdb_checks_equal_the_polars_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("duckdb")
    from nsexp.io.engines.duckdb import DuckDBEngine

    queries: list[str] = []
    real = DuckDBEngine.fetch

    def spy(self: DuckDBEngine, sql: str) -> list[tuple[Any, ...]]:
        queries.append(sql)
        return real(self, sql)

    monkeypatch.setattr(DuckDBEngine, "fetch", spy)
    rows = portfolio()
    clean = rows.unique(["experiment", "unit_id"], keep="first", maintain_order=True)
    for label, data in (("dirty", rows), ("clean", clean)):
        root = write(data, tmp_path / label, "rows.parquet")
        (root / "source.toml").write_text('engine = "duckdb"\npath = "rows.parquet"\n')
        queries.clear()
        assert problems(root) == reference_problems(data)
        per_unit = [q for q in queries if "n_variants" in q]
        if label == "clean":
            assert per_unit == []
        else:  # only over the experiments with more rows than ids
            assert len(per_unit) == 1 and "'clean'" not in per_unit[0]
            assert all(f"'{e}'" in per_unit[0] for e in ("both", "crossed", "repeats"))


def planted(kind: str) -> pl.DataFrame:
    """6,000 distinct units in three experiments (ids of the given kind), then copies planted
    where a scan could lose them: the first row again as the last, a unit repeated across row
    groups, repeats in one experiment only (20 into the other arm), and the first row's id in
    another experiment (a different unit)."""
    rng = np.random.default_rng(11)
    n = 6_000
    raw = rng.permutation(n).astype(np.int64)
    ids: Any = {
        "huge": np.int64(2**63 - 1) - raw,
        "negative": -(2**62) - raw * 7_919,
        "string": [f"user-{i:x}" for i in raw],
    }[kind]
    rows = make_units(11, {"control": n // 2, "treatment": n // 2}).with_columns(
        pl.Series("experiment", np.array(["exp_a", "exp_b", "exp_c"])[np.arange(n) % 3]),
        pl.Series("unit_id", ids),
    )
    first, far = rows.head(1), rows.slice(2_500, 1)  # far: in another row group than its copy
    others = rows.slice(1_000, 400).filter(pl.col("experiment") == "exp_b")
    flip = pl.when(pl.col("variant") == "control").then(pl.lit("treatment"))
    crossed = others.head(20).with_columns(flip.otherwise(pl.lit("control")).alias("variant"))
    elsewhere = first.with_columns(pl.lit("exp_c").alias("experiment"))  # another unit
    return pl.concat([rows, others, crossed, far, elsewhere, first])


def raw_problems(rows: pl.DataFrame) -> dict[str, list[str]]:
    """Counted by hand over the raw rows: units on several rows, units in several arms."""
    arms: dict[tuple[str, Any], set[str]] = {}
    seen: dict[tuple[str, Any], int] = {}
    for experiment, variant, unit in rows.select("experiment", "variant", "unit_id").iter_rows():
        arms.setdefault((experiment, unit), set()).add(variant)
        seen[(experiment, unit)] = seen.get((experiment, unit), 0) + 1
    out: dict[str, list[str]] = {}
    for experiment in sorted({e for e, _ in seen}):
        crossed = sum(len(v) > 1 for (e, _), v in arms.items() if e == experiment)
        repeated = sum(c > 1 for (e, _), c in seen.items() if e == experiment)
        if crossed:
            out[experiment] = [f"{crossed} units were exposed to more than one variant"]
        elif repeated:
            out[experiment] = [f"{repeated} units appear on more than one row"]
    return out


def counted_passes(monkeypatch: pytest.MonkeyPatch, budget: int | None) -> list[int]:
    """The first row of each pass of the unit hashes, recorded as the scan makes them; with a
    `budget` of rows per pass in place of the real one (several passes on small data)."""
    passes: list[int] = []
    real = UnitHashes.repeated

    def spy(self: UnitHashes) -> np.ndarray:
        passes.append(self.start)
        return real(self)

    monkeypatch.setattr(UnitHashes, "repeated", spy)
    if budget is not None:
        monkeypatch.setattr(unit_ids_module, "BUDGET_ROWS", budget)
    return passes


@pytest.mark.parametrize("kind", ["huge", "negative", "string"])
@pytest.mark.parametrize(("budget", "fmt"), [(None, "parquet"), (700, "parquet"), (700, "csv")])
def test_planted_repeats_are_never_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, budget: int | None, fmt: str
) -> None:
    """Repeats at the first and last row, across row groups and in one experiment only are
    found whatever the ids, also when the hashes take several passes (a budget of 700 rows):
    planned from a Parquet file's row count, or found as the scan goes for a CSV file."""
    passes = counted_passes(monkeypatch, budget)
    rows = planted(kind)
    root = tmp_path / "d"
    root.mkdir()
    if fmt == "csv":
        rows.write_csv(root / "d.csv")
    else:
        rows.write_parquet(root / "d.parquet", row_group_size=1_000)
    write_metrics(root)
    want = raw_problems(rows)
    assert want == {
        "exp_a": ["1 units appear on more than one row"],
        "exp_b": ["20 units were exposed to more than one variant"],
    }
    assert problems(root) == want == reference_problems(rows)
    assert len(passes) == 1 if budget is None else len(passes) > 3


@pytest.mark.parametrize("budget", [None, 700])
def test_planted_repeats_across_the_files_of_a_glob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int | None
) -> None:
    """A source.toml glob is one scan over several files: a unit in the first file and again in
    the last (the first row planted again as the last) is found, in one pass or several."""
    passes = counted_passes(monkeypatch, budget)
    rows = planted("negative")
    root = tmp_path / "d"
    (root / "rows").mkdir(parents=True)
    for i, part in enumerate(np.array_split(np.arange(rows.height), 3)):
        rows[part.tolist()].write_parquet(root / "rows" / f"part-{i}.parquet", row_group_size=500)
    (root / "source.toml").write_text('engine = "polars"\npath = "rows/*.parquet"\n')
    write_metrics(root)
    first = rows.row(0, named=True)["unit_id"]
    assert pl.read_parquet(root / "rows" / "part-2.parquet")["unit_id"].to_list()[-1] == first
    assert problems(root) == raw_problems(rows) == reference_problems(rows)
    assert len(passes) == 1 if budget is None else len(passes) > 3


def test_unit_hashes_keep_their_budget_and_leave_the_rest_to_later_passes() -> None:
    rng = np.random.default_rng(4)
    values = rng.integers(0, 2**63, 40_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    twice = values[rng.choice(values.size, 50, replace=False)]
    stream = rng.permutation(np.concatenate([values, twice]))
    found, start, passes, budget = [], 0, 0, 9_000
    while start < unit_ids_module.BUCKETS:
        hashes = UnitHashes(start)
        hashes.budget = budget
        for part in np.array_split(stream[stream >= np.uint64(start << 56)], 13):
            hashes.add(pl.DataFrame({"h": pl.Series(part, dtype=pl.UInt64)}))
            assert hashes.counts.sum() <= budget + part.size
        found.append(hashes.repeated())
        start, passes = hashes.limit, passes + 1
    assert passes > 4
    assert sorted(np.concatenate(found).tolist()) == sorted((twice >> np.uint64(8)).tolist())


def test_planned_passes_split_the_buckets_evenly_within_the_budget() -> None:
    """By hand: 20M rows fit one pass of a 64M budget (67.1M hashes, 66.1M planned at 63/64);
    100M need two of 128 buckets each; 140M need three of 86 buckets (the last 84); unknown
    rows: one pass until the budget fills."""
    budget = 64 << 20
    assert planned_limit(0, 20_000_000, budget) == 256
    assert [planned_limit(s, 100_000_000, budget) for s in (0, 128)] == [128, 256]
    assert [planned_limit(s, 140_000_000, budget) for s in (0, 86, 172)] == [86, 172, 256]
    assert planned_limit(0, None, budget) == planned_limit(0, 0, budget) == 256


def test_planned_passes_keep_only_their_buckets_and_never_shrink(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the row count known, each pass keeps (and sorts) only its own buckets, stays within
    its budget without dropping anything, and the passes together find every repeated hash."""
    rng = np.random.default_rng(5)
    values = rng.integers(0, 2**63, 40_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    twice = values[rng.choice(values.size, 50, replace=False)]
    stream = rng.permutation(np.concatenate([values, twice]))
    budget = 9_000
    monkeypatch.setattr(unit_ids_module, "BUDGET_ROWS", budget)

    def refuse(self: UnitHashes) -> None:
        raise AssertionError("a planned pass dropped buckets")

    monkeypatch.setattr(UnitHashes, "_shrink", refuse)
    found, start, limits = [], 0, []
    while start < unit_ids_module.BUCKETS:
        hashes = UnitHashes(start, rows=stream.size)
        for part in np.array_split(stream[stream >= np.uint64(start << 56)], 13):
            hashes.add(pl.DataFrame({"h": pl.Series(part, dtype=pl.UInt64)}))
        bucket = stream >> np.uint64(56)
        mine = (bucket >= start) & (bucket < hashes.limit)
        assert hashes.counts.sum() == np.count_nonzero(mine) <= budget
        assert hashes.counts[hashes.limit :].sum() == 0
        found.append(hashes.repeated())
        limits.append(hashes.limit)
        start = hashes.limit
    assert limits == [52, 104, 156, 208, 256]  # 40,050 rows / (9,000 x 63/64): 5 passes
    assert sorted(np.concatenate(found).tolist()) == sorted((twice >> np.uint64(8)).tolist())
