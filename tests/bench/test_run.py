"""bench.run writes each section between its own markers and leaves the others alone."""

from __future__ import annotations

from pathlib import Path

from bench.aggregation import parse_rows
from bench.run import sections, write_section


def test_sections_replace_only_their_own_block(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    write_section("aggregation", "## Aggregation\n\nold", doc)
    write_section("portfolio", "## App render\n\nrender 1.2 s", doc)
    write_section("aggregation", "## Aggregation\n\nnew", doc)
    text = doc.read_text()
    assert text.startswith("# Benchmarks")
    assert "old" not in text and text.count("## Aggregation\n\nnew") == 1
    assert "render 1.2 s" in text and text.index("new") < text.index("render 1.2 s")


def test_aggregation_is_a_section_and_sizes_parse() -> None:
    assert "aggregation" in sections()
    assert parse_rows("1M, 10M,500k,2000") == [1_000_000, 10_000_000, 500_000, 2000]


def test_the_new_sections_are_found() -> None:
    found = sections()
    for name in ("end_to_end", "startup", "portfolio_readout", "fresh_clone", "browser"):
        assert name in found, name


def test_generated_unit_table_has_repeats_only_where_made(tmp_path: Path) -> None:
    import numpy as np
    import polars as pl

    from bench import _unit_table as table
    from nsexp.io import load_dataset

    ids = table.scramble(np.arange(1_000_000))
    assert np.unique(ids).size == ids.size and (ids >= 0).all()
    meta = table.generate(30_000, tmp_path / "t", repeats=0.01)
    frame = pl.read_parquet(tmp_path / "t" / table.FILE)
    assert frame.height == meta["rows"] > 30_000
    assert frame.schema["experiment"] == pl.Enum(table.EXPERIMENTS)
    problems = {e: x.problems for e, x in load_dataset(tmp_path / "t").experiments.items()}
    assert set(problems) == set(table.EXPERIMENTS)
    assert [e for e, p in problems.items() if p] == list(table.EXPERIMENTS[:2])
    assert all("exposed to more than one variant" in problems[e][0] for e in table.EXPERIMENTS[:2])
