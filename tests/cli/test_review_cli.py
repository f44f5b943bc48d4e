"""`nsexp review`: its formats, bad input (one `error:` line, exit 2), and `--post` to a local
HTTP server the test starts (the webhook's URL never printed, anything but https or loopback
refused)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from helpers import DEMO_DATA, CliRunner

from nsexp.analysis.asof import parse_day
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.report.digest import to_slack
from nsexp.report.review import build_review
from nsexp.store.decisions import latest

SINCE = "2026-10-18"


class _Hook(BaseHTTPRequestHandler):
    """Records each POST's body and path; answers with the server's chosen status."""

    received: ClassVar[list[tuple[str, bytes, str]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.path, body, self.headers["Content-Type"]))
        self.send_response(_Hook.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def hook() -> Iterator[str]:
    """A webhook on a free loopback port; its URL, with a secret-looking path."""
    _Hook.received, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret-token"
    server.shutdown()
    server.server_close()


def test_json_is_the_review_model(run_cli: CliRunner) -> None:
    code, out, err = run_cli("review", DEMO_DATA, "--since", SINCE, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 1 and doc["since"] == SINCE
    assert [c["variant"] for c in doc["changed"]] == ["club"]
    assert all(c["link"] is None for c in doc["decisions_due"])


def test_base_url_from_the_option_or_the_environment(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli("review", DEMO_DATA, "--format", "markdown")
    assert code == 0 and "Links are unavailable" in out
    monkeypatch.setenv("NSEXP_BASE_URL", "https://nsexp.example.com/")
    code, out, _ = run_cli("review", DEMO_DATA, "--format", "markdown")
    assert code == 0 and "(https://nsexp.example.com/readout?experiment=" in out
    assert "Links are unavailable" not in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "last week"), "--since 'last week' is not a date"),
        (("--since", "2027-01-01"), "after the newest data"),
        (("--base-url", "javascript:alert(1)"), "is not an http(s) address"),
        (("--post", "http://hooks.example.com/x"), "only https addresses"),
        (("--post", "file:///etc/passwd"), "only https addresses"),
        (("--post",), "NSEXP_REVIEW_WEBHOOK is not set"),
    ],
)
def test_bad_input_is_one_error_line(
    run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], says: str
) -> None:
    monkeypatch.delenv("NSEXP_REVIEW_WEBHOOK", raising=False)
    code, out, err = run_cli("review", DEMO_DATA, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err
    assert "hooks.example.com" not in err and "passwd" not in err  # a webhook is never echoed


def test_post_sends_the_slack_digest_and_never_prints_the_url(
    run_cli: CliRunner, hook: str, demo_dataset: Dataset
) -> None:
    code, out, err = run_cli("review", DEMO_DATA, "--since", SINCE, "--post", hook)
    assert code == 0, err
    assert hook not in out + err and "secret-token" not in out + err
    ((path, body, kind),) = _Hook.received
    assert path.endswith("/secret-token") and kind == "application/json"
    expected = to_slack(build_review(demo_dataset, Settings(), parse_day(SINCE), latest(DEMO_DATA)))
    assert json.loads(body) == {"text": expected}


def test_post_reads_the_webhook_from_the_environment_and_reports_a_refusal(
    run_cli: CliRunner, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NSEXP_REVIEW_WEBHOOK", hook)
    _Hook.status = 403
    code, out, err = run_cli("review", DEMO_DATA, "--post")
    assert code == 2 and "the webhook answered HTTP 403" in err
    assert "secret-token" not in out + err and len(_Hook.received) == 1
