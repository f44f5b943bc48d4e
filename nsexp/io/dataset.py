"""Load a data directory (or one file) into a validated Dataset of sufficient statistics."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import polars as pl

from nsexp.config.catalog import Catalog, load_catalog
from nsexp.config.experiments import (
    DecisionDefaults,
    ExperimentInfo,
    load_plan,
    usual_control,
)
from nsexp.config.toml import toml_key
from nsexp.errors import InputError
from nsexp.io import schema
from nsexp.io.cross import cross_totals, empty_cross
from nsexp.io.cumulative import as_daily
from nsexp.io.engines import SOURCE_FILE, SourceConfig, load_source, read_source
from nsexp.io.files import check_dates, data_files, kind_of, require_variant, scan
from nsexp.io.limits import Limits, check_arm_metrics, check_files
from nsexp.io.order import KeyOrder, key_order
from nsexp.io.overflow import check_finite_sums
from nsexp.io.schema import KEYS, SUMMARY_SCHEMA
from nsexp.io.segment import drop_thin_segments, segment_infos, tag_segment, unit_files
from nsexp.io.summary import read_summary
from nsexp.io.units import FileRead, aggregate_units
from nsexp.io.wide import read_wide

DATA_DIR_ENV = "NSEXP_DATA_DIR"
ORDER = ("experiment", "metric", "variant", "date")  # the order of Dataset.summary's rows


@dataclass(frozen=True)
class Experiment:
    """One experiment as found in the data: its arms, the control, and what the data showed."""

    id: str
    info: ExperimentInfo
    variants: tuple[str, ...]
    control: str
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every variant but the control, in sorted order."""
        return tuple(v for v in self.variants if v != self.control)


@dataclass(frozen=True)
class Dataset:
    """Everything a readout needs: catalog, experiments and the summary table."""

    catalog: Catalog
    experiments: dict[str, Experiment]
    summary: pl.DataFrame
    units: pl.DataFrame
    files: tuple[str, ...] = ()
    fingerprint: str = ""
    has_dates: bool = False
    segment: str | None = None
    cross: pl.DataFrame = field(default_factory=empty_cross)  # nsexp.io.cross, totalled
    decision: DecisionDefaults = field(default_factory=DecisionDefaults)  # experiments.toml
    as_of: dt.date | None = None  # only the data up to this date (nsexp.analysis.asof)
    # The summary's rows' keys as load_dataset ranked them (not an argument, so a copy with
    # other rows, dataclasses.replace, never carries it): the totals reuse them.
    loaded_order: KeyOrder | None = field(default=None, init=False, repr=False, compare=False)

    @functools.cached_property
    def totals(self) -> pl.DataFrame:
        """The summary collapsed over dates, one row per experiment, variant and metric:
        computed once, whichever readouts of the data follow."""
        return schema.totals(self.summary, self.loaded_order)  # rows in ORDER, as totals wants


def default_data_dir() -> Path:
    """./data, unless NSEXP_DATA_DIR says otherwise."""
    return Path(os.environ.get(DATA_DIR_ENV, "data"))


def load_dataset(
    path: str | Path,
    metrics: str | Path | None = None,
    segment: str | None = None,
    control: str | None = None,
    limits: Limits | None = None,
) -> Dataset:
    """Read a data directory or one data file, with metrics.toml beside it unless given.

    With `segment`, unit-level rows are split by that column: each experiment's segment is read
    as an experiment of its own (see nsexp.io.segment). `control` names the control arm of
    experiments that experiments.toml does not cover (the CLI's --control). `limits` bound the
    rows and cells read and the figures a readout will compute (default: the NSEXP_MAX_...
    environment variables, unset: none; nsexp.io.limits)."""
    path = Path(path)
    limits = Limits.from_env() if limits is None else limits
    root, source, files = _locate(path)
    catalog = load_catalog(metrics if metrics is not None else root / "metrics.toml")
    infos, decision = load_plan(root / "experiments.toml")
    if source is None:
        check_files(files, limits)
    # the files hashed beside the scan (blake2b and file reads release the GIL): a core the scan
    # leaves idle does it (~1 s of a 100M-row file); a segment or a source reads other files
    beside = source is None and segment is None
    hashed = _Hashing([*files, Path(catalog.path or "")]) if beside else None
    files, reads = _read_all(root, source, files, catalog, segment)
    summary = pl.concat([r.summary for r in reads]).select(list(SUMMARY_SCHEMA))
    check_arm_metrics(summary, limits)
    order = _summary_order(reads, summary)
    if order is None or order.repeated:
        _check_duplicates(summary, files)
    _check_every_metric_read(reads, catalog)
    where = _files_by_experiment(reads, files)
    present = _present(summary, order)
    _check_complete(present, catalog, where)
    if segment is not None:
        infos = segment_infos(infos, summary["experiment"].unique().to_list(), segment)
    asked = Choice(control, None, catalog.column("variant"))
    units = pl.concat([r.units for r in reads], how="vertical_relaxed")
    dataset = Dataset(
        catalog=catalog,
        experiments=_experiments(present, reads, infos, root, asked, where),
        summary=summary.sort(ORDER) if order is None else summary[order.order],
        units=units.group_by("experiment", "variant", "date").agg(pl.col("units").sum()),
        files=tuple(str(f) for f in files),
        fingerprint=hashed.result() if hashed else fingerprint([*files, Path(catalog.path or "")]),
        has_dates=summary["date"].null_count() < summary.height,
        segment=segment,
        cross=cross_totals(
            pl.concat([r.cross for r in reads if r.cross is not None] or [empty_cross()])
        ),
        decision=decision,
    )
    if order is not None:
        object.__setattr__(dataset, "loaded_order", order.stored())  # frozen; see loaded_order
    return dataset


