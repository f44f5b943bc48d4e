"""Find data files and open them lazily with the user's column names mapped to ours."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import polars as pl

from nsexp.config.catalog import COLUMN_KEYS, SUMMARY_COLUMN_KEYS, Catalog
from nsexp.config.toml import refuse_utf16
from nsexp.errors import InputError

DATA_SUFFIXES = (".csv", ".parquet")
# summary columns that hold metric values (n and the arm counts stay whole numbers)
_SUMMARY_VALUES = ("sum", "sum_sq", "mean", "variance", "den_sum", "den_sum_sq", "num_den_sum")
FileKind = Literal["unit", "summary", "wide"]
WIDE_COLUMNS = ("metric", "count_c", "count_t", "mean_c", "mean_t")
# Limits checked before a file is parsed (docs/data.md, "Limits"): a file may hold every metric
# of the largest catalog (nsexp.config.catalog.MAX_METRICS) with a covariate each, and more.
MAX_COLUMNS = 10_000
MAX_HEADER_BYTES = 2_000_000  # a CSV header of MAX_COLUMNS names of up to 200 characters
MAX_PARQUET_FOOTER_BYTES = 64_000_000  # the metadata Polars parses before reading a row
# Files named .csv that are not text: Polars would decompress gzip and zstd whole, in memory
_COMPRESSED = {
    b"\x1f\x8b": "gzip-compressed",
    b"\x28\xb5\x2f\xfd": "zstd-compressed",
    b"PK\x03\x04": "a ZIP archive (an Excel workbook?)",
}
_WIDTH_FIX = (
    f"keep at most {MAX_COLUMNS:,} columns per file: split the metrics over several files, or "
    "drop the columns no metric reads"
)


def data_files(root: Path) -> list[Path]:
    """The CSV and Parquet files directly inside a data directory, sorted by name."""
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)


def scan(path: Path, catalog: Catalog) -> pl.LazyFrame:
    """Open one file lazily; rename mapped columns to experiment/variant/unit_id/date."""
    try:
        if path.stat().st_size == 0:
            raise InputError("the file is empty", file=path, fix="export the data again")
        check_width(path)
        lazy = _scan_csv(path, catalog) if path.suffix.lower() == ".csv" else pl.scan_parquet(path)
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
    return _renamed(lazy, names, path, catalog)


def _scan_csv(path: Path, catalog: Catalog) -> pl.LazyFrame:
    """A CSV scanned with its whole schema fixed: ids as text, metric values as floats."""
    header = pl.read_csv(path, n_rows=0).columns
    ids = ("experiment", "variant", "unit_id")
    as_text = {c: pl.String() for c in map(catalog.column, ids) if c in header}
    inferred = pl.scan_csv(
        path, schema_overrides=as_text, infer_schema_length=10_000
    ).collect_schema()
    # whole numbers in the first rows may be followed by 2.5 further down: read the
    # metric values (not ids or counts) as floats
    values = {c for m in catalog.metrics.values() for c in (*m.columns, m.covariate)}
    values |= set(_SUMMARY_VALUES)
    widen: dict[str, pl.DataType] = {
        c: pl.Float64() for c, t in inferred.items() if t.is_integer() and c in values
    }
    # the whole schema, so no later step infers it again from the first 10,000 rows
    return pl.scan_csv(path, schema=pl.Schema({**inferred, **widen}))


def _renamed(lazy: pl.LazyFrame, names: list[str], path: Path, catalog: Catalog) -> pl.LazyFrame:
    """The file's mapped columns under our names; a file holding both names is refused."""
    keys = (*COLUMN_KEYS, *SUMMARY_COLUMN_KEYS)
    renames = {catalog.column(k): k for k in keys if catalog.column(k) in names}
    clash = next((k for src, k in renames.items() if src != k and k in names), None)
    if clash:
        raise InputError(
            f"has both '{clash}' and '{catalog.column(clash)}', which [columns] {clash} = "
            f"{catalog.column(clash)!r} maps to '{clash}'",
            file=path,
            column=clash,
            fix=f"drop or rename the file's own '{clash}' column, or remove the mapping",
        )
    return lazy.rename(renames) if any(a != b for a, b in renames.items()) else lazy


def check_width(path: Path) -> list[str]:
    """Refuse a file with more than MAX_COLUMNS columns, or two columns of one name, from its
    CSV header line or Parquet footer alone: before Polars parses a row; its column names."""
    names = _csv_header(path) if path.suffix.lower() == ".csv" else _parquet_names(path)
    if len(names) > MAX_COLUMNS:
        raise InputError(
            f"has {len(names):,} columns, more than the limit of {MAX_COLUMNS:,}",
            file=path,
            fix=_WIDTH_FIX,
        )
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise InputError(
                "appears twice in the header",
                file=path,
                column=name,
                fix="give every column a distinct name (rename or drop one of the two)",
            )
        seen.add(name)
    return names


