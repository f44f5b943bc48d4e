"""ordered_sums' group sums and counts against a plain loop over the rows, for columns with no
nulls, some nulls and only nulls (whose sums and counts are taken without reading the rows)."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from nsexp.io.moments import null_columns, ordered_sums


def _by_loop(values: list, starts: list[int]) -> tuple[list, list[int]]:
    """Each group's sum of its present values and how many there are."""
    bounds = [*starts, len(values)]
    sums, counts = [], []
    for a, b in itertools.pairwise(bounds):
        present = [v for v in values[a:b] if v is not None]
        total = 0
        for v in present:
            total += v
        sums.append(total)
        counts.append(len(present))
    return sums, counts


def test_ordered_sums_match_a_loop_over_the_rows() -> None:
    rows = pl.DataFrame(
        {
            "full": [0.5, 0.25, 1.5, 2.0, 1.0, -3.0, 7.0],  # exact in any order
            "some": [None, 2.5, None, 1.0, None, 3.0, None],
            "none": pl.Series([None] * 7, dtype=pl.Float64),
            "count": [1, 2, 3, 4, 5, 6, 7],
            "no_count": pl.Series([None] * 7, dtype=pl.Int64),
        }
    )
    starts = np.array([0, 3, 6])
    out = ordered_sums(rows, starts, rows.columns)
    for c in rows.columns:
        sums, counts = _by_loop(rows[c].to_list(), starts.tolist())
        assert out[c].tolist() == sums, c
        assert out[c].dtype == rows[c].fill_null(0).to_numpy().dtype, c
        assert out[f"__count_{c}"].tolist() == counts, c
        assert out[f"__count_{c}"].dtype == np.int64, c


def test_null_columns_are_those_with_only_nulls() -> None:
    rows = pl.DataFrame(
        {"a": [1.0, None], "b": [None, None], "c": pl.Series([None, None], dtype=pl.Int64)}
    )
    assert null_columns(rows) == {"b", "c"}
    assert null_columns(rows.head(0)) == {"a", "b", "c"}
