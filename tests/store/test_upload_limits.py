"""An upload past the app's limits (nsexp.io.limits.UPLOAD_LIMITS) is refused at save, before a
row is read, and a workspace is read under the same limits whatever the environment says."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

import nsexp.io.dataset as dataset_module
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.limits import UPLOAD_LIMITS, Limits
from nsexp.store import workspaces as ws

CATALOG = b'[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'


def parquet(rows: int) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(
        {"variant": ["control", "treat"] * (rows // 2), "lessons": [1.0, 2.0] * (rows // 2)}
    ).write_parquet(buffer)
    return buffer.getvalue()


def test_an_upload_past_the_rows_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(ws, "UPLOAD_LIMITS", Limits(rows=100))
    monkeypatch.setenv("NSEXP_MAX_ROWS", "1000000")  # the operator's limit is not an upload's

    def read(*args, **kwargs):
        raise AssertionError("the upload was read before the limit refused it")

    monkeypatch.setattr(dataset_module, "_read_all", read)
    with pytest.raises(InputError) as refused:
        ws.create_workspace(tmp_path, {"big.parquet": parquet(102), "metrics.toml": CATALOG})
    assert refused.value.message == (
        "big.parquet: the data files hold at least 102 rows, more than the limit of 100; "
        "aggregate the units first: summary rows (one per experiment, arm and metric)"
    )
    assert not any((tmp_path / "workspaces").iterdir())  # nothing saved, no staging left


def test_an_upload_within_the_limits_is_saved(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ws, "UPLOAD_LIMITS", Limits(rows=100, cells=200, arm_metrics=2))
    info = ws.create_workspace(tmp_path, {"ok.parquet": parquet(100), "metrics.toml": CATALOG})
    assert len(load_dataset(info.path, limits=ws.UPLOAD_LIMITS).experiments) == 1


def test_upload_limits_are_the_documented_ones() -> None:
    """docs/deployment.md states these figures; a change here changes the page."""
    text = (Path(__file__).parents[2] / "docs" / "deployment.md").read_text()
    for value in (UPLOAD_LIMITS.rows, UPLOAD_LIMITS.cells, UPLOAD_LIMITS.arm_metrics):
        assert f"{value:,}" in text, value
