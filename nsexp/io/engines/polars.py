"""The default engine: Polars lazy scans with projection and predicate pushdown, streaming."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from nsexp.config.catalog import COLUMN_KEYS, Catalog
from nsexp.config.source import SourceConfig
from nsexp.errors import InputError
from nsexp.io.files import kind_of, require_variant
from nsexp.io.summary import read_summary
from nsexp.io.units import PREFETCH_ENV, PREFETCH_ROW_GROUPS, FileRead, aggregate_units


def scan_source(config: SourceConfig, catalog: Catalog) -> pl.LazyFrame:
    """One lazy frame over a file, a directory or a glob of Parquet (or CSV) files."""
    path = config.path
    assert path is not None
    pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
    try:
        if pattern.lower().endswith(".csv"):
            lazy = pl.scan_csv(pattern, infer_schema_length=10_000)
        else:
            lazy = pl.scan_parquet(pattern)
        names = lazy.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(
            f"cannot read {pattern} ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            file=config.file,
            fix="check path in source.toml: a Parquet/CSV file, a directory or a glob",
        ) from exc
    names_of = {k: config.columns.get(k, catalog.column(k)) for k in COLUMN_KEYS}
    renames = {v: k for k, v in names_of.items() if v in names and v != k}
    lazy = lazy.rename(renames) if renames else lazy
    if config.experiments and "experiment" in [renames.get(n, n) for n in names]:
        # Predicate pushdown: row groups of other experiments are skipped by their statistics.
        lazy = lazy.filter(pl.col("experiment").cast(pl.String).is_in(list(config.experiments)))
    return lazy


def read_files(config: SourceConfig, catalog: Catalog) -> FileRead:
    """Aggregate the files named by source.toml in one streaming Polars query."""
    os.environ.setdefault(PREFETCH_ENV, PREFETCH_ROW_GROUPS)
    lazy = scan_source(config, catalog)
    columns = lazy.collect_schema().names()
    label = Path(config.path or config.file)
    require_variant(columns, label, catalog)
    if kind_of(columns) == "summary":
        return read_summary(lazy, label, catalog)
    return aggregate_units(lazy, label, catalog)
