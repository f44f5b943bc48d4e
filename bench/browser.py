"""In the browser: how long a person waits for a complete page, measured in headless Chromium.

Playwright drives Debian's /usr/bin/chromium against `streamlit run serve.py` (`make run`'s
command; `app.py` for a checkout without it) on a copy of the demo data (started and waited for as
tests/app/test_browser.py does). A readout is complete when it is connected, the script finished,
no skeleton is left, the experiment's heading and a verdict are shown and the forest plot is drawn
where the view shows one (its canvas or svg exists): a link opens it with `&plot=true`, and a
tree before the plot waited to be opened drew it on every fresh tab; the Portfolio when its table
is drawn. Median of `--repeats`:

- cold deep link: a server just started (health answered), a fresh tab opens
  /readout?experiment=push_reminders (serve.py has read the data out before it answered; under
  app.py the first render reads the data and imports the pages);
- warm, fresh tab: the same link (and the Portfolio) in a new browser context on a server that
  has served it, in turn with the baseline, a blank Streamlit page served the same way; and the
  same link with the plot opened (`&plot=true`), what a link to the plot costs;
- control change: in a loaded readout, a click on the sidebar's alpha control until the readout
  has re-rendered with the new value in the address;
- the forest plot alone: a page that draws only the readout's forest plot of push_reminders
  (bench/_forest_app.py, the readout's own call), fresh tab, in the same rounds as the blank
  page, so the chart's own cost is its difference from the blank page.

Beside each fresh tab's wall time, the CPU seconds of Chromium's renderer processes it took (CDP
SystemInfo): the browser's own work, steadier under load than the wall time.

`--before DIR` (a checkout of an earlier commit, e.g. `git worktree add /tmp/before 6ea05c3`)
serves that app too, in the same rounds, so before and after share one load.

Run alone: `python -m bench.run --only browser` (needs playwright and /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench._chromium import ARGS, CHROMIUM
from bench._measure import REPO
from bench.fresh_clone import free_port, healthy

SECTION = "Browser: time to a complete readout (headless Chromium)"
LINK = "/readout?experiment=push_reminders"
PLOT_LINK = LINK + "&plot=true"  # the same readout with its forest plot opened
HEADING = "Practice reminder frequency"
PORTFOLIO = "/"
# the Portfolio's table: a Markdown table now, a data grid's canvas in a before tree
PORTFOLIO_TABLE = '[data-testid="stMarkdownContainer"] table, [data-testid="stDataFrame"] canvas'
TARGET_COLD_S = 4.0  # the first visit to a deep link after /_stcore/health (issue 23)
TARGET_RATIO = 1.6  # a fresh tab's complete readout against the blank page (issue 23)
TARGET_PORTFOLIO = 1.3  # the Portfolio against the blank page (issue 23)
TIMEOUT_MS = 60_000
# a Vega chart's marks are drawn: its svg holds a symbol, or its canvas has been sized (Vega
# creates the element before its first render, so the element alone is not enough)
DRAWN = """() => {
    const chart = document.querySelector('[data-testid="stVegaLiteChart"]');
    const canvas = chart && chart.querySelector('canvas');
    return !!chart && (!!chart.querySelector('svg .mark-symbol path')
        || (!!canvas && canvas.width > 0));
}"""


@contextmanager
def server(data: Path, script: str | None = None, app: Path = REPO) -> Iterator[str]:
    """`streamlit run <script>` of the checkout `app` on a free port over `data` (by default what
    `make run` serves: serve.py, which warms up before it answers, else app.py); yields the base
    URL once healthy."""
    script = script or ("serve.py" if (app / "serve.py").exists() else "app.py")
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true"]
    argv += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    argv += ["--server.fileWatcherType", "none"]
    env = {**os.environ, "NSEXP_DATA_DIR": str(data), "PYTHONPATH": str(app)}
    process = subprocess.Popen(
        argv, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # serve.py warms up for at most 60 s first
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def renderer_cpu(browser: Any) -> dict[int, float]:
    """CPU seconds of each of the browser's renderer processes (CDP SystemInfo): a tab's work
    in the browser, steadier under load than its wall time."""
    session = browser.new_browser_cdp_session()
    try:
        info = session.send("SystemInfo.getProcessInfo")["processInfo"]
    finally:
        session.detach()
    return {p["id"]: p["cpuTime"] for p in info if p["type"] == "renderer"}


def cpu_since(browser: Any, before: dict[int, float]) -> float:
    """Renderer CPU seconds spent since `before` (renderer_cpu), new processes included."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in renderer_cpu(browser).items())


