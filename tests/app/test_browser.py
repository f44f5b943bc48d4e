"""End to end in a real browser: `streamlit run app.py` driven by Playwright on Debian's chromium.

Screenshots go to each test's tmp dir and are copied to /tmp/nsexp-shots/ for people to look at.
Without /usr/bin/chromium the tests skip and say why, except under CI (env CI set): a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlparse

import pytest
from payloads import (
    EXPERIMENT,
    FILE_EXPERIMENT,
    HOST,
    PAGES,
    PAYLOAD,
    QUERY_KEYS,
    SEGMENT,
    VARIANT,
    plant,
)
from served import choose, require_chromium, serve, settle, shoot, tab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser


def wait_for_address(page: Page, pattern: str) -> None:
    """Wait until the address bar matches the regex: Streamlit rewrites it with the History
    API, which page.url and wait_for_url do not always notice."""
    page.wait_for_function("p => new RegExp(p).test(location.href)", arg=pattern)


def segment(scope: Locator, label: str) -> Locator:
    """The option of a segmented control with exactly this label."""
    return scope.locator('[data-testid="stButtonGroup"] button').filter(
        has_text=re.compile(f"^{re.escape(label)}$")
    )


def settings(page: Page) -> Locator:
    """The sidebar's analysis controls, in their popover (opened for the purpose)."""
    page.locator('[data-testid="stSidebar"]').get_by_role(
        "button", name="Change the settings"
    ).click()
    body = page.locator('[data-testid="stPopoverBody"]')
    body.wait_for()
    return body


def share_link(page: Page) -> str:
    """The readout's link to this view, from its popover (opened for the purpose)."""
    page.get_by_role("button", name="Link to this view").click()
    code = page.locator('[data-testid="stCode"]').first
    code.wait_for()
    link = code.inner_text()
    page.keyboard.press("Escape")
    return link


def test_deep_link_opens_the_readout_with_its_verdicts_and_the_plot_on_demand(
    page: Page, server: str, tmp_path: Path
) -> None:
    page.goto(f"{server}/readout?experiment=push_reminders")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("heading", name="Practice reminder frequency").wait_for()
    assert page.evaluate("location.href").endswith("/readout?experiment=push_reminders")
    # the first request of a fresh server went through app.py's navigation, not the legacy
    # pages/ folder mode (which would list every file in pages/, common.py included)
    nav = page.locator('[data-testid="stTopNavLink"]').all_inner_texts()
    assert {"Portfolio", "Readout", "North Star", "Data"} <= {t.split("\n")[-1] for t in nav}
    assert not any("common" in t.lower() for t in nav)
    main.get_by_text("North Star win", exact=True).first.wait_for()
    main.get_by_text("Guardrail breach", exact=True).first.wait_for()
    # the plot, the table and the timeline wait to be opened: a fresh tab builds no chart
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    assert charts.count() == 0 and page.locator('[data-testid="stDataFrame"]').count() == 0
    assert page.locator('[data-testid="stCode"]').count() == 0  # the link sits in a popover
    assert page.locator('[data-testid="stAlertContentWarning"]').count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    link = share_link(page)
    assert link.startswith(server) and "readout?experiment=push_reminders" in link
    shoot(page, "readout", tmp_path)
    more = main.locator('[data-testid="stExpander"]').filter(has_text="More on this comparison")
    more.first.get_by_text("More on this comparison").click()  # a card's details, by click
    wait_for_address(page, r"more=daily")
    settle(page)
    more.first.locator('[data-testid="stMarkdownContainer"] li').first.wait_for()
    assert more.nth(1).locator('[data-testid="stMarkdownContainer"] li').count() == 0
    main.get_by_text("Every metric, as a plot", exact=True).click()
    wait_for_address(page, r"plot=true")
    settle(page)
    charts.first.locator("canvas, svg").first.wait_for()  # the forest plot
    main.get_by_text("The North Star over time", exact=True).click()
    wait_for_address(page, r"timeline=true")
    settle(page)
    charts.nth(1).locator("canvas, svg").first.wait_for()
    link = share_link(page)
    assert all(f"{key}=" in link for key in ("plot", "timeline", "more"))
    page.reload()  # the opened state lives in the link
    settle(page)
    charts.first.locator("canvas, svg").first.wait_for()
    charts.nth(1).locator("canvas, svg").first.wait_for()
    more.first.locator('[data-testid="stMarkdownContainer"] li').first.wait_for()