def _csv_header(path: Path) -> list[str]:
    """The column names of a CSV's first record, read from at most MAX_HEADER_BYTES; a
    compressed or UTF-16 file is refused whatever its size."""
    with path.open("rb") as handle:
        head = handle.read(MAX_HEADER_BYTES + 1)
    packed = next((kind for magic, kind in _COMPRESSED.items() if head.startswith(magic)), None)
    if packed:
        raise InputError(
            f"is {packed}, not CSV text",
            file=path,
            fix="decompress it and read the .csv inside, or export the data as Parquet",
        )
    refuse_utf16(head, path)
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    first, newline, _ = text.partition("\n")
    if not newline and len(head) > MAX_HEADER_BYTES:
        raise InputError(
            f"has a header line longer than {MAX_HEADER_BYTES:,} bytes",
            file=path,
            fix=_WIDTH_FIX,
        )
    try:  # the first line (a name with a quoted line break is cut there: a pre-check only)
        return next(csv.reader([first.removesuffix("\r")]), [])
    except csv.Error:  # a name past csv's field limit: count the commas instead
        return first.split(",")


def parquet_rows(path: Path) -> int | None:
    """A Parquet file's row count from its metadata, no row parsed; None for any other path
    (a CSV file, a source.toml label or glob)."""
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return None
    return int(pl.scan_parquet(path).select(pl.len()).collect().item())


def _parquet_names(path: Path) -> list[str]:
    """A Parquet file's column names, refusing a footer too large to parse first."""
    size = path.stat().st_size
    if size >= 12:
        with path.open("rb") as handle:
            handle.seek(size - 8)
            tail = handle.read(8)
        footer = int.from_bytes(tail[:4], "little")
        # a footer longer than the file is a corrupt file: Polars says so below
        if tail[4:] == b"PAR1" and MAX_PARQUET_FOOTER_BYTES < footer <= size - 12:
            raise InputError(
                f"has {footer:,} bytes of Parquet metadata, more than {MAX_PARQUET_FOOTER_BYTES:,}",
                file=path,
                fix=_WIDTH_FIX,
            )
    return list(pl.read_parquet_schema(path))


def check_numeric_columns(
    lazy: pl.LazyFrame, schema: pl.Schema, columns: list[str], path: Path
) -> None:
    """`check_numeric` for many columns in one pass over the file (the first bad one, in the
    given order, is named): a catalog of thousands of metrics reads the file once, not once
    per metric."""
    texts = [
        c
        for c in dict.fromkeys(columns)
        if not (schema[c].is_numeric() or schema[c] == pl.Boolean or schema[c] == pl.Null)
    ]
    if not texts:
        return
    firsts = lazy.select(
        pl.col(c)
        .drop_nulls()
        .filter(pl.col(c).drop_nulls().cast(pl.Float64, strict=False).is_null())
        .first()
        for c in texts
    ).collect()
    for column in texts:
        sample = firsts[column].item()
        if sample is not None:
            raise InputError(
                f"holds {schema[column]} values such as {sample!r}, not numbers",
                file=path,
                column=column,
                fix="export the metric as numbers (true/false is read as 1/0)",
            )


def kind_of(columns: list[str]) -> FileKind:
    """Summary files carry `metric` and `n` plus sums or moments; wide summaries carry both arms
    on one row (count_c/count_t, mean_c/mean_t, variance_c/variance_t); else unit-level."""
    if set(WIDE_COLUMNS) <= set(columns):
        return "wide"
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


def check_dates(lazy: pl.LazyFrame, dtype: pl.DataType, path: Path, catalog: Catalog) -> None:
    """Raise InputError naming the date column when its text is not ISO dates."""
    if dtype != pl.String:
        return
    col = pl.col("date")
    bad = col.drop_nulls().filter(col.drop_nulls().str.to_date(strict=False).is_null())
    sample = lazy.select(bad.first()).collect().item()
    if sample is not None:
        raise InputError(
            f"holds {sample!r}, not a date",
            file=path,
            column=catalog.column("date"),
            fix="write exposure dates as ISO dates, e.g. 2026-01-31",
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
    col = pl.col(column)
    bad = col.drop_nulls().filter(col.drop_nulls().cast(pl.Float64, strict=False).is_null())
    sample = lazy.select(bad.first()).collect().item()
    if sample is None:  # all empty (a CSV reads that as text) or all numbers after all
        return
    raise InputError(
        f"holds {dtype} values such as {sample!r}, not numbers",
        file=path,
        column=column,
        fix="export the metric as numbers (true/false is read as 1/0)",
    )
