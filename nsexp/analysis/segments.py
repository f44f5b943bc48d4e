"""The readout per segment value (`--segment COLUMN`), and whether the effect differs by segment.

Each experiment's segment is read out as an experiment of its own (nsexp.io.segment): its own
SRM check and its own multiple-testing families. Per experiment, treatment and metric, Cochran's
Q then tests whether the relative effect (delta-method SE) is the same in every segment.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.config.catalog import Catalog
from nsexp.errors import InputError
from nsexp.io import Dataset
from nsexp.io.files import kind_of, scan
from nsexp.io.segment import MAX_SEGMENT_VALUES, split_id
from nsexp.stats.heterogeneity import cochran_q

_RESERVED = ("experiment", "variant", "unit_id", "date")


@dataclass(frozen=True)
class SegmentReadout:
    """A readout per segment of each experiment, plus a heterogeneity test per metric."""

    column: str
    readout: Readout
    segments: dict[str, list[tuple[str, str]]]
    heterogeneity: pl.DataFrame = field(repr=False)


def segment_readout(
    dataset: Dataset, settings: Settings | None = None, experiment: str | None = None
) -> SegmentReadout:
    """Read out every segment of every experiment (or one), and test heterogeneity."""
    if dataset.segment is None:
        raise InputError(
            "the data was not read by segment", fix="load it with load_dataset(..., segment=COL)"
        )
    column = dataset.segment
    bases = {eid: split_id(eid, column) for eid in dataset.experiments}
    if experiment is not None:
        if experiment not in {b for b, _ in bases.values()}:
            known = ", ".join(sorted({b for b, _ in bases.values()}))
            raise InputError(
                f"no experiment {experiment!r} in the data", fix=f"use one of: {known}"
            )
        keep = {e: x for e, x in dataset.experiments.items() if bases[e][0] == experiment}
        dataset = dataclasses.replace(dataset, experiments=keep)
    readout = build_readout(dataset, settings or Settings())
    segments: dict[str, list[tuple[str, str]]] = {}
    for eid in readout.experiments:
        base, value = bases[eid]
        segments.setdefault(base, []).append((value, eid))
    return SegmentReadout(
        column=column,
        readout=readout,
        segments=segments,
        heterogeneity=heterogeneity(readout.results, column),
    )


def experiment_file(dataset: Dataset, experiment: str) -> Path | None:
    """The unit-level file holding an experiment's rows (named after it, or with an
    `experiment` column that names it); None for summary data or several files."""
    found = []
    for name in dataset.files:
        path = Path(name)
        if not path.is_file() or path.suffix.lower() not in (".csv", ".parquet"):
            continue
        lazy = scan(path, dataset.catalog)
        names = lazy.collect_schema().names()
        if kind_of(names) != "unit":
            continue
        if "experiment" in names:
            ids = lazy.select(pl.col("experiment").cast(pl.String).unique()).collect()
            if experiment not in ids.to_series().to_list():
                continue
        elif path.stem != experiment:
            continue
        found.append(path)
    return found[0] if len(found) == 1 else None


def segment_columns(path: str | Path, catalog: Catalog) -> list[str]:
    """Columns of a unit-level file that can split it into segments: text or true/false
    columns, not an id, date or metric column, with 2 to MAX_SEGMENT_VALUES distinct values."""
    lazy = scan(Path(path), catalog)
    schema = lazy.collect_schema()
    used = {c for m in catalog.metrics.values() for c in (*m.columns, m.covariate) if c}
    candidates = [
        c
        for c, t in schema.items()
        if c not in _RESERVED
        and c not in used
        and (t == pl.String or t == pl.Boolean or isinstance(t, pl.Categorical | pl.Enum))
    ]
    if not candidates:
        return []
    counts = lazy.select(pl.col(c).n_unique() for c in candidates).collect().row(0)
    return [c for c, k in zip(candidates, counts, strict=True) if 2 <= k <= MAX_SEGMENT_VALUES]


def heterogeneity(results: pl.DataFrame, column: str) -> pl.DataFrame:
    """Cochran's Q of the relative effect across segments, per experiment, treatment, metric."""
    base = [split_id(e, column)[0] for e in results["experiment"]]
    frame = results.with_columns(pl.Series("base", base, dtype=pl.String))
    keys = frame.select(
        pl.concat_str(["base", "variant", "metric"], separator="\x1f").alias("k")
    ).to_series()
    test = cochran_q(
        frame["rel_effect"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        frame["rel_se"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
        keys.to_numpy(),
    )
    groups = np.unique(keys.to_numpy())
    parts = [g.split("\x1f") for g in groups]
    rank = {m: i for i, m in enumerate(results["metric"].unique(maintain_order=True))}
    return (
        pl.DataFrame(
            {
                "experiment": [p[0] for p in parts],
                "variant": [p[1] for p in parts],
                "metric": [p[2] for p in parts],
                "segments": (test.df + 1).astype(np.int64),
                "pooled_rel_effect": test.pooled,
                "q": test.q,
                "df": test.df.astype(np.int64),
                "p_value": test.p_value,
                "i2": test.i2,
            }
        )
        .with_columns(pl.col("metric").replace_strict(rank, return_dtype=pl.Int64).alias("rank"))
        .sort("experiment", "variant", "rank")
        .drop("rank")
        .with_columns(pl.col(pl.Float64).fill_nan(None))
    )
