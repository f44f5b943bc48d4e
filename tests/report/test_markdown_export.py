"""The Markdown export pastes cleanly into a review document (issue 20 item 13): rendered by a
GFM renderer with linkify (tests/markdown_check.py) it has backslashes only inside user text,
none in our own words ('improved: …', 'p < 0.001', 'Deng & Vermeer'), and no link or image from
the data, planted payloads included (tests/payloads.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CliRunner
from markdown_check import assert_clean, rendered, shown
from payloads import HOST, PAYLOAD, plant

from nsexp.analysis.methods import methods
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.report.markdown import experiment_markdown, to_markdown

LINK = "https://nsexp.example/readout?experiment=hearts_system&variant=a+b"


def user_texts(readout: Readout, *only: str) -> list[str]:
    """Every piece of user text a readout export (of the experiments `only`, else all)
    quotes: metric labels, experiment names, owners, hypotheses, arms."""
    out = [m.label for m in readout.catalog.metrics.values()]
    for e in readout.experiments.values():
        if only and e.id not in only:
            continue
        info = e.experiment.info
        out += [e.name, e.id, e.control, info.owner, info.hypothesis]
        out += [t.variant for t in e.treatments]
    return [t for t in out if t]


@pytest.fixture(scope="module")
def demo(demo_copy: Path) -> Readout:
    return build_readout(load_dataset(demo_copy), Settings())


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plant(tmp_path_factory.mktemp("planted") / "data")[0]


@pytest.fixture(scope="module")
def planted(planted_dir: Path) -> Readout:
    return build_readout(load_dataset(planted_dir), Settings())


def test_the_demo_export_is_clean_and_has_no_backslash_at_all(demo: Readout) -> None:
    md = to_markdown(demo)
    assert_clean(md, user_texts(demo))
    assert "\\" not in md  # the demo's names are plain words: nothing to escape
    html = rendered(md)
    for said in ("improved: ", "p < 0.001", "Kohavi, Deng & Vermeer", "inconclusive; about"):
        assert said in md
    assert "<table>" in html and "<em>, " not in html  # no stray emphasis from field names


def test_a_planted_export_keeps_the_payload_inert(planted: Readout) -> None:
    md = to_markdown(planted)
    assert PAYLOAD.split()[0] in md.replace("\\", "")  # the payload is quoted, not dropped
    assert_clean(md, user_texts(planted))
    html = rendered(md)
    assert f"http://{HOST}" in html.replace("\u2060", "")  # shown as text
    assert "href=" not in html and "<img" not in html


def test_one_experiment_export_links_back_only_to_its_view(planted: Readout) -> None:
    e = planted.experiments["hearts_system"]
    md = experiment_markdown(e, methods(planted.settings), fingerprint="f", link=LINK)
    assert_clean(md, user_texts(planted, e.id), links=[LINK])
    with pytest.raises(AssertionError, match="links, images or HTML from the data"):
        assert_clean(md, user_texts(planted, e.id))  # the checker sees the template's own link


@pytest.mark.parametrize(
    ("md", "problem"),
    [
        ("The North Star improved\\: flat", "backslashes outside user text"),
        ("Name [x](http://a.example)", "links, images or HTML from the data"),
        ("![x](a.png) Name", "links, images or HTML from the data"),
        ("see example.com, Name", "links, images or HTML from the data"),
        ("Name <b>bold</b>", "links, images or HTML from the data"),
        ("Name\\_", "backslashes outside user text"),
        ("Nam", "user text not shown as it is"),
    ],
)
def test_the_checker_catches_each_problem(md: str, problem: str) -> None:
    with pytest.raises(AssertionError, match=problem):
        assert_clean(md, ["Name"])


def test_the_checker_accepts_escaped_user_text() -> None:
    assert_clean("Page views \\*new\\* moved: p < 0.001", ["Page views *new*"])


def test_the_tree_and_proxy_exports_keep_the_payload_inert(
    planted_dir: Path, planted: Readout, demo_copy: Path, demo: Readout, run_cli: CliRunner
) -> None:
    for data, readout, payload in ((demo_copy, demo, False), (planted_dir, planted, True)):
        catalog = readout.catalog  # the catalog the data directory holds
        labels = [m.label for m in catalog.metrics.values()]
        owners = [catalog.metrics[child].owner for child, _ in catalog.edges()]  # the outline's
        for command, texts in (("tree", labels + [o for o in owners if o]), ("proxies", labels)):
            code, md, _ = run_cli(command, data, "--format", "markdown")
            assert code == 0
            seen = " ".join(shown(md).split())  # the proxy report names only some metrics
            assert_clean(md, [t for t in texts if command == "tree" or t in seen])
            assert payload or "\\" not in md
