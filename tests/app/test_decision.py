"""The readout's decision panel in AppTest: the recommendation with its reason, recording a
decision (typed name without sign-in, the signed-in email with it), the mark where it differs
from the recommendation, the read-only viewer of someone else's workspace, the Portfolio's
columns and decision filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import portfolio_rows, unescape
from helpers import APP_FILE, DEMO_DATA, AppOpener, copy_demo
from streamlit.testing.v1 import AppTest, app_test

from nsexp.report.docs import read_block
from nsexp.report.portfolio import DIFFERS, DIFFERS_MARK
from nsexp.store import decisions, workspaces
from pages.ui.frame import navigated_pages_manager

READOUT, PORTFOLIO = "pages/readout.py", "pages/portfolio.py"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-that-is-long-enough-for-hs256",
    "client_id": "nsexp",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def captions(at: AppTest) -> str:
    """The captions as a reader sees them (Markdown escapes undone)."""
    return unescape("\n".join(c.value for c in at.caption))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A private copy of the demo (it ships a decision log), to record into."""
    return copy_demo(tmp_path / "data")


def test_the_panel_shows_recommended_and_decided(open_app: AppOpener, data: Path) -> None:
    at = open_app(READOUT, {"experiment": "ai_tutor_beta"}, data=data)
    assert not at.exception
    shown = markdown(at)
    assert "**Recommended: Iterate**" in shown and "**Decided: Ship**" in shown
    assert f"-badge[:material/warning: {DIFFERS}]" in shown  # decided against the advice
    assert "Iterate: other metrics moved" in captions(at)
    assert "Decided by Jonas Berg on 2026-09-23." in captions(at)
    assert read_block("docs/review.md", "decisions") in shown  # the popover renders the doc


def test_recording_a_decision_appends_to_the_log(open_app: AppOpener, data: Path) -> None:
    at = open_app(READOUT, {"experiment": "dark_mode"}, data=data)
    assert "**Recommended: Stop**" in markdown(at) and "**Decided" not in markdown(at)
    assert at.selectbox(key="decision_value_dark").value == "stop"  # starts at the advice
    at.selectbox(key="decision_value_dark").set_value("iterate")
    at.text_area(key="decision_note_dark").input("Try a darker palette first.")
    at.text_input(key="decision_by_dark").input("Priya")
    at.button(key="decision_record_dark").click().run()
    assert not at.exception and not at.error
    found = decisions.latest(data)[("dark_mode", "dark")]
    assert (found.value, found.note, found.by, found.recommended) == (
        "iterate",
        "Try a darker palette first.",
        "Priya",
        "stop",
    )
    assert "**Decided: Iterate**" in markdown(at)
    assert DIFFERS in markdown(at)


def test_a_note_is_shown_as_text(open_app: AppOpener, data: Path) -> None:
    decisions.record(data, "dark_mode", "dark", "stop", note="[x](https://a.invalid)", by="**B**")
    at = open_app(READOUT, {"experiment": "dark_mode"}, data=data)
    assert "[x](https://a.invalid)" in [t.value for t in at.text]
    assert "a.invalid" not in markdown(at)
    assert "Decided by \\*\\*B\\*\\* on" in "\n".join(c.value for c in at.caption)


def test_one_read_of_the_log_serves_every_card(
    open_app: AppOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """push_reminders has two cards, each with its recorded decision and the daily arm an
    earlier one: decisions.jsonl is read once per run, not twice per card."""
    reads: list[Path] = []
    read = decisions.history

    def counted(directory: str | Path) -> list[decisions.Recorded]:
        reads.append(Path(directory))
        return read(directory)

    monkeypatch.setattr(decisions, "history", counted)
    at = open_app(READOUT, {"experiment": "push_reminders"})
    assert not at.exception
    assert len(reads) == 1
    shown = markdown(at)
    assert "**Decided: Ship**" in shown and "**Decided: Roll back**" in shown  # both cards
    labels = [p.proto.popover.label for p in at.get("popover")]
    assert [label for label in labels if label.startswith("Earlier")] == [
        "Earlier decisions (1)"  # daily's first entry; three_a_day has only its latest
    ]
    assert "Keep running · Dana Okafor: Wait for the third week" in "\n".join(
        t.value for t in at.text
    )


def open_signed_in(data: Path, user: str | None, query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(APP_FILE), default_timeout=30)
    at.secrets = {"auth": AUTH}
    at.user = {"is_logged_in": True, "email": user} if user else {"is_logged_in": False}
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(READOUT)
    return at.run()


def test_with_sign_in_the_email_records_and_others_only_read(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_test, "PagesManager", navigated_pages_manager())
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    query = {"experiment": "dark_mode"}
    anonymous = open_signed_in(data, None, query)
    assert "Sign in (in the sidebar) to record decisions." in captions(anonymous)
    at = open_signed_in(data, "ana@example.com", query)
    assert not [t for t in at.text_input if t.label == "Your name"]  # the email is the name
    at.button(key="decision_record_dark").click().run()
    assert decisions.latest(data)[("dark_mode", "dark")].by == "ana@example.com"


def test_portfolio_columns_and_the_decision_filter(open_app: AppOpener, data: Path) -> None:
    at = open_app(PORTFOLIO, {"decision": "roll_back", "status": "all"}, data=data)
    assert not at.exception
    assert at.multiselect(key="decision").value == ["roll_back"]
    table = portfolio_rows(at)
    decision = {f"{r['experiment']}/{r['variant']}": r["Decision"] for r in table}
    assert {d.split(" · ")[0] for d in decision.values()} == {"Roll back"}  # recommended
    assert decision["hearts_system/hearts"] == "Roll back · decided"  # as recommended
    assert decision["push_reminders/three_a_day"] == "Roll back · decided"
    at = open_app(PORTFOLIO, {"verdict": "vanity_only"}, data=data)
    decision = {r["experiment"]: r["Decision"] for r in portfolio_rows(at)}
    recommended, decided = decision["ai_tutor_beta"].split(" · ")
    assert recommended != "Ship" and decided == f"decided Ship {DIFFERS_MARK}"


UNITS_CSV = b"variant,lessons\ncontrol,1\ncontrol,2\ncontrol,0\ntreat,3\ntreat,2\ntreat,4\n"
CATALOG = b'[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'


def test_someone_elses_workspace_is_read_only(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_test, "PagesManager", navigated_pages_manager())
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    files = {"pilot.csv": UNITS_CSV, "metrics.toml": CATALOG}
    info = workspaces.create_workspace(data, files, owner="ana@example.com")
    query = {"workspace": info.id, "experiment": "pilot"}
    bob = open_signed_in(data, "bob@example.com", query)
    assert not bob.exception
    assert "Only this workspace's owner or an operator records its decisions." in captions(bob)
    ana = open_signed_in(data, "ana@example.com", query)
    ana.button(key="decision_record_treat").click().run()
    assert decisions.latest(info.path)[("pilot", "treat")].by == "ana@example.com"
    assert decisions.latest(data) == decisions.latest(DEMO_DATA)  # the bundled log untouched
