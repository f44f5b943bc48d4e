"""The app served for browser tests: `streamlit run app.py` over a data directory, until the block
ends, and the Chromium helpers the test_browser*.py modules share (their fixtures are in
tests/app/conftest.py; the browser and its flags in bench/_chromium.py)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import REPO

from bench._chromium import CHROMIUM

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

START_TIMEOUT_S = 60
RENDER_TIMEOUT_MS = 60_000
SHOTS = Path("/tmp/nsexp-shots")  # screenshots for people to look at


def require_chromium() -> None:
    """Fail under CI, skip elsewhere, when the browser is missing."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium package (`make browser`)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def tab(browser: Browser, width: int, height: int) -> Iterator[Page]:
    """A fresh tab in its own browser context (no cookies shared) at this viewport, with the
    render timeout; the context closed after."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(RENDER_TIMEOUT_MS)
        yield page
    finally:
        context.close()


def shoot(page: Page, name: str, tmp_path: Path | None = None, *, full_page: bool = True) -> Path:
    """Save a screenshot as /tmp/nsexp-shots/<name>.png (and in the test's `tmp_path` too)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = (tmp_path or SHOTS) / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if tmp_path is not None:
        shutil.copy(path, SHOTS / path.name)
    return path


def settle(page: Page) -> None:
    """Wait until the app is connected, the script has finished and nothing is loading."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function('!document.querySelector("[data-testid=stSkeleton]")')


def choose(page: Page, key: str, option: str) -> None:
    """Pick an option of the selectbox with this widget key. Scrolled into view first: a
    selectbox's menu closes when the page scrolls, and a click at the viewport's edge scrolls."""
    box = page.locator(f".st-key-{key}").get_by_role("combobox").first
    box.scroll_into_view_if_needed()
    box.click()
    page.locator('[role="option"]').filter(
        has_text=re.compile(f"^{re.escape(option)}$")
    ).first.click()
    settle(page)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    data: Path,
    log_path: Path,
    port: int | None = None,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """`streamlit run app.py` on `port` (a free one by default) over `data`, with extra `args`
    and `env`, its output in `log_path`; its base URL while the block runs, stopped after."""
    port = port or free_port()
    log = log_path.open("w")
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true"]
    command += ["--server.address=127.0.0.1", f"--server.port={port}"]
    command += ["--server.fileWatcherType=none", *args]
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "NSEXP_DATA_DIR": str(data), **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with {process.returncode}; see {log.name}")
            try:
                if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer /_stcore/health in {START_TIMEOUT_S} s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
