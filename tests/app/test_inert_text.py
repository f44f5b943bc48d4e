"""User text is inert: planted links and images to a `.invalid` host, in every user-text field
of the data and in each query parameter, never become a live link or image on any page.

The pages come from the pages/ folder, so a page added later is crawled without anyone
remembering; AppTest holds every tab's and expander's content, so one run sees them all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import APP_FILE
from payloads import (
    EXPERIMENT,
    FILE_EXPERIMENT,
    HOST,
    PAGES,
    PAYLOAD,
    QUERY_KEYS,
    SEGMENT,
    VARIANT,
    live_links,
    markdown_fields,
    plant,
    upload,
)
from streamlit.testing.v1 import AppTest


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return plant(tmp_path_factory.mktemp("planted") / "data")


def nodes(node: Any) -> Iterator[Any]:
    """Every element and block under `node`, depth first."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def live(at: AppTest) -> list[str]:
    """Each Markdown field of the page that shows a live link or image to the payload host."""
    found = []
    for node in nodes(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            found += [
                f"{f}: {link}" for f, text in markdown_fields(proto) for link in live_links(text)
            ]
    return found


def quoted(at: AppTest) -> bool:
    """Whether the page shows the payload host anywhere (so a clean crawl is not an empty page)."""
    return any(HOST in str(node.proto) for node in nodes(at._tree) if hasattr(node, "proto"))


def test_the_detector_reads_markdown_as_streamlit_does() -> None:
    assert live_links(PAYLOAD) == [
        "http://evil.invalid/a.png",
        "http://evil.invalid",
        "http://evil.invalid/x",
        "www.evil.invalid",
        "<img src=http://evil.invalid/b.png>",
        "mailto:x@evil.invalid",
    ]
    assert live_links("see http\\://evil.invalid/x") == ["http://evil.invalid/x"]
    assert live_links("www\\.evil.invalid") == ["www.evil.invalid"]
    assert live_links("`http://evil.invalid` and an evil.invalid host, named") == []


def views(page: str, pin: str) -> list[dict[str, str]]:
    """The page in its default state, and the readout of each planted experiment, its segment
    and its pin."""
    if not page.endswith("readout.py"):
        return [{}]
    planted = {"experiment": EXPERIMENT, "variant": VARIANT, "segment": SEGMENT}
    return [{}, planted, {"experiment": FILE_EXPERIMENT}, {"pin": pin}]


@pytest.mark.parametrize("page", PAGES)
def test_planted_data_shows_no_live_link(
    open_app: Any, planted: tuple[Path, str], page: str
) -> None:
    data, pin = planted
    for query in views(page, pin):
        at = open_app(page, query, data=data)
        assert not at.exception, at.exception
        assert quoted(at) or not query, (page, query)
        assert live(at) == [], (page, query)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("key", QUERY_KEYS)
def test_planted_links_show_no_live_link(
    open_app: Any, planted: tuple[Path, str], page: str, key: str
) -> None:
    at = open_app(page, {key: PAYLOAD}, data=planted[0])
    assert not at.exception, at.exception
    assert live(at) == [], (page, key)


def test_a_planted_upload_shows_no_live_link(
    planted: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NSEXP_DATA_DIR", str(planted[0]))
    at = AppTest.from_file(str(APP_FILE), default_timeout=30)
    at.switch_page("pages/data.py")
    at.run()
    at.file_uploader(key="upload").upload(*upload())
    at.run()
    at.checkbox(key="setup_unequal_variant").check()  # the split inputs, one per arm
    at.run()
    assert not at.exception, at.exception
    assert quoted(at)
    assert live(at) == []