def test_sequential_deep_link_shows_always_valid_intervals(
    page: Page, server: str, tmp_path: Path
) -> None:
    query = "experiment=push_reminders&sequential=true&segment=platform&plot=true&timeline=true"
    page.goto(f"{server}/readout?{query}")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(
        re.compile(r"with its 95% always-valid interval, adjusted for 2 tests")
    ).wait_for()
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text(re.compile(r"α = 0\.05 · Holm · safe to peek")).wait_for()
    toggle = (
        settings(page)
        .locator('[data-testid="stCheckbox"]')
        .filter(has_text="Safe to peek (sequential)")
    )
    assert toggle.locator("input").is_checked()
    page.keyboard.press("Escape")
    main.get_by_text(re.compile(r"Cochran's Q across 3 segments")).wait_for()
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in range(3):  # forest plot, the North Star over time (opened by the link), segments
        charts.nth(i).locator("canvas, svg").first.wait_for()
    link = share_link(page)
    assert all(f"{key}=" in link for key in ("sequential", "segment", "plot", "timeline"))
    assert page.locator('[data-testid="stException"]').count() == 0
    shoot(page, "readout_sequential", tmp_path)


def test_treatment_control_updates_the_url_and_the_figures(
    page: Page, server: str, tmp_path: Path
) -> None:
    page.goto(f"{server}/readout?experiment=push_reminders")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    main.locator(".st-key-show_three_a_day button").first.click()  # the card heading
    wait_for_address(page, r"variant=three_a_day")
    settle(page)
    page.get_by_role("heading", name=re.compile("Every metric: three_a_day vs control")).wait_for()
    segment(settings(page), "0.01").click()
    wait_for_address(page, r"alpha=0\.01")
    settle(page)
    link = share_link(page)
    assert "alpha=0.01" in link and "variant=three_a_day" in link
    page.locator('[data-testid="stTopNavLink"]', has_text="North Star").click()
    wait_for_address(page, r"/north_star\?.*alpha=0\.01")
    settle(page)
    page.locator('[data-testid="stGraphVizChart"] svg').first.wait_for()
    shoot(page, "north_star", tmp_path)


def test_portfolio_lists_experiments_with_links(page: Page, server: str, tmp_path: Path) -> None:
    page.goto(f"{server}/?verdict=vanity_only")
    settle(page)
    page.get_by_role("heading", name="Experiment portfolio").wait_for()
    page.get_by_text(re.compile(r"\d+ of \d+ running experiments (is|are) vanity only")).wait_for()
    page.locator('[data-testid="stMarkdownContainer"] table').first.wait_for()
    link = page.locator('[data-testid="stMarkdownContainer"] table a[href*="experiment="]').first
    assert "readout?" in (link.get_attribute("href") or "")  # each name links its readout
    assert page.evaluate("location.href").endswith("/?verdict=vanity_only")
    shoot(page, "portfolio", tmp_path)


