"""Sign-in end to end: `streamlit run app.py` with OpenID Connect in a temporary secrets file,
a local OIDC provider (oidc-provider-mock) on 127.0.0.1, and Debian's chromium via Playwright.

Ana signs in through the provider's form, pins a readout and finds it on the Data page; Bob,
signed in as himself in another browser, may neither list nor delete it; Ana deletes it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from helpers import copy_demo
from served import require_chromium, serve

from nsexp.store import pins
from nsexp.store.storage import access_record

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

OIDC_PORT, APP_PORT = 18731, 18732  # fixed: the redirect URI is written before either starts
ANA, BOB = "ana@example.com", "bob@example.com"

pytestmark = pytest.mark.browser


def secrets_toml(app: str, provider: str) -> str:
    """The secrets an operator writes for OpenID Connect, with scopes `openid email`."""
    return f"""
[auth]
redirect_uri = "{app}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "nsexp-test"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider}/.well-known/openid-configuration"
client_kwargs = {{ scope = "openid email", prompt = "login" }}

[nsexp]
operators = ["ops@example.com"]
"""


@pytest.fixture(scope="module")
def provider(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 in a thread: any client id, any email typed as `sub`."""
    import oidc_provider_mock
    import werkzeug.serving

    monkeypatch_module.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback
    server = werkzeug.serving.make_server(
        "127.0.0.1", OIDC_PORT, oidc_provider_mock.app(), threaded=True
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{OIDC_PORT}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """A MonkeyPatch for the module's fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def app(provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app with sign-in configured in a temporary secrets file (not the project's
    .streamlit/), over a copy of the demo data; its address and data root."""
    require_chromium()
    base = tmp_path_factory.mktemp("signin")
    data = copy_demo(base / "data")
    address = f"http://127.0.0.1:{APP_PORT}"
    secrets_file = base / "secrets.toml"
    secrets_file.write_text(secrets_toml(address, provider), encoding="utf-8")
    with serve(
        data,
        base / "streamlit.log",
        port=APP_PORT,
        args=[f"--secrets.files={secrets_file}"],
        env={"AUTHLIB_INSECURE_TRANSPORT": "1"},
    ) as served_at:
        assert served_at == address
        yield address, data


def settle(page: Page) -> None:
    """Wait until the app is connected and its script has finished."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')


def signed_in(browser: Browser, address: str, email: str) -> Page:
    """A fresh browser (its own cookies) signed in as `email` through the provider's form."""
    page = browser.new_context(viewport={"width": 1440, "height": 2000}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{address}/data")
    settle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("button", name="Sign in").click()
    page.wait_for_url("http://127.0.0.1:*/oauth2/authorize*")  # the provider's form
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{address}/**")
    settle(page)
    sidebar.get_by_text(email, exact=True).wait_for()
    return page


def test_signed_in_pins_are_their_creators(browser: Browser, app: tuple[str, Path]) -> None:
    address, data = app
    anonymous = browser.new_context().new_page()
    anonymous.goto(f"{address}/readout?experiment=push_reminders")
    settle(anonymous)
    assert anonymous.get_by_role("button", name="Pin this readout").is_disabled()
    anonymous.context.close()

    ana = signed_in(browser, address, ANA)
    ana.goto(f"{address}/readout?experiment=push_reminders")
    settle(ana)
    ana.get_by_role("button", name="Pin this readout").click()
    ana.get_by_text("It is yours", exact=False).wait_for()
    (pin,) = pins.list_pins(data)
    assert access_record(data / "pins" / f"{pin.id}.json") == (ANA, None)

    ana.goto(f"{address}/data")
    settle(ana)
    ana.get_by_role("heading", name="Your pins").wait_for()
    grid = ana.locator('[data-testid="stDataFrame"]').last  # its accessible table holds the cells
    assert pin.id in (grid.locator("table").text_content() or "")
    assert ana.get_by_text("You have pinned no readout yet.").count() == 0

    bob = signed_in(browser, address, BOB)
    bob.goto(f"{address}/readout?pin={pin.id}")
    settle(bob)
    bob.get_by_text("Pinned by a signed-in colleague").wait_for()
    assert bob.get_by_role("button", name="Delete pin").count() == 0
    bob.goto(f"{address}/data")
    settle(bob)
    bob.get_by_text("You have pinned no readout yet.").wait_for()

    ana.goto(f"{address}/readout?pin={pin.id}")
    settle(ana)
    ana.get_by_text("Delete this pin").click()
    ana.get_by_role("button", name="Delete pin").click()
    ana.get_by_text(f"Deleted pin {pin.id}").wait_for()
    assert pins.list_pins(data) == []
