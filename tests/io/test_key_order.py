"""nsexp.io.order.key_order: the order of Polars' stable sort by text and date keys, and the
duplicate check, from one integer per row; checked against Polars' `sort` and `is_duplicated`."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from nsexp.io.order import key_order

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
