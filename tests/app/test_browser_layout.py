"""The app at 1024 px in Chromium: the top bar shows every page, the key columns of the portfolio
and the readout's table are on screen whole, and the Data page's set-up names things.

A data grid draws on a canvas; its accessible table lists only the columns that are on screen
(even in part), so the column after the key columns being listed means they end inside the grid.
Screenshots go to /tmp/nsexp-shots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from served import choose, settle, shoot

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

WIDTH, HEIGHT = 1024, 768
PAGES = ["Portfolio", "Review", "Readout", "North Star", "Insights", "Data"]

pytestmark = pytest.mark.browser


@pytest.fixture
def viewport() -> tuple[int, int]:
    """The `page` fixture's tab (conftest.py): a small laptop."""
    return WIDTH, HEIGHT


def headers_on_screen(grid: Locator) -> list[str]:
    """The headers of the grid's columns that are on screen, left to right."""
    grid.locator("table th").first.wait_for(state="attached")
    return [h.strip() for h in grid.locator("table th").all_text_contents()]


def within_viewport(element: Locator) -> bool:
    """Whether the element's right edge is inside the window."""
    box = element.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1


def test_the_top_bar_shows_every_page_at_1024(page: Page, server: str) -> None:
    page.goto(f"{server}/")
    settle(page)
    links = page.locator('[data-testid="stTopNavLink"]')
    links.first.wait_for()
    shown = [link for link in links.all() if link.is_visible()]
    titles = [link.inner_text().strip() for link in shown]
    assert set(PAGES) <= set(titles) and len(titles) == links.count()  # Review may join them
    assert all(within_viewport(link) for link in shown)
    assert (
        not page.locator('[data-testid="stTopNavSection"]')
        .filter(has_text=re.compile(r"\d+ more"))
        .count()
    )  # nothing folded away


def test_the_portfolio_table_shows_whole_at_1024(page: Page, server: str) -> None:
    """Every column of the portfolio's table inside the window, key columns first, and no
    interval cut inside a figure."""
    page.goto(f"{server}/")
    settle(page)
    table = page.locator('[data-testid="stMarkdownContainer"]:has(table)').first
    table.scroll_into_view_if_needed()
    headers = headers_on_screen(table)
    assert headers == ["Experiment", "Verdict", "North Star lift", "Decision", "Owner"]
    assert within_viewport(table)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no sideways scroll
    shoot(page, "layout_portfolio_1024", full_page=False)


def test_the_readout_table_key_columns_show_whole_at_1024(page: Page, server: str) -> None:
    page.goto(f"{server}/readout?experiment=push_reminders")
    settle(page)
    caption = page.get_by_text(re.compile(r"21 days \(2026.07.20 to 2026.08.09\)")).first
    assert "2026\u201107\u201120" in caption.inner_text()  # non-breaking hyphens: never split
    page.get_by_text("Every figure, as a table").click()  # one click away, under the plot
    settle(page)  # drawn by the rerun that opens it
    grid = page.locator('[data-testid="stDataFrame"]').filter(has_text="Adjusted CI").first
    grid.scroll_into_view_if_needed()
    headers = headers_on_screen(grid)
    key = ["Metric", "Lift", "Adjusted CI", "Adjusted p", "Result"]
    # every key column drawn; in the table's expander the key ends at the grid's right edge, so
    # the next column need not start on screen (layout_readout_table_1024.png shows Result whole)
    assert headers[: len(key)] == key, headers
    assert within_viewport(grid)
    shoot(page, "layout_readout_table_1024", full_page=False)


def test_the_set_up_names_the_experiment_and_guides_at_1024(
    page: Page, server: str, tmp_path: Path
) -> None:
    """A browser's "export (1).csv" (Cookie Cats' columns) from upload to a named readout: the
    upload is the first thing on the Data page, a wrong type is caught beside its control."""
    from public_exports import cookie_cats

    csv = tmp_path / "export (1).csv"
    csv.write_bytes(cookie_cats())
    page.goto(f"{server}/data")
    settle(page)
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    box = page.locator('[data-testid="stFileUploader"]').bounding_box()
    assert box is not None and box["y"] < HEIGHT  # above the fold, not ~1,450 px down
    uploader.set_input_files(str(csv))
    settle(page)
    page.get_by_text("export_1.csv").first.wait_for()  # renamed, not refused
    choose(page, "setup_control_version", "gate_30")
    main = page.locator('[data-testid="stMain"]')
    assert main.locator('[data-testid="stAlertContentError"]').count() == 0  # hints, no red
    main.get_by_text("Give one column the role North Star").wait_for()
    name = page.locator(".st-key-setup_name_export_1 input")
    name.fill("Gate at level 40")
    name.press("Enter")
    settle(page)
    choose(page, "role_retention_7", "North Star")
    choose(page, "role_sum_gamerounds", "Leading")
    choose(page, "type_sum_gamerounds", "proportion")
    error = main.locator('[data-testid="stAlertContentError"]')
    error.get_by_text(re.compile("sum_gamerounds has values other than 0 and 1")).wait_for()
    assert page.get_by_role("button", name="Save and open the readout").count() == 0
    shoot(page, "layout_setup_wrong_type_1024", full_page=False)
    choose(page, "type_sum_gamerounds", "mean")
    label = page.locator(".st-key-label_retention_7 input")
    label.fill("Day-7 retention")
    label.press("Enter")
    settle(page)
    page.get_by_role("button", name="Save and open the readout").click()
    wait = r"/readout\?.*experiment=export_1"
    page.wait_for_function("p => new RegExp(p).test(location.href)", arg=wait)
    settle(page)
    heading = page.get_by_role("heading", name="Gate at level 40")
    heading.wait_for()
    page.keyboard.press("Escape")  # the new workspace's link and delete code, once
    heading.scroll_into_view_if_needed()
    main.get_by_text("Day-7 retention").first.wait_for()
    default = re.compile("threshold worth acting on for Day-7 retention is the default")
    main.get_by_text(default).first.wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    shoot(page, "layout_setup_readout_1024", full_page=False)