def complete(page: Any) -> None:
    """Wait until the readout is fully drawn (see the module docstring)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function('!document.querySelector("[data-testid=stSkeleton]")')
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("heading", name=HEADING).wait_for()
    main.get_by_text("North Star win", exact=True).first.wait_for()
    forest = page.locator('[data-testid="stVegaLiteChart"]')
    if forest.count():  # the script has finished: a view with the plot holds its element now
        forest.first.locator("canvas, svg").first.wait_for()


def open_portfolio(browser: Any, base: str) -> tuple[float, float]:
    """Seconds from a new tab's navigation to the Portfolio with its table drawn, and the
    renderer CPU seconds spent."""
    before = renderer_cpu(browser)
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(base + PORTFOLIO)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function('!document.querySelector("[data-testid=stSkeleton]")')
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("heading", name="Experiment portfolio").wait_for()
    main.locator(PORTFOLIO_TABLE).first.wait_for()
    seconds = time.perf_counter() - start
    cpu = cpu_since(browser, before)
    context.close()
    return seconds, cpu


def open_readout(browser: Any, base: str, link: str = LINK) -> tuple[float, float, Any]:
    """Seconds from a new tab's navigation to a complete readout, the renderer CPU seconds
    spent, and the open tab's context."""
    before = renderer_cpu(browser)
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(base + link)
    complete(page)
    return time.perf_counter() - start, cpu_since(browser, before), context


def _fresh_tab(browser: Any, url: str, drawn: Callable[[Any], None]) -> tuple[float, float]:
    """Seconds from a new tab's navigation to `url` until its script has finished and `drawn`
    returns, and the renderer CPU seconds spent."""
    before = renderer_cpu(browser)
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    drawn(page)
    seconds = time.perf_counter() - start
    cpu = cpu_since(browser, before)
    context.close()
    return seconds, cpu


def open_forest(browser: Any, base: str) -> tuple[float, float]:
    """A fresh tab of the forest plot alone with its marks drawn (bench/_forest_app.py)."""
    return _fresh_tab(browser, base + "/", lambda page: page.wait_for_function(DRAWN))


def open_blank(browser: Any, base: str) -> tuple[float, float]:
    """A fresh tab of the blank page to its one line (the baseline: what Streamlit itself
    costs a fresh tab on this machine)."""
    ready = '[data-testid="stMain"]'
    return _fresh_tab(
        browser,
        base + "/",
        lambda page: page.locator(ready).get_by_text("ready", exact=True).wait_for(),
    )


def change_alpha(page: Any, value: str) -> float:
    """Seconds from a click on the sidebar's alpha option (in the settings' popover, opened
    first where there is one) to the re-rendered readout."""
    opener = page.locator('[data-testid="stSidebar"] [data-testid="stPopover"] button')
    if opener.count():
        opener.first.click()
    option = page.locator('[data-testid="stButtonGroup"] button').filter(has_text=value)
    option.first.wait_for()
    start = time.perf_counter()
    option.first.click()
    page.wait_for_function("v => location.href.includes('alpha=' + v)", arg=value)
    page.wait_for_function(
        "!document.querySelector('[data-testid=stApp][data-test-script-state=running]')"
    )
    complete(page)
    return time.perf_counter() - start


def measure(repeats: int, before: Path | None = None) -> dict[str, list[float]]:
    """The timings, `repeats` times each (the fresh tabs' renderer CPU seconds too, keys ending
    `_cpu`); with `before`, its cold, warm and portfolio timings too (keys prefixed `before_`),
    each round visiting both apps and the blank page in turn."""
    from playwright.sync_api import sync_playwright

    apps = {"": REPO} | ({"before_": before} if before else {})
    keys = ("cold", "warm", "portfolio")
    out: dict[str, list[float]] = {f"{p}{k}": [] for p in apps for k in keys}
    out |= {f"{p}{k}_cpu": [] for p in apps for k in ("warm", "portfolio")}
    out |= {k: [] for k in ("control", "blank", "forest", "plot")}
    out |= {f"{k}_cpu": [] for k in ("blank", "forest", "plot")}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data = Path(tmp) / "data"
        shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("pins", "workspaces"))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for _ in range(repeats):
            for prefix, app in apps.items():
                with server(data, app=app) as base:
                    seconds, _, context = open_readout(browser, base)
                    out[f"{prefix}cold"].append(seconds)
                    context.close()
        with ExitStack() as stack:
            bases = {p: stack.enter_context(server(data, app=a)) for p, a in apps.items()}
            blank = stack.enter_context(server(data, "bench/_blank_app.py"))
            forest = stack.enter_context(server(data, "bench/_forest_app.py"))
            for base in bases.values():  # each server has served both pages once
                open_readout(browser, base)[2].close()
                open_portfolio(browser, base)
            open_blank(browser, blank)
            open_forest(browser, forest)
            baselines = (("blank", open_blank, blank), ("forest", open_forest, forest))
            for i in range(repeats):  # the blank page and the apps' pages in turn: one load
                for key, opener, base in baselines:
                    seconds, cpu = opener(browser, base)
                    out[key].append(seconds)
                    out[f"{key}_cpu"].append(cpu)
                for prefix, base in bases.items():
                    seconds, cpu, context = open_readout(browser, base)
                    out[f"{prefix}warm"].append(seconds)
                    out[f"{prefix}warm_cpu"].append(cpu)
                    if not prefix:
                        page = context.pages[0]
                        out["control"].append(change_alpha(page, "0.01" if i % 2 == 0 else "0.1"))
                    context.close()
                    if not prefix:
                        seconds, cpu, context = open_readout(browser, base, PLOT_LINK)
                        out["plot"].append(seconds)
                        out["plot_cpu"].append(cpu)
                        context.close()
                    seconds, cpu = open_portfolio(browser, base)
                    out[f"{prefix}portfolio"].append(seconds)
                    out[f"{prefix}portfolio_cpu"].append(cpu)
        browser.close()
    return out


