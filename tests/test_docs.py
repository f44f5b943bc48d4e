"""The README as a front door and docs/ as the manual: generated blocks equal their source
(nsexp.report.docs), every page is linked, every link resolves, every JSON field is documented."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from helpers import REPO

from nsexp.analysis.methods import methods
from nsexp.analysis.results import JSON_FIELDS, TIMELINE_FIELDS
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICT_MEANINGS, VERDICTS
from nsexp.learning.tree import Edge
from nsexp.report import docs

README = REPO / "README.md"
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def pages() -> list[Path]:
    return [README, *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("name", docs.PAGES)
def test_generated_blocks_equal_their_source(name: str) -> None:
    text = (REPO / name).read_text(encoding="utf-8")
    assert docs.fill(text) == text, f"run `python -m nsexp.report.docs` ({name} is stale)"


def test_the_blocks_quote_the_apps_texts() -> None:
    """Independent of fill(): each verdict's meaning and each method sentence is on the page."""
    readme = README.read_text(encoding="utf-8")
    page = (REPO / "docs" / "methods.md").read_text(encoding="utf-8")
    for verdict in VERDICTS:
        assert f"| `{verdict}` |" in readme and VERDICT_MEANINGS[verdict] in page
    for line in methods(Settings()) + methods(docs.ALL_OPTIONS) + methods(Settings(cuped=False)):
        assert f"- {line}\n" in page


def test_a_stale_block_is_rewritten_and_reported(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "docs").mkdir()
    stale = "before\n<!-- generated:verdicts -->\nold text\n<!-- /generated:verdicts -->\nafter\n"
    for name in docs.PAGES:
        (tmp_path / name).write_text(stale, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert docs.main(["--check"]) == 1
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == stale  # --check writes nothing
    assert docs.main([]) == 0
    fixed = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "old text" not in fixed and "`north_star_loss`" in fixed
    assert fixed.startswith("before\n") and fixed.endswith("after\n")
    assert docs.main(["--check"]) == 0


def test_unknown_blocks_are_left_alone() -> None:
    text = "<!-- generated:nothing -->\nkept\n<!-- /generated:nothing -->\n"
    assert docs.fill(text) == text


def test_readme_is_a_front_door() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert text.index("make run") < text.index("##") and "make test" in text
    assert "docs/screenshot.png" in text and "MIT" in text and "(LICENSE)" in text
    linked = set(LINK.findall(text))
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"docs/{page.name}" in linked, f"README does not link {page.name}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    for target in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links a missing {target}"


def test_every_json_field_is_documented() -> None:
    """The readout's per-metric fields, the timeline's and the tree's edges (names only grow)."""
    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    edge_fields = [f.name for f in fields(Edge)]
    for name in (*JSON_FIELDS, *TIMELINE_FIELDS, *edge_fields):
        assert f"`{name}`" in text, name