def test_pin_and_open_the_pinned_view(page: Page, server: str, tmp_path: Path) -> None:
    page.goto(f"{server}/readout?experiment=animated_onboarding")
    settle(page)
    page.get_by_role("button", name="Pin this readout").click()
    settle(page)
    page.get_by_text(re.compile(r"Pinned as [0-9a-f]{12}")).wait_for()
    page.get_by_role("button", name="Open the pinned readout").click()
    wait_for_address(page, r"readout\?pin=[0-9a-f]{12}$")
    settle(page)
    page.get_by_text("Pinned readout: these figures do not move").wait_for()
    page.get_by_text("Vanity only", exact=True).first.wait_for()
    shoot(page, "pinned", tmp_path)
    page.get_by_role("button", name="Open the live readout").click()
    wait_for_address(page, r"readout\?experiment=animated_onboarding&variant=animated_tour$")


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_north_star_tree_and_scoreboard_fit_every_width(
    browser: Browser, server: str, tmp_path: Path, width: int
) -> None:
    with tab(browser, width, 2600) as page:
        page.goto(f"{server}/north_star?node=streak_started")
        settle(page)
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("heading", name="North Star: Lessons completed").wait_for()
        tree = page.locator('[data-testid="stGraphVizChart"] svg').first
        tree.wait_for()
        main.get_by_role("heading", name="Started a streak → Day-7 retention").wait_for()
        scatter = page.locator('[data-testid="stVegaLiteChart"]').first
        scatter.locator("canvas, svg").first.wait_for()
        main.get_by_role("heading", name="Team scoreboard: outcomes over output").wait_for()
        main.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
        settle(page)
        column = main.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        assert column is not None
        for element in (tree, scatter):
            box = element.bounding_box()
            assert box is not None and box["width"] > 200
            # inside the main column: nothing falls off the page
            assert box["x"] >= column["x"] - 1
            assert box["x"] + box["width"] <= column["x"] + column["width"] + 1
        text = tree.text_content() or ""
        assert "Day-7 retention" in text and "frequency · Engagement" in text
        assert page.locator('[data-testid="stException"]').count() == 0
        shoot(page, f"north_star_{width}", tmp_path)


def cut_texts(chart: Locator) -> list[str]:
    """The texts of a Vega chart (drawn as SVG) that do not end inside its box: a legend or a
    title wider than the chart is cut at its edge, which the chart's own box does not show.
    Labels Vega hid (opacity 0, e.g. an overlapping tick's) are not drawn, so not cut."""
    return chart.evaluate(
        """svg => {
            const box = svg.getBoundingClientRect();
            return [...svg.querySelectorAll("text")].filter(text => {
                const r = text.getBoundingClientRect();
                const hidden = text.closest('[opacity="0"]') !== null;
                return !hidden && r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);
            }).map(text => text.textContent);
        }"""
    )


@pytest.mark.parametrize("width", [1024, 1280, 1440])
def test_charts_and_tables_fit_the_main_column(
    browser: Browser, server: str, tmp_path: Path, width: int
) -> None:
    """The forest plot takes the main column's width at every viewport from 1024 px up, so
    the +25% onboarding-clicks dot of animated_onboarding stays on screen, and its legends
    and axis title end inside it (push_reminders: two treatments, two legends)."""
    with tab(browser, width, 1600) as page:
        page.goto(f"{server}/readout?experiment=push_reminders&plot=true")
        settle(page)
        forest = page.locator('[data-testid="stVegaLiteChart"]').first
        forest.locator("svg").first.wait_for(state="attached")
        assert cut_texts(forest.locator("svg").first) == []
        shoot(page, f"readout_two_treatments_{width}", tmp_path)
        page.goto(f"{server}/readout?experiment=animated_onboarding&plot=true")
        settle(page)
        forest = page.locator('[data-testid="stVegaLiteChart"]').first
        forest.locator("canvas, svg").first.wait_for()
        column = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        chart = forest.locator("canvas, svg").first.bounding_box()
        assert column is not None and chart is not None
        assert chart["x"] >= column["x"] - 1
        assert chart["x"] + chart["width"] <= column["x"] + column["width"] + 1
        assert chart["width"] >= 0.8 * (column["width"] - 100)  # it uses the width it has
        assert cut_texts(forest.locator("svg").first) == []
        shoot(page, f"readout_{width}", tmp_path)
        page.goto(f"{server}/")
        settle(page)
        table = page.locator('[data-testid="stMarkdownContainer"] table').first
        table.wait_for()
        box = table.bounding_box()
        assert box is not None and box["x"] + box["width"] <= column["x"] + column["width"] + 1
        shoot(page, f"portfolio_{width}", tmp_path)


