"""The committed demo portfolio in data/ is exactly what `python -m nsexp.demo data/` writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import polars as pl
import pytest
from helpers import DEMO_DATA
from polars.testing import assert_frame_equal

from nsexp.demo import main
from nsexp.io import load_dataset

DATA = DEMO_DATA
DATA_SUFFIXES = (".parquet", ".csv", ".toml", ".jsonl")  # .jsonl: the decision log


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo portfolio regenerated with the default seed into a fresh directory."""
    out = tmp_path_factory.mktemp("demo")
    assert main([str(out)]) == 0
    return out


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, try_parse_dates=True)


def test_data_dir_holds_exactly_the_generated_files(generated: Path) -> None:
    committed = sorted(p.name for p in DATA.iterdir() if p.suffix in DATA_SUFFIXES)
    assert committed == sorted(p.name for p in generated.iterdir())


def test_committed_files_match_a_fresh_run(generated: Path) -> None:
    for fresh in sorted(generated.iterdir()):
        kept = DATA / fresh.name
        if fresh.suffix in (".toml", ".jsonl"):
            assert kept.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), fresh.name
        else:
            assert_frame_equal(_read(kept), _read(fresh))


def test_portfolio_shape() -> None:
    metrics = tomllib.loads((DATA / "metrics.toml").read_text(encoding="utf-8"))["metrics"]
    roles = [m["role"] for m in metrics.values()]
    assert roles.count("north_star") == 1
    assert {"leading", "vanity", "guardrail"} <= set(roles)
    assert any(m["type"] == "ratio" for m in metrics.values())

    experiments = tomllib.loads((DATA / "experiments.toml").read_text(encoding="utf-8"))
    ids = set(experiments["experiments"])
    assert len(ids) >= 8
    assert set(load_dataset(DATA).experiments) == ids

    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 20 * 1024 * 1024


def test_unit_files_have_dates_segments_and_a_covariate() -> None:
    for path in sorted(DATA.glob("*.parquet")):
        frame = pl.read_parquet(path)
        assert frame.schema["date"] == pl.Date, path.name
        assert set(frame["platform"].unique()) <= {"ios", "android", "web"}, path.name
        assert frame["unit_id"].is_unique().all(), path.name
        assert frame.select(pl.corr("lessons_pre", "lessons_completed")).item() > 0.5, path.name
