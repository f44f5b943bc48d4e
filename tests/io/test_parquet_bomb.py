"""What held in the issue's attack stays held: a small, highly compressed Parquet file of
millions of rows is read in bounded memory (streaming), not blown up in memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from helpers import write_metrics

READ = """
import sys
from pathlib import Path
from nsexp.io import load_dataset
load_dataset(sys.argv[1])
status = Path("/proc/self/status").read_text().splitlines()
print(next(int(l.split()[1]) // 1024 for l in status if l.startswith("VmHWM:")))
"""  # VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork)


def bomb(path: Path, rows: int) -> Path:
    """Constant-ish columns that compress to almost nothing."""
    lazy = pl.LazyFrame().select(
        variant=pl.when(pl.int_range(rows) % 2 == 0)
        .then(pl.lit("control"))
        .otherwise(pl.lit("treatment")),
        lessons=pl.int_range(rows) % 3,
    )
    lazy.sink_parquet(path, row_group_size=1_000_000, compression="zstd")
    return path


@pytest.mark.parametrize("rows", [10_000_000])
def test_a_parquet_bomb_reads_in_bounded_memory(tmp_path: Path, rows: int) -> None:
    write_metrics(tmp_path, {"lessons": {"role": "north_star", "type": "mean"}})
    path = bomb(tmp_path / "bomb.parquet", rows)
    assert path.stat().st_size < 3_000_000
    proc = subprocess.run(
        [sys.executable, "-c", READ, str(tmp_path)], capture_output=True, text=True, check=True
    )
    peak_mb = int(proc.stdout.strip().splitlines()[-1])
    assert peak_mb < 400, peak_mb  # the rows alone would be ~250 MB in memory, more as text
