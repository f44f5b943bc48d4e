"""The Review page in Chromium at 1024, 1280 and 1440 px: opened from a link with `?since=`, its
sections drawn inside the main column, the digest in code blocks, the top bar's Review entry,
and a screenshot of each width for people to look at (/tmp/nsexp-shots/)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import served
from helpers import copy_demo

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/nsexp-shots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a copy of the demo data on a free port."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package")
    data = copy_demo(tmp_path_factory.mktemp("review") / "data")
    with served.serve(data, tmp_path_factory.getbasetemp() / "streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Browser]:
    """Headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _settle(page: Page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function('!document.querySelector("[data-testid=stSkeleton]")')


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_review_page_fits_every_width(
    browser: Browser, server: str, tmp_path: Path, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 3400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{server}/review?since=2026-10-18")
        _settle(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("heading", name="Sprint review: Lessons completed").wait_for()
        main.get_by_role("heading", name="Changed since 2026-10-18 (1)").wait_for()
        main.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
        main.locator('[data-testid="stCode"]').first.wait_for()
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stAlertContentWarning"]').count() == 0
        column = main.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        assert column is not None
        frames = main.locator('[data-testid="stDataFrame"]')
        assert frames.count() >= 5  # targets, due, changed, running, decided
        for i in range(frames.count()):
            box = frames.nth(i).bounding_box()
            assert box is not None and box["width"] > 300
            assert box["x"] + box["width"] <= column["x"] + column["width"] + 1
        digest = main.locator('[data-testid="stCode"]').first.text_content() or ""
        assert digest.startswith("### Sprint review: Lessons completed since 2026-10-18")
        nav = page.locator('[data-testid="stTopNavLinkContainer"], header')
        assert "Review" in (nav.first.text_content() or "")
        path = tmp_path / f"review_{width}.png"
        page.screenshot(path=str(path), full_page=True)
        for where in (SHOTS, Path("/tmp/shots/h21-review")):
            where.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, where / path.name)
    finally:
        context.close()
