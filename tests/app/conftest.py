"""The app tests' shared fixtures: the session's demo copy as the data root of a test that only
reads it; for the browser tests (test_browser*.py), the app served over a copy of the demo data
and headless Chromium, one of each per module, and a fresh tab at the module's `viewport`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import copy_demo
from served import require_chromium, serve, tab

from bench._chromium import ARGS, CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture
def demo_root(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's read-only demo copy as the app's data root, for a test that only reads:
    the app has read it once for the session (a test that writes takes `root`)."""
    monkeypatch.setenv("NSEXP_DATA_DIR", str(demo_copy))
    return demo_copy


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`streamlit run app.py` on a free port over the module's copy of the demo data; its base
    URL, stopped at the module's end."""
    require_chromium()
    name = request.module.__name__.rsplit(".", 1)[-1]
    data = copy_demo(tmp_path_factory.mktemp(name) / "data")
    with serve(data, tmp_path_factory.getbasetemp() / f"streamlit-{name}.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the module (one sync Playwright per module)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def viewport() -> tuple[int, int]:
    """The `page` fixture's width and height: tall enough that a screenshot shows a whole page
    (a module overrides it)."""
    return 1440, 2400


@pytest.fixture
def page(browser: Browser, viewport: tuple[int, int]) -> Iterator[Page]:
    """A fresh browser tab at `viewport`."""
    with tab(browser, *viewport) as fresh:
        yield fresh
