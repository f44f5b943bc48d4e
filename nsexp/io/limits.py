"""What one read may cost, checked before the work it bounds (docs/data.md, "Limits").

- rows and cells (rows × columns) over all data files: from each Parquet file's metadata (row
  groups' row counts, no page decoded) or a count of a CSV's line breaks, before a row is parsed;
- arm-metrics (experiments × arms × metrics: the figures a readout computes and keeps) from the
  summary, before any statistic;
- unit-resamples (an experiment's units × bootstrap resamples: the Poisson weights a bootstrap
  may draw) from the units counted, before the app resamples (an upload's limit only: the CLI's
  `--bootstrap` is asked for by whoever runs it).

The app holds every upload to UPLOAD_LIMITS, so one request's CPU and memory stay bounded. The
CLI and an operator's own data directory read NSEXP_MAX_ROWS, NSEXP_MAX_CELLS and
NSEXP_MAX_ARM_METRICS (like nsexp.store.storage's NSEXP_MAX_STORAGE_MB), unset by default:
unlimited, because the engine streams a warehouse table of a billion rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from nsexp.errors import InputError
from nsexp.io.files import check_width, parquet_rows

ENV = {"rows": "NSEXP_MAX_ROWS", "cells": "NSEXP_MAX_CELLS", "arm_metrics": "NSEXP_MAX_ARM_METRICS"}
_CHUNK = 1 << 24
_SHRINK_FIX = {
    "rows": "aggregate the units first: summary rows (one per experiment, arm and metric)",
    "cells": "drop the columns no metric reads, or aggregate the units to summary rows",
    "arm_metrics": "read fewer experiments at a time (e.g. one quarter's), or fewer metrics",
    "unit_resamples": "run `nsexp readout --bootstrap N` on the data, where it has no limit",
}


@dataclass(frozen=True)
class Limits:
    """Upper bounds on one read (None: unlimited); `operator`: set in the environment, so a
    refusal names the variable to raise."""

    rows: int | None = None
    cells: int | None = None
    arm_metrics: int | None = None
    unit_resamples: int | None = None
    operator: bool = False

    @classmethod
    def from_env(cls) -> Limits:
        """The operator's limits, from NSEXP_MAX_ROWS, NSEXP_MAX_CELLS, NSEXP_MAX_ARM_METRICS."""
        return cls(**{name: _env_count(env) for name, env in ENV.items()}, operator=True)

    def fix(self, name: str) -> str:
        """How to get under the limit `name`: shrink the data, or (an operator's) raise it."""
        if self.operator and name in ENV:
            return f"{_SHRINK_FIX[name]}, or raise {ENV[name]}"
        return _SHRINK_FIX[name]


# Uploads to the app (docs/deployment.md, "Limits"): a 1,000-experiment × 10-arm × 3-metric
# portfolio (30,000 arm-metrics) fits, and the demo's 100,000-unit experiment at the largest
# bootstrap offered (10,000 resamples); on a 2-core server a save or a readout at these limits
# takes seconds (bench/limits.py), and a readout with its learning keeps about 150 MB.
UPLOAD_LIMITS = Limits(
    rows=10_000_000, cells=50_000_000, arm_metrics=40_000, unit_resamples=1_000_000_000
)


def check_files(paths: Iterable[Path], limits: Limits) -> None:
    """Refuse data files whose rows or cells, all files together, pass the limits: counted from
    Parquet metadata and CSV line breaks, before any row is parsed."""
    if limits.rows is None and limits.cells is None:
        return
    rows = cells = 0
    for path in paths:
        shape = _shape(path)
        if shape is None:  # unreadable: the reader says why, with the file named
            continue
        rows, cells = rows + shape[0], cells + shape[0] * shape[1]
        for name, count in (("rows", rows), ("cells", cells)):
            limit = getattr(limits, name)
            if limit is not None and count > limit:
                what = "rows" if name == "rows" else "cells (rows × columns)"
                raise InputError(
                    f"the data files hold at least {count:,} {what}, more than the limit of "
                    f"{limit:,}",
                    file=path,
                    fix=limits.fix(name),
                )


def check_arm_metrics(summary: pl.DataFrame, limits: Limits) -> None:
    """Refuse a summary with more experiment × arm × metric figures than the limit, before a
    readout computes them."""
    if limits.arm_metrics is None:
        return
    count = summary.select(pl.struct("experiment", "variant", "metric").n_unique()).item()
    if count > limits.arm_metrics:
        experiments = summary["experiment"].n_unique()
        raise InputError(
            f"the data holds {count:,} experiment × arm × metric figures ({experiments:,} "
            f"experiments), more than the limit of {limits.arm_metrics:,} per readout",
            fix=limits.fix("arm_metrics"),
        )


def check_resamples(units: int, resamples: int, limits: Limits) -> None:
    """Refuse a bootstrap of `resamples` over `units` units whose Poisson weights (one per unit
    and resample, at most) pass the limit, before a unit is read."""
    limit = limits.unit_resamples
    if limit is not None and units * resamples > limit:
        raise InputError(
            f"a bootstrap of {resamples:,} resamples of {units:,} units draws up to "
            f"{units * resamples:,} weights, more than the limit of {limit:,} per request",
            fix=limits.fix("unit_resamples"),
        )


def _shape(path: Path) -> tuple[int, int] | None:
    """(rows, columns) of a data file without parsing a row; None when it cannot be opened."""
    try:
        names = check_width(path)
        rows = parquet_rows(path)
        if rows is None:
            rows = max(_line_breaks(path) - 1, 0)  # an upper bound: quoted breaks count too
    except (pl.exceptions.PolarsError, OSError):
        return None
    return rows, len(names)


def _line_breaks(path: Path) -> int:
    """Records of a text file, counted as line breaks (plus an unterminated last line)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _env_count(env: str) -> int | None:
    """A positive whole number from the environment; None when unset or empty."""
    raw = os.environ.get(env, "").strip()
    if not raw:
        return None
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(
            f"{env}={raw[:40]!r} is not a positive whole number",
            fix=f"set {env} to a limit such as 10000000, or unset it for no limit",
        )
    return value
