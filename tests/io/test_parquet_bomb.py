"""What held in the issue's attack stays held: a small, highly compressed Parquet file of
millions of rows is read in bounded memory (streaming), not blown up in memory; and under a
rows limit (an upload's, or NSEXP_MAX_ROWS) it is refused from its metadata, before a row is
decoded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from helpers import write_metrics

READ = """
import sys
from pathlib import Path
from nsexp.errors import InputError
from nsexp.io import load_dataset
try:
    if sys.argv[1:]:  # else the imports alone, for a baseline
        load_dataset(sys.argv[1])
except InputError as exc:
    print(exc.message)
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


ROWS = 10_000_000


@pytest.fixture(scope="module")
def bomb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bomb")
    write_metrics(folder, {"lessons": {"role": "north_star", "type": "mean"}})
    assert bomb(folder / "bomb.parquet", ROWS).stat().st_size < 3_000_000
    return folder


def read(folder: Path | None, **env: str) -> tuple[list[str], int]:
    """load_dataset in a fresh process (None: imports only): what it printed, and its peak
    memory in MB."""
    proc = subprocess.run(
        [sys.executable, "-c", READ, *([str(folder)] if folder else [])],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    lines = proc.stdout.strip().splitlines()
    return lines[:-1], int(lines[-1])


def test_a_parquet_bomb_reads_in_bounded_memory(bomb_dir: Path) -> None:
    printed, peak_mb = read(bomb_dir)
    assert printed == []
    assert peak_mb < 400, peak_mb  # the rows alone would be ~250 MB in memory, more as text


def test_a_parquet_bomb_past_the_rows_limit_is_refused_before_decoding(bomb_dir: Path) -> None:
    printed, peak_mb = read(bomb_dir, NSEXP_MAX_ROWS="1000000")
    assert printed == [
        f"{bomb_dir / 'bomb.parquet'}: the data files hold at least 10,000,000 rows, more than "
        "the limit of 1,000,000; aggregate the units first: summary rows (one per experiment, "
        "arm and metric), or raise NSEXP_MAX_ROWS"
    ]
    _, imports_mb = read(None)
    assert peak_mb < imports_mb + 30, (peak_mb, imports_mb)  # a row group decoded: ~40 MB