def _locate(path: Path) -> tuple[Path, SourceConfig | None, list[Path]]:
    """The data's root directory, its source.toml (if any) and the files to read: the one file
    given, the directory's data files, or source.toml itself when it names where the rows are."""
    if not path.exists():
        raise InputError(
            "no such file or directory", file=path, fix="pass a data directory or a data file"
        )
    root = path if path.is_dir() else path.parent
    source = load_source(root) if path.is_dir() else None
    files = data_files(root) if path.is_dir() else [path]
    if source is not None:  # source.toml names where the rows are; the directory's files are not
        files = [root / SOURCE_FILE]
    if path.is_file() and path.suffix.lower() not in (".csv", ".parquet"):
        raise InputError("not a CSV or Parquet file", file=path, fix="pass a .csv or .parquet")
    if not files:
        raise InputError(
            "no CSV or Parquet files in the directory",
            file=path if path.name not in ("", "..") else os.path.abspath(path),  # not "."
            fix="add experiment data (*.csv or *.parquet) or point at another directory",
        )
    return root, source, files


def _read_all(
    root: Path,
    source: SourceConfig | None,
    files: list[Path],
    catalog: Catalog,
    segment: str | None,
) -> tuple[list[Path], list[FileRead]]:
    """Every file read (or the source's one aggregation), split by `segment` when asked; with
    the files actually read (a segment reads the unit-level ones only)."""
    if source is not None and segment is not None:
        raise InputError(
            "segments are read from unit-level files, not from source.toml",
            file=root / SOURCE_FILE,
            fix="drop --segment, or point at a directory of unit-level files",
        )
    if source is not None:
        read = read_source(source, catalog)
        check_finite_sums(read.summary, catalog, root / SOURCE_FILE)
        return files, [read]
    if segment is None:
        return files, [_read_file(f, catalog) for f in files]
    files = unit_files(files, catalog, segment)
    return files, drop_thin_segments([_read_file(f, catalog, segment) for f in files], segment)


def _check_every_metric_read(reads: list[FileRead], catalog: Catalog) -> None:
    """Every metric of the catalog was found in some file: a misspelt column fails here."""
    seen = set().union(*(r.metrics for r in reads))
    absent = [m for m in catalog.metrics if m not in seen]
    if absent:
        metric = catalog.metrics[absent[0]]
        raise InputError(
            f"metric '{metric.id}' is in the catalog but no data file has it",
            file=catalog.path,
            column=", ".join(metric.columns),
            fix=f"check the column name in [metrics.{metric.id}] or remove the metric",
        )


def _experiments(
    present: pl.DataFrame,
    reads: list[FileRead],
    infos: dict[str, ExperimentInfo],
    root: Path,
    asked: Choice,
    where: dict[str, str],
) -> dict[str, Experiment]:
    """Each experiment of the summary (`present`: each experiment, variant and metric with
    rows) with its arms, control, and the files' problems and notes; `asked`: the control
    asked for (--control), `where`: each experiment's files."""
    problems = _merge(r.problems for r in reads)
    notes = _merge(r.notes for r in reads)
    arms = present.group_by("experiment").agg(pl.col("variant").unique().sort())
    out = {
        eid: _experiment(
            eid,
            tuple(arms_of),
            infos,
            problems.get(eid, []),
            notes.get(eid, []),
            root,
            asked._replace(file=where.get(eid)),
        )
        for eid, arms_of in sorted(arms.iter_rows())
    }
    ignored = [e for e in out.values() if e.control != asked.control]
    if asked.control is not None and ignored and all(e.info.control for e in out.values()):
        raise InputError(
            f"--control {asked.control!r} applies to no experiment: experiments.toml names "
            f"the control of every one (e.g. {ignored[0].id}: {ignored[0].control!r})",
            file=root / "experiments.toml",
            fix="drop --control, or remove control from the experiments it should choose for",
        )
    return out


