"""Sign-in in AppTest (issue 19 item 2): with OpenID Connect in the secrets, a workspace and a
pin belong to the signed-in email, the Data page lists one's own, and only the creator or an
operator deletes them; an anonymous visitor reads links but saves nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from helpers import APP_FILE, copy_demo
from streamlit.testing.v1 import AppTest, app_test

from nsexp.store import pins
from nsexp.store import workspaces as ws
from nsexp.store.storage import access_record
from pages.ui.frame import navigated_pages_manager

ANA, BOB, OPS = "ana@example.com", "bob@example.com", "ops@example.com"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-that-is-long-enough-for-hs256",
    "client_id": "nsexp",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}
SIGN_IN = {"auth": AUTH, "nsexp": {"operators": [OPS]}}
UNITS_CSV = b"variant,lessons,clicks\ncontrol,1,3\ncontrol,2,4\ncontrol,0,5\ntreat,3,5\ntreat,2,6\n"
CATALOG = b'[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n'
DATA_PAGE, READOUT = "pages/data.py", "pages/readout.py"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo data as the app's data root, opened as on a server."""
    monkeypatch.setattr(app_test, "PagesManager", navigated_pages_manager())
    data = copy_demo(tmp_path / "data")
    shutil.rmtree(data / "pins", ignore_errors=True)
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    return data


def open_as(
    user: str | None,
    page: str,
    query: dict[str, str] | None = None,
    secrets: dict[str, Any] | None = None,
) -> AppTest:
    """A page opened by `user` (None: not signed in) on a server whose secrets configure
    sign-in (SIGN_IN unless `secrets` says otherwise)."""
    at = AppTest.from_file(str(APP_FILE), default_timeout=30)
    at.secrets = SIGN_IN if secrets is None else secrets
    at.user = {"is_logged_in": True, "email": user} if user else {"is_logged_in": False}
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()


def texts(at: AppTest) -> str:
    """Every caption, Markdown and text element's value, one per line."""
    return "\n".join(e.value for e in [*at.caption, *at.markdown, *at.text])


def workspace_ids(at: AppTest) -> list[str]:
    """The ids the Data page's table of one's workspaces lists."""
    tables = [d.value for d in at.dataframe if "workspace" in d.value.columns]
    return [str(w) for t in tables for w in t["workspace"]]


def test_a_signed_in_upload_is_owned_listed_and_deleted_by_its_creator(root: Path) -> None:
    at = open_as(ANA, DATA_PAGE)
    assert [t.value for t in at.sidebar.text] == [ANA]
    assert any(b.label == "Sign out" for b in at.sidebar.button)
    uploader = at.file_uploader(key="upload")
    uploader.upload("signup.csv", UNITS_CSV).upload("metrics.toml", CATALOG)
    at.run()
    next(b for b in at.button if b.label == "Save as workspace").click().run()
    assert not at.exception
    (info,) = ws.list_workspaces(root)
    assert (info.owner, info.has_delete_code) == (ANA, False)
    assert "It is yours" in texts(at) and "delete code" not in texts(at).lower()
    assert workspace_ids(at) == [info.id]

    at.run()  # the page on view is the new workspace: its delete form needs no code
    assert not any(t.key == "storage_delete_code" for t in at.text_input)
    next(b for b in at.button if b.label == "Delete workspace").click().run()
    assert not at.exception and not info.path.exists()
    assert any(f"Deleted workspace {info.id}" in s.value for s in at.success)


def test_someone_else_neither_lists_nor_deletes_it_and_an_operator_deletes_it(root: Path) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG}, owner=ANA)
    at = open_as(BOB, DATA_PAGE, {"workspace": info.id})
    assert not at.exception
    assert workspace_ids(at) == [] and "You have saved no workspace yet." in texts(at)
    assert "only its creator or an operator can delete it" in texts(at)
    assert not any(b.label == "Delete workspace" for b in at.button)

    at = open_as(OPS, DATA_PAGE, {"workspace": info.id})
    assert "Operator: you may delete any workspace or pin." in texts(at)
    assert workspace_ids(at) == []  # an operator deletes, but lists only their own
    next(b for b in at.button if b.label == "Delete workspace").click().run()
    assert not at.exception and not info.path.exists()


