"""Find data files and open them lazily with the user's column names mapped to ours."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from nsexp.catalog import COLUMN_KEYS, Catalog
from nsexp.errors import InputError

DATA_SUFFIXES = (".csv", ".parquet")
FileKind = Literal["unit", "summary"]


def data_files(root: Path) -> list[Path]:
    """The CSV and Parquet files directly inside a data directory, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)


def scan(path: Path, catalog: Catalog) -> pl.LazyFrame:
    """Open one file lazily; rename mapped columns to experiment/variant/unit_id/date."""
    try:
        if path.stat().st_size == 0:
            raise InputError("the file is empty", file=path, fix="export the data again")
        if path.suffix.lower() == ".csv":
            header = pl.read_csv(path, n_rows=0).columns
            as_text = {
                c: pl.String()
                for c in (catalog.column("experiment"), catalog.column("variant"))
                if c in header
            }
            lazy = pl.scan_csv(path, schema_overrides=as_text, infer_schema_length=10_000)
        else:
            lazy = pl.scan_parquet(path)
        names = lazy.collect_schema().names()
    except InputError:
        raise
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the file ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            file=path,
            fix="check that it is a valid CSV or Parquet file",
        ) from exc
    if not names:
        raise InputError("the file has no columns", file=path, fix="export the data again")
    renames = {catalog.column(k): k for k in COLUMN_KEYS if catalog.column(k) in names}
    return lazy.rename(renames) if any(a != b for a, b in renames.items()) else lazy


def kind_of(columns: list[str]) -> FileKind:
    """Summary files carry `metric` and `n` plus sums or moments; anything else is unit-level."""
    has_moments = {"sum", "sum_sq"} <= set(columns) or {"mean", "variance"} <= set(columns)
    return "summary" if {"metric", "n"} <= set(columns) and has_moments else "unit"


def require_variant(columns: list[str], path: Path, catalog: Catalog) -> None:
    """Every file needs a variant column; name the mapping when it is missing."""
    if "variant" not in columns:
        name = catalog.column("variant")
        raise InputError(
            "no variant column",
            file=path,
            column=name,
            fix='add it, or map yours in metrics.toml: [columns] variant = "<your column>"',
        )


def experiment_expr(names: list[str], path: Path) -> pl.Expr:
    """The experiment id: the `experiment` column, else the file stem."""
    if "experiment" in names:
        return pl.col("experiment").cast(pl.String)
    return pl.lit(path.stem).alias("experiment")


def date_expr(dtype: pl.DataType) -> pl.Expr:
    """The `date` column as a Polars Date, whether stored as text, datetime or date."""
    col = pl.col("date")
    if dtype == pl.String:
        return col.str.to_date(strict=True)
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    return col.cast(pl.Date)


def check_numeric(lazy: pl.LazyFrame, dtype: pl.DataType, column: str, path: Path) -> None:
    """Raise InputError naming the column when it holds text instead of numbers or booleans."""
    if dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.Null:
        return
    sample = lazy.select(pl.col(column).drop_nulls().first()).collect().item()
    raise InputError(
        f"holds {dtype} values such as {sample!r}, not numbers",
        file=path,
        column=column,
        fix="export the metric as numbers (true/false is read as 1/0)",
    )
