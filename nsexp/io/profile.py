"""A first look at an export nobody described yet: its columns, their types, a few rows, and a
guess of what each column is, so the Data page can offer a set-up instead of a blank catalog.

The guesses only pre-fill choices a person confirms; nothing here decides a readout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import polars as pl

from nsexp.errors import InputError

SAMPLE_ROWS = 20_000
Guess = Literal["variant", "unit_id", "date", "metric", "segment", "other"]
_VARIANT_NAMES = (
    "variant",
    "version",
    "arm",
    "group",
    "treatment",
    "bucket",
    "cohort",
    "condition",
    "segment",
)
_UNIT_NAMES = ("id", "userid", "user_id", "unit_id", "customer_id", "account_id", "uid")


@dataclass(frozen=True)
class ColumnProfile:
    """One column of a sample: its type for people, distinct values, examples and a guess."""

    name: str
    dtype: str
    distinct: int
    missing: int
    examples: tuple[str, ...]
    guess: Guess
    metric_type: Literal["proportion", "mean"] | None = None
    zero_one: bool = False  # every value is 0 or 1 (or true/false): it can be a proportion
    largest: float | None = None  # the largest value of a numeric column


def read_sample(name: str, data: bytes, rows: int | None = SAMPLE_ROWS) -> pl.DataFrame:
    """The first `rows` rows of an uploaded CSV or Parquet file (every row when None; an upload
    is at most 50 MB); InputError if unreadable."""
    if not data:
        raise InputError("the file is empty", file=name, fix="export the data again")
    try:
        if name.lower().endswith(".parquet"):
            return pl.read_parquet(io.BytesIO(data), n_rows=rows)
        return pl.read_csv(io.BytesIO(data), n_rows=rows, infer_schema_length=rows)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"cannot read the file ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            file=name,
            fix="check that it is a valid CSV (UTF-8 text) or Parquet file",
        ) from exc


def profile(sample: pl.DataFrame) -> list[ColumnProfile]:
    """Every column of the sample, profiled and guessed."""
    out = []
    variant = _variant_column(sample)
    for name, dtype in sample.schema.items():
        col = sample[name]
        distinct = col.n_unique()
        examples = tuple(str(v) for v in col.drop_nulls().unique(maintain_order=True).head(3))
        numeric = dtype.is_numeric() or dtype == pl.Boolean
        values = col.drop_nulls().cast(pl.Float64) if numeric else None
        zero_one = values is not None and bool(values.is_in([0.0, 1.0]).all())
        largest = values.max() if values is not None and values.len() else None
        guess, kind = _guess(name, dtype, distinct, sample.height, name == variant, zero_one)
        out.append(
            ColumnProfile(
                name=name,
                dtype=_type_name(dtype),
                distinct=distinct,
                missing=col.null_count(),
                examples=examples,
                guess=guess,
                metric_type=kind,
                zero_one=zero_one,
                largest=float(largest) if isinstance(largest, int | float) else None,
            )
        )
    return out


def _variant_column(sample: pl.DataFrame) -> str | None:
    """The column most likely to hold the arms: a usual name first, else the text column with
    the fewest (2 to 10) distinct values."""
    text = [c for c, t in sample.schema.items() if t == pl.String or isinstance(t, pl.Categorical)]
    few = [c for c in text if 2 <= sample[c].n_unique() <= 10]
    exact = [c for c in few if c.lower() in _VARIANT_NAMES]
    named = [c for c in few if any(k in c.lower() for k in _VARIANT_NAMES)]
    if exact or named:
        return (exact or named)[0]
    return min(few, key=lambda c: sample[c].n_unique(), default=None)


def _guess(
    name: str, dtype: pl.DataType, distinct: int, rows: int, is_variant: bool, zero_one: bool
) -> tuple[Guess, Literal["proportion", "mean"] | None]:
    """What one column probably is, and a metric's probable type."""
    if is_variant:
        return "variant", None
    lower = name.lower()
    if lower in _UNIT_NAMES or (lower.endswith("id") and distinct == rows and rows > 1):
        return "unit_id", None
    if dtype == pl.Date or isinstance(dtype, pl.Datetime) or lower in ("date", "day"):
        return "date", None
    if dtype == pl.Boolean:
        return "metric", "proportion"
    if dtype.is_numeric():
        return "metric", "proportion" if zero_one else "mean"
    if dtype == pl.String and 2 <= distinct <= 12:
        return "segment", None
    return "other", None


def _type_name(dtype: pl.DataType) -> str:
    """A column type as people say it."""
    if dtype == pl.Boolean:
        return "true/false"
    if dtype.is_integer():
        return "whole numbers"
    if dtype.is_float():
        return "numbers"
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return "dates"
    return "text"
