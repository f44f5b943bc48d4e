"""In the browser: how long a person waits for a complete readout, measured in headless Chromium.

Playwright drives Debian's /usr/bin/chromium against `streamlit run app.py` on a copy of the demo
data (started and waited for as tests/app/test_browser.py does). "Complete" means: connected, the
script finished, no skeleton left, the experiment's heading and a verdict shown, and the forest
plot and the North Star timeline drawn (their canvas or svg exists). Median of `--repeats`:

- cold deep link: a server just started (health answered), a fresh tab opens
  /readout?experiment=push_reminders: the first render reads the data and imports the pages;
- warm, fresh tab: the same link in a new browser context on a server that has served it;
- control change: in a loaded readout, a click on the sidebar's alpha control until the readout
  has re-rendered with the new value in the address.

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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._chromium import ARGS, CHROMIUM
from bench._measure import REPO
from bench.fresh_clone import free_port, healthy

SECTION = "Browser: time to a complete readout (headless Chromium)"
LINK = "/readout?experiment=push_reminders"
HEADING = "Practice reminder frequency"
TARGET_COLD_S = 3.0
TARGET_RATIO = 1.6  # a fresh tab's complete readout against the blank page (issue 23)
TIMEOUT_MS = 60_000


@contextmanager
def server(data: Path, script: str = "app.py") -> Iterator[str]:
    """`streamlit run <script>` on a free port over `data`; yields the base URL once healthy."""
    port = free_port()
    argv = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true"]
    argv += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    argv += ["--server.fileWatcherType", "none"]
    env = {**os.environ, "NSEXP_DATA_DIR": str(data)}
    process = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def complete(page: Any) -> None:
    """Wait until the readout is fully drawn (see the module docstring)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function('!document.querySelector("[data-testid=stSkeleton]")')
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("heading", name=HEADING).wait_for()
    main.get_by_text("North Star win", exact=True).first.wait_for()
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    for i in (0, 1):
        charts.nth(i).locator("canvas, svg").first.wait_for()


def open_readout(browser: Any, base: str) -> tuple[float, Any]:
    """Seconds from a new tab's navigation to a complete readout; the open tab's context."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(base + LINK)
    complete(page)
    return time.perf_counter() - start, context


def open_blank(browser: Any, base: str) -> float:
    """Seconds from a new tab's navigation to the blank page's one line (the baseline: what
    Streamlit itself costs a fresh tab on this machine)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    start = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.locator('[data-testid="stMain"]').get_by_text("ready", exact=True).wait_for()
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def change_alpha(page: Any, value: str) -> float:
    """Seconds from a click on the sidebar's alpha option to the re-rendered readout."""
    option = page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button')
    start = time.perf_counter()
    option.filter(has_text=value).first.click()
    page.wait_for_function("v => location.href.includes('alpha=' + v)", arg=value)
    page.wait_for_function(
        "!document.querySelector('[data-testid=stApp][data-test-script-state=running]')"
    )
    complete(page)
    return time.perf_counter() - start


def measure(repeats: int) -> dict[str, list[float]]:
    """The three timings, `repeats` times each."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"cold": [], "warm": [], "control": [], "blank": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        data = Path(tmp) / "data"
        shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("pins", "workspaces"))
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for _ in range(repeats):
            with server(data) as base:
                seconds, context = open_readout(browser, base)
                out["cold"].append(seconds)
                context.close()
        with server(data) as base, server(data, "bench/_blank_app.py") as blank:
            open_readout(browser, base)[1].close()  # the server has served it once
            open_blank(browser, blank)
            for i in range(repeats):  # the blank page and the readout in turn: one load
                out["blank"].append(open_blank(browser, blank))
                seconds, context = open_readout(browser, base)
                out["warm"].append(seconds)
                page = context.pages[0]
                out["control"].append(change_alpha(page, "0.01" if i % 2 == 0 else "0.1"))
                context.close()
        browser.close()
    return out


def run(argv: list[str] | None = None) -> str:
    """Measure in Chromium, return Markdown."""
    parser = argparse.ArgumentParser(prog="bench.browser")
    parser.add_argument("--repeats", type=int, default=5)
    args, _ = parser.parse_known_args(argv)
    if not CHROMIUM.exists():
        return f"Not measured: {CHROMIUM} is missing (`make browser` installs it)."
    times = measure(args.repeats)
    labels = {
        "cold": f"cold deep link `{LINK}`, server just started",
        "warm": "warm server, fresh tab, same link",
        "control": "sidebar alpha changed, to the re-rendered readout",
        "blank": "baseline: a blank Streamlit page, fresh tab, warm server",
    }
    lines = [
        f"Demo data; Playwright {_version()} driving {CHROMIUM} (headless); median of "
        f"{args.repeats}, with min and max. Command: `python -m bench.run --only browser`.",
        "",
        "| what | median s | min s | max s | target |",
        "|---|---:|---:|---:|---|",
    ]
    for key, label in labels.items():
        median = statistics.median(times[key])
        target = ""
        if key == "cold":
            verdict = "met" if median < TARGET_COLD_S else "**missed**"
            target = f"< {TARGET_COLD_S:.0f} s: {verdict}"
        if key == "warm":
            ratio = median / statistics.median(times["blank"])
            verdict = "met" if ratio <= TARGET_RATIO else "**missed**"
            target = f"{ratio:.1f}x the blank page (≤ {TARGET_RATIO}x): {verdict}"
        lines.append(
            f"| {label} | {median:.2f} | {min(times[key]):.2f} | {max(times[key]):.2f} | {target} |"
        )
    return "\n".join(lines)


def _version() -> str:
    from importlib.metadata import version

    return version("playwright")


if __name__ == "__main__":
    print(run(sys.argv[1:]))