class _Hashing:
    """`fingerprint(paths)` computed in a thread from now on; `result()` waits for it."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths, self._found = paths, ""
        self._thread = threading.Thread(target=self._hash, daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        with contextlib.suppress(OSError):  # a file gone or unreadable: result() hashes again
            self._found = fingerprint(self._paths)

    def result(self) -> str:
        """The fingerprint, hashed again here where the thread could not read a file."""
        self._thread.join()
        return self._found or fingerprint(self._paths)


def fingerprint(paths: list[Path]) -> str:
    """A short content hash of the given files (names and bytes), to tell data versions apart;
    ordered by file name, so the same files give the same hash wherever they sit."""
    digest = hashlib.blake2b(digest_size=8)
    for p in sorted((p for p in paths if p.is_file()), key=lambda p: (p.name, str(p))):
        digest.update(p.name.encode())
        with p.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _read_file(path: Path, catalog: Catalog, segment: str | None = None) -> FileRead:
    lazy = scan(path, catalog)
    schema = lazy.collect_schema()
    columns = schema.names()
    require_variant(columns, path, catalog)
    try:
        if "date" in columns:
            check_dates(lazy, schema["date"], path, catalog)
        if segment is not None:
            lazy = tag_segment(lazy, path, segment, kind_of(columns))
        if kind_of(columns) == "wide":
            return read_wide(lazy, path, catalog)
        if kind_of(columns) == "summary":
            return as_daily(read_summary(lazy, path, catalog), path, catalog)
        read = aggregate_units(lazy, path, catalog)
        check_finite_sums(read.summary, catalog, path)
        return read
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        # a lazy scan may first meet bad bytes deep in the file, in any of the checks
        raise InputError(
            f"cannot read the file ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            file=path,
            fix="check that it is a valid CSV (UTF-8 text) or Parquet file",
        ) from exc


def _files_by_experiment(reads: list[FileRead], files: list[Path]) -> dict[str, str]:
    """Experiment -> the file (or files) its rows came from, for error messages."""
    found: dict[str, list[str]] = {}
    for read, path in zip(reads, files, strict=False):
        for eid in read.summary["experiment"].unique().sort():
            found.setdefault(eid, []).append(str(path))
    return {eid: ", ".join(paths) for eid, paths in found.items()}


def _summary_order(reads: list[FileRead], summary: pl.DataFrame) -> KeyOrder | None:
    """The summary's key order by ORDER: a lone summary file's uniqueness check's, its keys
    (experiment, variant, date, metric) taken in ORDER's order, else ranked afresh."""
    found = reads[0].order if len(reads) == 1 else None
    if found is None:
        return key_order(summary, list(ORDER))
    if len(found.sizes) == 3:  # an undated file: its one date (null) is one value
        found = found._replace(sizes=(*found.sizes[:2], 1, found.sizes[2]))
    return found.regrouped((0, 3, 1, 2))


def _present(summary: pl.DataFrame, order: KeyOrder | None) -> pl.DataFrame:
    """Each experiment, variant and metric the summary has rows of, once (in any order): the
    first row of each run of those keys in the rows' ORDER, else Polars' unique."""
    present = summary.select("experiment", "variant", "metric")
    if order is None:
        return present.unique()
    return present[order.order[order.starts(3)]]  # ORDER's first three keys


