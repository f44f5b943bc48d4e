"""Read unit-level data split by a segment column: each (experiment, segment value) becomes an
experiment of its own, `<experiment>/<column>=<value>`, so it gets its own SRM check and its
own multiple-testing families, and keeps the base experiment's experiments.toml settings.
Summary files in the directory are skipped: they hold no unit rows to split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl

from nsexp.config.catalog import Catalog
from nsexp.config.experiments import ExperimentInfo
from nsexp.errors import InputError
from nsexp.io.files import experiment_expr, kind_of, scan
from nsexp.io.units import FileRead

MISSING = "(none)"
# The most values a segment column may take: each value is read out as an experiment of its
# own, so an id-like column (`--segment unit_id`) would run for minutes. The app offers only
# columns within it; the CLI refuses others before reading out.
MAX_SEGMENT_VALUES = 12


def split_id(eid: str, column: str) -> tuple[str, str]:
    """(base experiment, segment value) of a segment id `<experiment>/<column>=<value>`."""
    base, _, value = eid.rpartition(f"/{column}=")
    return base, value


def tag_segment(lazy: pl.LazyFrame, path: Path, column: str, kind: str) -> pl.LazyFrame:
    """Rewrite the experiment id of unit-level rows to include their segment value."""
    names = lazy.collect_schema().names()
    if kind != "unit":
        raise InputError(
            "segments need unit-level rows, but this file holds summary rows",
            file=path,
            fix="drop --segment, or export one row per unit with the segment column",
        )
    if column not in names:
        raise InputError(
            "no such segment column",
            file=path,
            column=column,
            fix=f"pick one of the file's columns: {', '.join(names)}",
        )
    values = lazy.select(pl.col(column).n_unique()).collect().item()
    if values > MAX_SEGMENT_VALUES:
        raise InputError(
            f"has {values:,} distinct values, more than the {MAX_SEGMENT_VALUES} a segment "
            "readout takes",
            file=path,
            column=column,
            fix=f"segment by a column with 2 to {MAX_SEGMENT_VALUES} values, such as a "
            "platform or country",
        )
    value = pl.col(column).cast(pl.String).fill_null(MISSING)
    return lazy.with_columns(
        pl.concat_str([experiment_expr(names, path), pl.lit(f"/{column}="), value]).alias(
            "experiment"
        )
    )


def segment_infos(
    infos: dict[str, ExperimentInfo], ids: list[str], column: str
) -> dict[str, ExperimentInfo]:
    """experiments.toml settings of each base experiment, copied to each of its segments."""
    out = dict(infos)
    for eid in ids:
        base, _ = split_id(eid, column)
        if base in infos:
            out[eid] = dataclasses.replace(infos[base], id=eid)
    return out


def unit_files(files: list[Path], catalog: Catalog, column: str) -> list[Path]:
    """The unit-level files among `files` (summary files hold no segments and are skipped)."""
    kept = [f for f in files if kind_of(scan(f, catalog).collect_schema().names()) == "unit"]
    if not kept:
        raise InputError(
            f"--segment {column} needs unit-level rows, but the data holds summary rows only",
            file=", ".join(str(f) for f in files),
            fix="drop --segment, or add one row per unit with the segment column",
        )
    return kept


def drop_thin_segments(reads: list[FileRead], column: str) -> list[FileRead]:
    """Leave out segments seen in one variant only (nothing to compare); note it on the
    experiment's other segments. An experiment with no comparable segment stays an error."""
    arms = pl.concat([r.summary.select("experiment", "variant") for r in reads]).unique()
    counts = arms.group_by("experiment").agg(pl.col("variant").n_unique().alias("k"))
    thin = counts.filter(pl.col("k") < 2)["experiment"].to_list()
    if not thin:
        return reads
    keep = counts.filter(pl.col("k") >= 2)["experiment"].to_list()
    bases = {split_id(e, column)[0] for e in keep}
    thin = [e for e in thin if split_id(e, column)[0] in bases]
    out = []
    for read in reads:
        read = FileRead(
            summary=read.summary.filter(~pl.col("experiment").is_in(thin)),
            units=read.units.filter(~pl.col("experiment").is_in(thin)),
            metrics=read.metrics,
            problems=read.problems,
            notes=read.notes,
        )
        out.append(read)
    for eid in thin:
        base, value = split_id(eid, column)
        for other in keep:
            if split_id(other, column)[0] == base:
                out[0].notes.setdefault(other, []).append(
                    f"segment {column}={value} has only one variant and is left out"
                )
    return out