def test_readout_card_shows_the_prediction_and_twyman_comes_first(
    page: Page, server: str, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 2400})
    page.goto(f"{server}/readout?experiment=streak_society")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Leading win", exact=True).first.wait_for()  # a validated input moved
    estimate = main.get_by_text(re.compile(r"^Model estimate \(not a test of this experiment\)"))
    estimate.first.wait_for()
    assert "Day-7 retention +" in estimate.first.inner_text()
    assert main.get_by_text("Predicted North Star", exact=True).count() == 0  # no second tile
    assert page.locator('[data-testid="stMetric"]').count() == 1  # one North Star figure
    shoot(page, "readout_prediction", tmp_path)
    page.goto(f"{server}/readout?experiment=animated_onboarding")
    settle(page)
    alert = main.get_by_text(re.compile("Too good to be true\\? Check the instrumentation")).first
    alert.wait_for()
    verdict = main.get_by_text("Vanity only", exact=True).first
    a, v = alert.bounding_box(), verdict.bounding_box()
    assert a is not None and v is not None and a["y"] < v["y"]  # the alert before the verdict
    shoot(page, "readout_twyman", tmp_path)


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1280, 800)])
def test_verdict_figure_reason_and_decision_are_above_the_fold(
    browser: Browser, server: str, tmp_path: Path, width: int, height: int
) -> None:
    """Each card's verdict with the reason that decided it, its North Star figure and its
    decision slot (here: what an inconclusive North Star can detect) end inside the first
    screen of a laptop, for two treatments side by side, one, and an invalid one."""
    with tab(browser, width, height) as page:
        for experiment in ("push_reminders", "streak_society", "referral_banner"):
            page.goto(f"{server}/readout?experiment={experiment}")
            settle(page)
            cards = page.locator('[data-testid="stMain"] [data-testid="stColumn"]')
            cards.first.locator('[data-testid="stAlert"]').first.wait_for()
            assert cards.count() >= 1
            for i in range(cards.count()):
                card = cards.nth(i)
                lead = [card.locator('[data-testid="stAlert"]').first]
                lead += card.locator('[data-testid="stMetric"]').all()
                lead += card.get_by_text(re.compile("^Detectable today")).all()
                for element in lead:
                    box = element.bounding_box()
                    assert box is not None and box["y"] + box["height"] <= height, (
                        f"{experiment} at {width}x{height}: card {i} ends below the fold"
                    )
            shoot(page, f"fold_{experiment}_{width}", tmp_path)


def test_readout_link_in_the_top_bar_reopens_the_experiment(page: Page, server: str) -> None:
    page.goto(f"{server}/readout?experiment=hearts_system")
    settle(page)
    nav = page.locator('[data-testid="stTopNavLink"]')
    nav.get_by_text("Portfolio", exact=True).click()
    settle(page)
    nav.get_by_text("Readout", exact=True).click()
    wait_for_address(page, r"/readout\?.*experiment=hearts_system")
    settle(page)
    page.get_by_role("heading", name=re.compile("Hearts")).first.wait_for()


def test_guided_setup_from_a_raw_export_to_a_readout(
    page: Page, server: str, tmp_path: Path
) -> None:
    """A product manager with Cookie Cats' raw CSV: upload, pick the control and the roles,
    save, and land on its readout, without writing any TOML."""
    from public_exports import cookie_cats  # the same rebuild the AppTest flow uses

    csv = tmp_path / "cookie_cats.csv"
    csv.write_bytes(cookie_cats())
    page.goto(f"{server}/data")
    settle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
    settle(page)
    page.get_by_text("Who is in which arm").wait_for()
    page.get_by_text("Pick the control arm").first.wait_for()
    choose(page, "setup_control_version", "gate_30")
    choose(page, "role_retention_7", "North Star")
    choose(page, "role_retention_1", "Leading")
    choose(page, "role_sum_gamerounds", "Vanity")
    shoot(page, "data_setup", tmp_path)
    page.get_by_role("button", name="Save and open the readout").click()
    wait_for_address(page, r"/readout\?.*experiment=cookie_cats")
    settle(page)
    page.get_by_role("heading", name="cookie_cats").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    shoot(page, "setup_readout", tmp_path)


# The planted-payload crawl (issue 19 items 4 and 5; AppTest's is test_inert_text.py): once over
# every page, what only a browser shows: whether Markdown became a link and Vega drew the chart.