def _check_complete(present: pl.DataFrame, catalog: Catalog, where: dict[str, str]) -> None:
    """Every experiment has two variants or more, measures the North Star, and has every
    measured metric in every variant (`present`: each experiment, variant and metric with
    rows, once): a metric missing in one arm cannot be compared."""
    ns = catalog.north_star
    arms = present.select("experiment", "variant").unique()
    measured = present.select("experiment", "metric").unique()
    lone = (
        arms.group_by("experiment")
        .agg(pl.col("variant").first(), pl.len())
        .filter(pl.col("len") < 2)
    )
    if lone.height:
        row = lone.sort("experiment").row(0, named=True)
        raise InputError(
            f"experiment {row['experiment']} has only one variant ({row['variant']})",
            file=where.get(row["experiment"]),
            column="variant",
            fix="an A/B test needs a control and at least one treatment in the data",
        )
    no_ns = (
        arms.select("experiment")
        .unique()
        .join(measured.filter(pl.col("metric") == ns.id), on="experiment", how="anti")
        .sort("experiment")
    )
    if no_ns.height:
        eid = no_ns["experiment"][0]
        raise InputError(
            f"experiment {eid} has no data for the North Star '{ns.id}'",
            file=where.get(eid),
            column=", ".join(ns.columns),
            fix="add the North Star to that experiment's data, or move the experiment elsewhere",
        )
    gaps = (
        arms.join(measured, on="experiment")
        .join(present, on=["experiment", "variant", "metric"], how="anti")
        .sort("experiment", "metric", "variant")
    )
    if gaps.height:
        row = gaps.row(0, named=True)
        raise InputError(
            f"experiment {row['experiment']} has metric '{row['metric']}' for other variants "
            f"but not for variant '{row['variant']}'",
            file=where.get(row["experiment"]),
            column="metric",
            fix="give every variant rows for each metric, or drop that metric's rows",
        )


def _merge(dicts: Iterable[dict[str, list[str]]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for d in dicts:
        for key, values in d.items():
            merged.setdefault(key, []).extend(values)
    return merged


class Choice(NamedTuple):
    """The control asked for on the command line (or None), and where the experiment's
    variants come from (its file and the variant column's name there), for messages."""

    control: str | None
    file: str | None
    column: str = "variant"


def _control(
    eid: str, variants: tuple[str, ...], info: ExperimentInfo, source: Path, asked: Choice
) -> str:
    """The control arm: experiments.toml's, else the one asked for (--control), else the one
    variant with a usual control name; never a guess (an InputError says how to choose)."""
    if info.control is not None:
        if info.control not in variants:
            raise InputError(
                f"[experiments.{toml_key(eid)}] control = {info.control!r} is not in the data "
                f"(variants: {', '.join(variants)})",
                file=source,
                fix="name one of the variants found in the data as the control",
            )
        return info.control
    if asked.control is not None:
        if asked.control not in variants:
            raise InputError(
                f"--control {asked.control!r} is not a variant of experiment {eid} "
                f"(variants: {', '.join(variants)})",
                file=asked.file,
                column=asked.column,
                fix="pass one of the variants found in the data",
            )
        return asked.control
    found = usual_control(variants)
    if found is None:
        raise InputError(
            f"experiment {eid} has no variant named like a control (variants: "
            f"{', '.join(variants)}), and nsexp does not guess which arm is the control",
            file=asked.file,
            column=asked.column,
            fix=f"pass --control VARIANT for a one-experiment path, add [experiments."
            f'{toml_key(eid)}] control = "{variants[0]}" (or another variant) to '
            "experiments.toml, or pick the control on the app's Data page",
        )
    return found


def _check_duplicates(summary: pl.DataFrame, files: list[Path]) -> None:
    dupes = summary.filter(pl.struct(list(KEYS)).is_duplicated())
    if dupes.height:
        row = dupes.row(0, named=True)
        raise InputError(
            f"experiment {row['experiment']} metric {row['metric']} variant {row['variant']} "
            "appears in more than one file",
            file=", ".join(f.name for f in files),
            fix="keep each experiment's data in one file, or split the files by date",
        )


def _experiment(
    eid: str,
    variants: tuple[str, ...],
    infos: dict[str, ExperimentInfo],
    problems: list[str],
    notes: list[str],
    root: Path,
    asked: Choice,
) -> Experiment:
    info = infos.get(eid, ExperimentInfo(id=eid))
    source = root / "experiments.toml"
    if len(variants) < 2:
        raise InputError(
            f"experiment {eid} has only one variant ({variants[0]})",
            column="variant",
            file=source if eid in infos else None,
            fix="an A/B test needs a control and at least one treatment in the data",
        )
    control = _control(eid, variants, info, source, asked)
    unknown = sorted(set(info.expected_split) - set(variants))
    if unknown:
        raise InputError(
            f"[experiments.{eid}] expected_split names variant {unknown[0]!r}, not in the data",
            file=source,
            fix=f"use the variants found: {', '.join(variants)}",
        )
    if info.expected_split and set(info.expected_split) != set(variants):
        lacking = sorted(set(variants) - set(info.expected_split))
        raise InputError(
            f"[experiments.{eid}] expected_split has no share for variant {lacking[0]!r}",
            file=source,
            fix="give every variant a share",
        )
    return Experiment(
        id=eid,
        info=info,
        variants=variants,
        control=control,
        problems=tuple(problems),
        notes=tuple(notes),
    )
