"""The planted-payload crawl in Chromium, once over every page (discovered from pages/): no live
link or image to the payload host, no request to it, and every Vega chart drawn without an
error. AppTest (test_inert_text.py) reads the Markdown; only a browser shows what it became."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from payloads import EXPERIMENT, FILE_EXPERIMENT, HOST, PAYLOAD, QUERY_KEYS, SEGMENT, VARIANT, plant
from playwright.sync_api import Locator
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser import ARGS, CHROMIUM, RENDER_TIMEOUT_MS, serve, settle
from test_inert_text import PAGES

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def planted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app over the planted data, and the id of the planted pin."""
    data, pin = plant(tmp_path_factory.mktemp("planted") / "data")
    with serve(data, tmp_path_factory.getbasetemp() / "streamlit-planted.log") as base:
        yield base, pin


def addresses(base: str, pin: str) -> list[str]:
    """Each page in its default state and with every query parameter planted at once, and the
    readout of each planted experiment, its segment and its pin."""
    out = []
    for page in PAGES:
        path = f"{base}/{Path(page).stem}"
        out += [path, f"{path}?{urlencode(dict.fromkeys(QUERY_KEYS, PAYLOAD))}"]
    readout = f"{base}/readout?"
    planted = {"experiment": EXPERIMENT, "variant": VARIANT, "segment": SEGMENT}
    out += [readout + urlencode(q) for q in (planted, {"experiment": FILE_EXPERIMENT})]
    return [*out, readout + urlencode({"pin": pin})]


def drawing(chart: Locator) -> bool:
    """Whether Vega drew the chart (a canvas or an SVG appears) within a few seconds."""
    try:
        chart.locator("canvas, svg").first.wait_for(state="attached", timeout=10_000)
    except PlaywrightTimeout:
        return False
    return True


def test_no_page_shows_a_live_link_image_or_broken_chart(
    planted_server: tuple[str, str],
) -> None:
    from playwright.sync_api import sync_playwright

    base, pin = planted_server
    found: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 2400})
        context.route(f"**/*{HOST}*", lambda route: route.abort())
        page = context.new_page()
        page.set_default_timeout(RENDER_TIMEOUT_MS)
        errors: list[str] = []
        page.on("request", lambda r: errors.append(f"request {r.url}") if HOST in r.url else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for address in addresses(base, pin):
            errors.clear()
            page.goto(address)
            settle(page)
            for summary in page.locator('[data-testid="stExpander"] summary').all():
                summary.click()
            for tab in page.locator('[data-baseweb="tab"]').all():
                tab.click()
            charts = page.locator('[data-testid="stVegaLiteChart"]').all()
            drawn = [c for c in charts if drawing(c)]
            links = page.locator(f'a[href*="{HOST}"], img[src*="{HOST}"]').count()
            vega = [e for e in errors if "vega" in e.lower() or "expression" in e.lower()]
            if links or vega or len(drawn) < len(charts) or any(HOST in e for e in errors):
                found.append(
                    f"{address}: {links} links or images, {len(drawn)} of {len(charts)} charts "
                    f"drawn; {errors}"
                )
        browser.close()
    assert found == []
