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
