"""The Review page in Chromium at 1024, 1280 and 1440 px: opened from a link with `?since=`, its
sections drawn inside the main column, the digest in code blocks, the top bar's Review entry,
and a screenshot of each width for people to look at (/tmp/nsexp-shots/)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from served import settle, shoot, tab

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_review_page_fits_every_width(
    browser: Browser, server: str, tmp_path: Path, width: int
) -> None:
    with tab(browser, width, 3400) as page:
        page.goto(f"{server}/review?since=2026-10-18")
        settle(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("heading", name="Sprint review: Lessons completed").wait_for()
        main.get_by_role("heading", name="Changed since 2026-10-18 (1)").wait_for()
        main.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
        main.locator('[data-testid="stCode"]').first.wait_for()
        settle(page)
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
        shoot(page, f"review_{width}", tmp_path)
