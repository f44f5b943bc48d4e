"""The streaming files path aggregates more data than a memory cap without holding it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from engine_helpers import write_source

ROWS = 15_000_000
CHILD = """
import json, sys
from nsexp.io import load_dataset
import nsexp.analysis.readout, nsexp.io.engines.polars  # imports: baseline

def peak_kib():  # VmHWM: this process's own peak RSS (ru_maxrss can inherit the parent's)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))

base = peak_kib()
dataset = load_dataset(sys.argv[1])
peak = peak_kib()
n = dataset.summary.filter(dataset.summary["metric"] == "lessons")["n"].sum()
print(json.dumps({"base_kib": base, "peak_kib": peak, "n": int(n)}))
"""


def _generate(root: Path, rows: int) -> int:
    """Seeded rows written by Polars' streaming sink; returns their in-memory size in bytes."""
    i = pl.col("i")
    lazy = pl.LazyFrame().select(pl.int_range(0, rows, dtype=pl.Int64).alias("i"))
    lazy = lazy.select(
        pl.format("exp_{}", i % 20).alias("experiment"),
        pl.when(i.hash(1) % 2 == 0)
        .then(pl.lit("control"))
        .otherwise(pl.lit("treatment"))
        .alias("variant"),
        ((i.hash(2) % 1000) / 100.0).alias("lessons"),
        (i.hash(3) % 2).cast(pl.Int8).alias("retained"),
        ((i.hash(4) % 600) / 10.0).alias("minutes"),
        (i.hash(5) % 5 + 1).cast(pl.Int32).alias("sessions"),
    )
    (root / "parts").mkdir(parents=True)
    lazy.sink_parquet(root / "parts" / "events.parquet", engine="streaming")
    sample = 100_000
    return lazy.head(sample).collect().estimated_size() * rows // sample


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux VmHWM")
def test_streaming_aggregation_stays_under_a_quarter_of_the_data(tmp_path: Path) -> None:
    size = _generate(tmp_path, ROWS)
    (tmp_path / "metrics.toml").write_text(
        '[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'
        '[metrics.retained]\nrole = "leading"\ntype = "proportion"\n'
        '[metrics.mps]\nrole = "leading"\ntype = "ratio"\nnumerator = "minutes"\n'
        'denominator = "sessions"\n'
    )
    write_source(tmp_path, engine="polars", path="parts")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["n"] == ROWS
    growth = (report["peak_kib"] - report["base_kib"]) * 1024
    assert size > 500e6
    assert growth < size / 4, f"aggregation grew RSS by {growth / 1e6:.0f} MB of {size / 1e6:.0f}"
    assert report["peak_kib"] * 1024 < size / 2  # the whole process, imports included
