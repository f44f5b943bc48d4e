"""nsexp.io.order.key_order: the order of Polars' stable sort by text and date keys, and the
duplicate check, from one integer per row; checked against Polars' `sort` and `is_duplicated`."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import METRICS, write_frame, write_metrics

from nsexp.config.catalog import load_catalog
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.order import key_order
from nsexp.io.schema import totals as schema_totals
from nsexp.io.summary import read_summary

KEYS = ["experiment", "metric", "variant", "date"]
SCHEMA = {"experiment": pl.String, "metric": pl.String, "variant": pl.String, "date": pl.Date}
# text Polars orders by its UTF-8 bytes: case, accents, combining marks, CJK, astral, empty
WORDS = ["a", "B", "é", "Z", "aa", "", "ß", "中", "a\u0301", "\U0001f600", "ab", "A"]


def random_frame(rng: np.random.Generator, rows: int, null_dates: float) -> pl.DataFrame:
    """Rows of random keys (repeats likely) with some dates null."""
    start = dt.date(2020, 1, 1)
    dates = [
        None if rng.random() < null_dates else start + dt.timedelta(int(rng.integers(-400, 400)))
        for _ in range(rows)
    ]
    text = {k: rng.choice(WORDS, rows).tolist() for k in KEYS[:3]}
    return pl.DataFrame({**text, "date": dates}, schema=SCHEMA)


@pytest.mark.parametrize("seed", range(40))
def test_key_order_is_polars_stable_sort_and_finds_every_repeat(seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = random_frame(rng, int(rng.integers(1, 80)), null_dates=[0.0, 0.3, 1.0][seed % 3])
    found = key_order(frame, KEYS)
    assert found is not None
    assert found.repeated == frame.select(pl.struct(KEYS).is_duplicated().any()).item()
    # a stable sort: rows sharing every key keep their given order (moments.merged adds them so)
    indexed = frame.with_row_index()
    assert indexed[found.order].equals(indexed.sort(KEYS, maintain_order=True))


def test_key_order_of_unique_keys_in_any_row_order() -> None:
    grid = pl.DataFrame({"experiment": WORDS}).join(
        pl.DataFrame({"metric": ["m2", "m10", "m1"]}), how="cross"
    )
    frame = grid.join(pl.DataFrame({"variant": ["t", "c"]}), how="cross").with_columns(
        pl.lit(None, pl.Date).alias("date")
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    found = key_order(shuffled, KEYS)
    assert found is not None and not found.repeated
    assert shuffled[found.order].equals(frame.sort(KEYS))


def test_key_order_declines_null_text_and_keys_past_62_bits() -> None:
    frame = pl.DataFrame(
        {"experiment": ["a", None], "metric": ["m", "m"], "variant": ["c", "t"]},
        schema={k: pl.String for k in KEYS[:3]},
    )
    assert key_order(frame, KEYS[:3]) is None
    wide = pl.DataFrame(
        {"experiment": ["a", "b"], "date": [dt.date(1, 1, 1), dt.date(9999, 12, 31)]}
    )
    assert key_order(wide, ["experiment", "date"]) is not None
    assert key_order(wide, ["experiment", "date", "date", "date"]) is None  # 2 · 3.65e6³ days
    assert key_order(frame.clear(), KEYS[:3]) is None  # no rows: nothing to rank


def test_a_file_without_an_experiment_column_is_refused_by_name(tmp_path: Path) -> None:
    """A summary missing its key column gets the loader's message, not a Polars error from
    ordering no rows (found by tests/app/test_workers.py)."""
    (tmp_path / "metrics.toml").write_text("[metrics.x]\nrole = 'north_star'\ntype = 'mean'\n")
    (tmp_path / "e.csv").write_text("variant,y\ncontrol,1\n")
    with pytest.raises(InputError) as raised:
        load_dataset(tmp_path)
    assert raised.value.file is not None


@pytest.mark.parametrize("prefix", [1, 2, 3, 4])
def test_runs_of_a_key_prefix_start_where_polars_sees_a_new_group(prefix: int) -> None:
    rng = np.random.default_rng(prefix)
    frame = random_frame(rng, 300, null_dates=0.2).unique(KEYS)
    found = key_order(frame, KEYS)
    assert found is not None and not found.repeated
    heads = frame.with_row_index()[found.order].select(KEYS[:prefix]).rows()
    expected = [i for i, row in enumerate(heads) if i == 0 or row != heads[i - 1]]
    assert found.starts(prefix).tolist() == expected


@pytest.mark.parametrize("dated", [True, False])
def test_a_summary_files_units_are_each_arms_largest_n(tmp_path: Path, dated: bool) -> None:
    # the read's units come from the key order's runs; Polars' group-by is the reference
    rng = np.random.default_rng(7)
    rows = [
        {"experiment": e, "variant": v, "metric": m, "n": int(rng.integers(2, 500))}
        | ({"date": f"2026-03-0{d}"} if dated else {})
        for e in ("b", "a", "é")
        for v in ("treatment", "control")
        for d in range(1, 4 if dated else 2)
        for m in ("lessons", "retained", "clicks", "errors")
    ]
    frame = pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=1)
    frame = frame.with_columns(
        (pl.col("n") * 0.3).floor().alias("sum"), (pl.col("n") * 0.3).floor().alias("sum_sq")
    )
    write_frame(frame, tmp_path / "s.csv")
    write_metrics(tmp_path, {k: METRICS[k] for k in ("lessons", "retained", "clicks", "errors")})
    read = read_summary(
        pl.scan_csv(tmp_path / "s.csv"), tmp_path / "s.csv", load_catalog(tmp_path / "metrics.toml")
    )
    keys = ["experiment", "variant", "date"]
    want = read.summary.group_by(keys).agg(pl.col("n").max().alias("units")).sort(keys)
    assert read.units.sort(keys).equals(want)
    assert read.units.height == 3 * 2 * (3 if dated else 1)


def summary_dir(tmp_path: Path, drop: pl.Expr | None = None) -> Path:
    """Two experiments' summary rows (metrics of METRICS but the ratio), optionally without
    the rows `drop` matches, beside metrics.toml."""
    tmp_path.mkdir()
    metrics = {k: METRICS[k] for k in ("lessons", "retained", "clicks", "errors")}
    rows = pl.DataFrame(
        [
            {"experiment": e, "variant": v, "metric": m, "n": 100, "sum": 30.0, "sum_sq": 30.0}
            for e in ("b", "a")
            for v in ("treatment", "control")
            for m in metrics
        ]
    )
    write_frame(rows if drop is None else rows.filter(~drop), tmp_path / "s.csv")
    write_metrics(tmp_path, metrics)
    return tmp_path


def test_arms_and_gaps_found_from_the_rows_runs(tmp_path: Path) -> None:
    # the experiments' arms and the completeness checks read each (experiment, variant,
    # metric) once, from the runs of the summary's key order
    data = load_dataset(summary_dir(tmp_path / "whole"))
    assert {e: x.variants for e, x in data.experiments.items()} == {
        "a": ("control", "treatment"),
        "b": ("control", "treatment"),
    }
    gap = (pl.col("experiment") == "b") & (pl.col("variant") == "treatment")
    with pytest.raises(InputError, match="metric 'clicks' for other variants but not for variant"):
        load_dataset(summary_dir(tmp_path / "gap", gap & (pl.col("metric") == "clicks")))
    with pytest.raises(InputError, match="experiment a has no data for the North Star 'lessons'"):
        load_dataset(
            summary_dir(
                tmp_path / "no_ns", (pl.col("experiment") == "a") & (pl.col("metric") == "lessons")
            )
        )


@pytest.mark.parametrize("seed", range(12))
def test_regrouped_is_polars_stable_sort_by_the_keys_taken_again(seed: int) -> None:
    # the keys' order by other keys of them, from the codes: as sorting the rows by those keys
    rng = np.random.default_rng(100 + seed)
    frame = random_frame(rng, int(rng.integers(1, 200)), null_dates=[0.0, 0.3, 1.0][seed % 3])
    found = key_order(frame, KEYS)
    assert found is not None
    positions = [(0, 2, 1), (2, 0), (3, 1, 0, 2), (1,)][seed % 4]
    keys = [KEYS[i] for i in positions]
    again = found.regrouped(positions)
    indexed = frame.with_row_index()
    assert indexed[again.order].equals(indexed.sort(keys, maintain_order=True))
    assert again.repeated == frame.select(pl.struct(keys).is_duplicated().any()).item()
    stored = found.stored()
    assert frame[found.order][stored.regrouped(positions).order].equals(
        frame[found.order].sort(keys, maintain_order=True)
    )


def test_a_loaded_datasets_totals_reuse_its_key_order_and_a_copy_does_not(tmp_path: Path) -> None:
    data = load_dataset(summary_dir(tmp_path / "whole"))
    assert data.loaded_order is not None
    assert data.totals.equals(schema_totals(data.summary))  # ranked again from the text
    fewer = dataclasses.replace(data, summary=data.summary.filter(pl.col("experiment") == "a"))
    assert fewer.loaded_order is None
    assert fewer.totals.equals(schema_totals(fewer.summary))


@pytest.mark.parametrize("dated", [True, False])
def test_a_lone_summary_files_key_order_is_the_loads(tmp_path: Path, dated: bool) -> None:
    # the load takes the file check's keys again in ORDER's order: as ranking the loaded rows
    rows = [
        {"experiment": e, "variant": v, "metric": m, "n": 100, "sum": 30.0, "sum_sq": 30.0}
        | ({"date": f"2026-03-0{d}"} if dated else {})
        for e in ("b", "a", "é")
        for d in ((3, 1, 2) if dated else (1,))
        for v in ("treatment", "control")
        for m in ("lessons", "retained", "clicks", "errors")
    ]
    write_frame(pl.DataFrame(rows), tmp_path / "s.csv")
    write_metrics(tmp_path, {k: METRICS[k] for k in ("lessons", "retained", "clicks", "errors")})
    data = load_dataset(tmp_path)
    assert data.loaded_order is not None
    assert data.summary.equals(data.summary.sort(KEYS))
    again = key_order(data.summary, KEYS)
    assert again is not None and not again.repeated
    assert data.loaded_order.codes.tolist() == again.codes.tolist()
    assert data.loaded_order.order.tolist() == again.order.tolist()
    # the totals add each run of the loaded order, then order the groups: as ranked again
    assert data.totals.equals(schema_totals(data.summary))
    assert data.totals.height == 3 * 2 * 4