def run(argv: list[str] | None = None) -> str:
    """Measure in Chromium, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.browser")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit to compare")
    args, _ = parser.parse_known_args(argv)
    if not CHROMIUM.exists():
        return f"Not measured: {CHROMIUM} is missing (`make browser` installs it)."
    load = os.getloadavg()
    times = measure(args.repeats, args.before)
    after = os.getloadavg()
    blank = statistics.median(times["blank"])
    blank_cpu = statistics.median(times["blank_cpu"])
    labels = {
        "cold": f"cold deep link `{LINK}`, server just started",
        "warm": "warm server, fresh tab, same link",
        "plot": f"warm server, fresh tab, the same readout with its plot opened (`{PLOT_LINK}`)",
        "portfolio": "warm server, fresh tab, the Portfolio",
        "control": "sidebar alpha changed, to the re-rendered readout",
        "blank": "baseline: a blank Streamlit page, fresh tab, warm server",
        "forest": "the readout's forest plot alone, fresh tab, warm server",
    }
    targets = {"warm": TARGET_RATIO, "portfolio": TARGET_PORTFOLIO}
    lines = [
        "Each app served as `make run` serves it: `streamlit run serve.py` (warmed up before it "
        "answers /_stcore/health), `app.py` for a checkout without serve.py. "
        f"Demo data; Playwright {_version()} driving {CHROMIUM} (headless); median of "
        f"{args.repeats}, with min and max; load average {load[0]:.1f} at the start, "
        f"{after[0]:.1f} at the end. Command: `python -m bench.run --only browser"
        + (f" --before {args.before}`" if args.before else "`")
        + ".",
        "",
        "| what | median s | min s | max s | target | renderer CPU s (median) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    rows = [(k, k, label) for k, label in labels.items()]
    if args.before:
        rows += [
            (f"before_{k}", k, f"before ({args.before.name}): {labels[k]}")
            for k in ("cold", "warm", "portfolio")
        ]
    for key, kind, label in rows:
        median = statistics.median(times[key])
        target = ""
        if kind == "cold":
            verdict = "met" if median < TARGET_COLD_S else "**missed**"
            target = f"< {TARGET_COLD_S:.0f} s: {verdict}"
        if kind == "plot":  # no target of its own: what a link that opens the plot costs
            target = f"{median / blank:.2f}x the blank page"
        if kind == "forest":  # no target of its own: the chart's share of the readout's
            extra = statistics.median(times["forest_cpu"]) - blank_cpu
            target = f"{median / blank:.2f}x the blank page, +{extra:.2f} renderer CPU s"
        if kind in targets:
            ratio = median / blank
            verdict = "met" if ratio <= targets[kind] else "**missed**"
            target = f"{ratio:.2f}x the blank page (≤ {targets[kind]}x): {verdict}"
        cpu = ""
        if f"{key}_cpu" in times:
            cpu = f"{statistics.median(times[f'{key}_cpu']):.2f}"
            if kind != "blank":
                cpu += f" ({statistics.median(times[f'{key}_cpu']) / blank_cpu:.2f}x the blank)"
        lines.append(
            f"| {label} | {median:.2f} | {min(times[key]):.2f} | {max(times[key]):.2f} | {target} "
            f"| {cpu} |"
        )
    return "\n".join(lines)


def _version() -> str:
    from importlib.metadata import version

    return version("playwright")


if __name__ == "__main__":
    print(run(sys.argv[1:]))
