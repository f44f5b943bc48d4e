"""Test helpers shared across the suite: seeded unit frames, TOML writers, the repo's paths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.arms import ArmSums

# The catalog most tests use: one metric of every role and type, one with direction decrease.
METRICS: dict[str, dict[str, Any]] = {
    "lessons": {"role": "north_star", "type": "mean", "practical_threshold": 0.02},
    "retained": {"role": "leading", "type": "proportion"},
    "minutes_per_session": {
        "role": "leading",
        "type": "ratio",
        "numerator": "minutes",
        "denominator": "sessions",
    },
    "clicks": {"role": "vanity", "type": "mean", "practical_threshold": 0.05},
    "errors": {"role": "guardrail", "type": "proportion", "direction": "decrease"},
}
# The unit-level columns each metric reads.
METRIC_COLUMNS = ("lessons", "retained", "minutes", "sessions", "clicks", "errors")


def toml_value(value: Any) -> str:
    """One TOML value: strings, numbers, booleans and inline tables of those."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + " }"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Path:
    """Write {"metrics": {"id": {...}}, "columns": {...}}-style nested tables as TOML."""
    lines: list[str] = []
    for top, body in tables.items():
        if body and all(isinstance(v, Mapping) for v in body.values()):
            for name, spec in body.items():
                lines.append(f'[{top}."{name}"]')
                lines += [f"{k} = {toml_value(v)}" for k, v in spec.items()]
                lines.append("")
        else:
            lines.append(f"[{top}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
            lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_metrics(
    directory: Path,
    metrics: Mapping[str, Mapping[str, Any]] | None = None,
    columns: Mapping[str, str] | None = None,
) -> Path:
    """Write metrics.toml (the standard METRICS unless given) into `directory`."""
    tables: dict[str, Any] = {"metrics": dict(metrics if metrics is not None else METRICS)}
    if columns:
        tables["columns"] = dict(columns)
    return write_toml(directory / "metrics.toml", tables)


def make_units(
    seed: int,
    sizes: Mapping[str, int],
    effects: Mapping[str, Mapping[str, float]] | None = None,
    experiment: str | None = None,
    days: int = 0,
) -> pl.DataFrame:
    """Seeded unit-level rows: one per unit, with every METRIC_COLUMNS column.

    Args:
        seed: numpy seed.
        sizes: units per variant, e.g. {"control": 500, "treatment": 500}.
        effects: variant -> {column: multiplier of the column's mean}, e.g. {"t": {"clicks": 1.3}}.
        experiment: adds an `experiment` column with this id when given.
        days: adds a `date` column spread over this many days when > 0.
    """
    rng = np.random.default_rng(seed)
    effects = effects or {}
    parts = []
    offset = 0
    for variant, n in sizes.items():
        lift = {c: 1.0 for c in METRIC_COLUMNS} | dict(effects.get(variant, {}))
        sessions = rng.poisson(4.0 * lift["sessions"], n) + 1
        frame = pl.DataFrame(
            {
                "variant": [variant] * n,
                "unit_id": [f"u{offset + i}" for i in range(n)],
                "lessons": rng.gamma(2.0, 2.5 * lift["lessons"], n),
                "retained": rng.random(n) < 0.4 * lift["retained"],
                "minutes": sessions * rng.gamma(3.0, 2.0 * lift["minutes"], n),
                "sessions": sessions,
                "clicks": rng.poisson(3.0 * lift["clicks"], n).astype(float),
                "errors": (rng.random(n) < 0.05 * lift["errors"]).astype(np.int64),
            }
        )
        if days:
            start = dt.date(2026, 3, 1)
            frame = frame.with_columns(
                pl.Series("date", [start + dt.timedelta(int(d)) for d in rng.integers(0, days, n)])
            )
        parts.append(frame)
        offset += n
    out = pl.concat(parts)
    if experiment is not None:
        out = out.with_columns(pl.lit(experiment).alias("experiment"))
    return out


def write_frame(frame: pl.DataFrame, path: Path) -> Path:
    """Write a frame as CSV or Parquet, by the path's suffix."""
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return path


# --- The Streamlit app (tests/test_app_*.py, tests/test_e2e_browser.py) ---

REPO = Path(__file__).resolve().parents[1]
APP_FILE = REPO / "app.py"
DEMO_DATA = REPO / "data"


def copy_demo(target: Path) -> Path:
    """A private copy of the bundled demo data (without pins or workspaces) at `target`."""
    import shutil

    shutil.copytree(DEMO_DATA, target, ignore=shutil.ignore_patterns("pins", "workspaces"))
    return target


CliRunner = Callable[..., tuple[int, str, str]]
AppOpener = Callable[..., Any]


def result(**fields: Any) -> MetricResult:
    """A MetricResult with placeholder identity fields, overridden by `fields`."""
    base: dict[str, Any] = {
        "experiment": "e",
        "variant": "t",
        "metric": "m",
        "label": "",
        "role": "leading",
        "type": "mean",
        "direction": "increase",
        "practical_threshold": 0.01,
        "n_control": 1000,
        "n_treatment": 1000,
    }
    return MetricResult(**(base | fields))


SIGNUPS = {"signups": {"role": "north_star", "type": "proportion"}}


def counts_readout(
    root: Path, arms: dict[str, tuple[int, int]], settings: Settings | None = None
) -> Readout:
    """A readout of summary rows: variant -> (units, conversions) of one proportion metric."""
    root.mkdir(parents=True, exist_ok=True)
    write_metrics(root, SIGNUPS)
    pl.DataFrame(
        [
            {"experiment": "e", "variant": v, "metric": "signups", "n": n, "sum": x, "sum_sq": x}
            for v, (n, x) in arms.items()
        ]
    ).write_csv(root / "s.csv")
    return build_readout(load_dataset(root), settings or Settings())


def arms_of(x: np.ndarray, n: int) -> ArmSums:
    """One proportion's arm sums of x events out of n units, one entry per x."""
    size, nan = np.full(x.size, float(n)), np.full(x.size, np.nan)
    return ArmSums(size, x, x, nan, nan, nan)