def test_a_signed_in_pin_is_owned_listed_and_only_its_creator_deletes_it(root: Path) -> None:
    query = {"experiment": "push_reminders", "variant": "three_a_day"}
    at = open_as(ANA, READOUT, query)
    at.button(key="pin_readout").click().run()
    assert not at.exception
    (pin,) = pins.list_pins(root)
    assert access_record(root / "pins" / f"{pin.id}.json") == (ANA, None)
    assert "It is yours" in texts(at) and "delete code" not in texts(at).lower()

    listed = open_as(ANA, DATA_PAGE)
    (table,) = [d.value for d in listed.dataframe if "pin" in d.value.columns]
    assert list(table["pin"]) == [pin.id] and list(table["workspace"]) == ["bundled data"]
    assert str(table["link"][0]).endswith(f"readout?pin={pin.id}")
    assert not any("pin" in d.value.columns for d in open_as(BOB, DATA_PAGE).dataframe)

    theirs = open_as(BOB, READOUT, {"pin": pin.id})
    assert "Pinned by a signed-in colleague: only they or an operator can delete it." in texts(
        theirs
    )
    assert not any(b.label == "Delete pin" for b in theirs.button)
    mine = open_as(ANA, READOUT, {"pin": pin.id})
    assert not any(t.key == "storage_pin_delete_code" for t in mine.text_input)
    next(b for b in mine.button if b.label == "Delete pin").click().run()
    assert not mine.exception and pins.list_pins(root) == []


def test_an_anonymous_visitor_reads_but_saves_and_pins_nothing(root: Path) -> None:
    at = open_as(None, DATA_PAGE)
    assert not at.exception
    assert any(b.label == "Sign in" for b in at.sidebar.button)
    assert at.file_uploader(key="upload").proto.disabled
    assert any("Sign in (in the sidebar) to save" in i.value for i in at.info)
    readout = open_as(None, READOUT, {"experiment": "push_reminders"})
    assert not readout.exception and readout.button(key="pin_readout").disabled
    assert readout.title[0].value == "Practice reminder frequency"  # links still read


def saver() -> None:
    """A script that asks who a save belongs to, as the save and pin callbacks do."""
    import streamlit as st

    from nsexp.errors import InputError
    from pages.ui import identity

    try:
        st.text(f"owner: {identity.owner_to_save()}")
    except InputError as exc:
        st.error(exc.message)


@pytest.mark.parametrize(
    ("secrets", "user", "shown"),
    [
        (SIGN_IN, {"is_logged_in": False}, "saving needs sign-in on this server"),
        (SIGN_IN, {"is_logged_in": True, "email": ANA}, f"owner: {ANA}"),
        ({}, {"email": "test@example.com"}, "owner: None"),  # capability mode: nobody's
    ],
)
def test_a_save_belongs_to_the_signed_in_email_and_needs_one_with_sign_in(
    secrets: dict[str, Any], user: dict[str, Any], shown: str
) -> None:
    """Beyond the disabled buttons: a request that reached a save callback anyway."""
    at = AppTest.from_function(saver, default_timeout=30)
    at.secrets, at.user = secrets, user
    at.run()
    assert shown in "\n".join(e.value for e in [*at.error, *at.text])


def test_without_sign_in_configured_the_app_is_in_capability_mode(root: Path) -> None:
    at = open_as(None, DATA_PAGE, secrets={})
    at.user = {"email": "test@example.com"}  # AppTest's default user: no sign-in configured
    at.run()
    assert not any(b.label in ("Sign in", "Sign out") for b in at.sidebar.button)
    uploader = at.file_uploader(key="upload")
    assert not uploader.proto.disabled
    uploader.upload("signup.csv", UNITS_CSV).upload("metrics.toml", CATALOG)
    at.run()
    next(b for b in at.button if b.label == "Save as workspace").click().run()
    (info,) = ws.list_workspaces(root)
    assert (info.owner, info.has_delete_code) == (None, True)


def test_a_malformed_operators_list_is_one_message_and_nobody_saves(root: Path) -> None:
    at = open_as(ANA, DATA_PAGE, secrets={"auth": AUTH, "nsexp": {"operators": OPS}})
    assert [e.value for e in at.sidebar.error] == [
        "[nsexp] operators in the secrets is not a list of emails; write it as "
        'operators = ["a@example.com", "b@example.com"]'
    ]
    assert at.file_uploader(key="upload").proto.disabled