@pytest.fixture(scope="module")
def planted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The app over the planted data, and the id of the planted pin."""
    require_chromium()
    data, pin = plant(tmp_path_factory.mktemp("planted") / "data")
    with serve(data, tmp_path_factory.getbasetemp() / "streamlit-planted.log") as base:
        yield base, pin


DEFAULT_PAGE = "portfolio"  # app.py serves it at "/"; "/portfolio" is "Page not found"


def addresses(base: str, pin: str) -> list[str]:
    """Each page in its default state and with every query parameter planted at once, and the
    readout of each planted experiment, its segment and its pin."""
    out = []
    for page in PAGES:
        stem = Path(page).stem
        path = f"{base}/{'' if stem == DEFAULT_PAGE else stem}"
        out += [path, f"{path}?{urlencode(dict.fromkeys(QUERY_KEYS, PAYLOAD))}"]
    readout = f"{base}/readout?"
    planted = {"experiment": EXPERIMENT, "variant": VARIANT, "segment": SEGMENT}
    out += [readout + urlencode(q) for q in (planted, {"experiment": FILE_EXPERIMENT})]
    return [*out, readout + urlencode({"pin": pin})]


# Links and images whose address is the payload host: a relative link to one of the app's pages
# that carries a planted value in its query (a readout of the planted variant) is not one.
LIVE_TO_HOST = """host => [...document.querySelectorAll('a[href], img[src]')].filter(e => {
    try { return new URL(e.getAttribute('href') ?? e.getAttribute('src'), location.href)
        .hostname.endsWith(host); } catch { return false; }
}).length"""


def to_host(url: str) -> bool:
    """Whether a request goes to the payload host (its address, not a query quoting it)."""
    return (urlparse(url).hostname or "").endswith(HOST)


def drawing(chart: Locator, timeout: type[Exception]) -> bool:
    """Whether Vega drew the chart (a canvas or an SVG appears) within a few seconds."""
    try:
        chart.locator("canvas, svg").first.wait_for(state="attached", timeout=10_000)
    except timeout:
        return False
    return True


def open_everything(page: Page, timeout: type[Exception]) -> None:
    """Open each closed expander and click each tab, one at a time, each after the rerun the
    last one caused: an expander bound to the URL redraws the page, so a target found before
    that rerun may have moved or gone (a list taken up front clicked stale, off-screen nodes)."""
    closed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    for _ in range(40):  # more than any page has; a summary that never opens cannot loop
        target = closed.filter(visible=True).first
        if not target.count():
            break
        address = page.evaluate("location.href")
        target.click()
        with suppress(timeout):  # a URL-bound expander writes its state, then reruns
            page.wait_for_function("a => location.href !== a", arg=address, timeout=2_000)
        settle(page)
    tabs = page.locator('[data-baseweb="tab"]')
    for index in range(tabs.count()):
        if tabs.nth(index).is_visible():
            tabs.nth(index).click()
            settle(page)


def test_no_page_shows_a_live_link_image_or_broken_chart(
    planted_server: tuple[str, str], browser: Browser
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    base, pin = planted_server
    found: list[str] = []
    errors: list[str] = []
    fetched: list[str] = []  # requests to the payload host (aborted)
    with tab(browser, 1440, 2400) as page:
        page.context.route(to_host, lambda route: route.abort())
        page.on("request", lambda r: fetched.append(r.url) if to_host(r.url) else None)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        for address in addresses(base, pin):
            errors.clear()
            fetched.clear()
            page.goto(address)
            settle(page)
            if page.get_by_role("dialog").count():  # "Page not found" would hide the page
                found.append(f"{address}: a dialog covers the page on arrival")
                continue
            open_everything(page, PlaywrightTimeout)
            charts = page.locator('[data-testid="stVegaLiteChart"]').all()
            drawn = [c for c in charts if drawing(c, PlaywrightTimeout)]
            links = page.evaluate(LIVE_TO_HOST, HOST)
            vega = [e for e in errors if "vega" in e.lower() or "expression" in e.lower()]
            if links or vega or fetched or len(drawn) < len(charts):
                found.append(
                    f"{address}: {links} links or images, {len(drawn)} of {len(charts)} charts "
                    f"drawn; fetched {fetched}; {vega}"
                )
    assert found == []
