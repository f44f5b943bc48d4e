"""Storage on the Data page and the pinned readout: the workspaces this browser session saved,
their link and delete code shown once, deleting with that code, the quota in use, why an upload
cannot be saved yet, errors with paths relative to the data directory, and the clean-up of
interrupted saves and expired workspaces when the server starts.

Each piece is one function a page calls; the rules live in nsexp.store. Workspaces are
capability links: no visitor is shown a list of anyone else's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from nsexp.errors import InputError
from nsexp.report.text import md_escape
from nsexp.store import owned, pins, storage
from nsexp.store import workspaces as ws
from pages.ui import identity, nav

_MINE = "storage_my_workspaces"  # ids this browser session saved, oldest first
_NEW = "storage_new_workspace"  # (id, delete code) of the last save, until shown once
_CODE = "storage_delete_code"
_WITH_PINS = "storage_delete_with_pins"
_PIN_CODE = "storage_pin_delete_code"
_RESULT = "storage_delete_result"
_PIN_RESULT = "storage_pin_delete_result"


@st.cache_resource(show_spinner=False)
def clean_on_start(root: str) -> int:
    """Remove staging directories of saves and temporary files of pins that a stopped server
    left behind, and the workspaces expired since: once per process and data root (cached),
    before any page is drawn. Returns how many were removed."""
    staged = storage.clean_staging(ws.workspaces_root(Path(root)), on_start=True)
    try:
        expired = len(ws.expire_workspaces(Path(root)))
    except InputError:  # a bad NSEXP_WORKSPACE_TTL_DAYS: the Data page says so, pages still open
        expired = 0
    return staged + storage.clean_pin_temps(Path(root)) + expired


def mark_opened(path: Path) -> None:
    """Restart the expiry clock of the workspace on view (a no-op for the bundled data)."""
    if path.parent.name == ws.WORKSPACES_DIR:
        ws.mark_opened(path)


def shown(exc: InputError, *roots: Path) -> str:
    """An error's message as a viewer sees it: server paths relative to the data directory."""
    return exc.shown_under(*roots).message


def upload_problem(uploads: Sequence[Any] | None) -> InputError | None:
    """Why the uploaded files cannot be saved yet (names, count, size, no data file), or None.
    Checks only names and sizes, so it runs on every rerun without reading the bytes."""
    if not uploads:
        return InputError("no files uploaded", fix="add CSV or Parquet files and a metrics.toml")
    return ws.upload_problem((ws.safe_name(f.name), int(f.size)) for f in uploads)


def saved(info: ws.WorkspaceInfo) -> None:
    """Remember a workspace this session saved (the Data page lists it) and queue its link and
    delete code to be shown once (announce_saved)."""
    mine = st.session_state.setdefault(_MINE, [])
    if info.id not in mine:
        mine.append(info.id)
    st.session_state[_NEW] = (info.id, info.delete_code or "")


def mine(root: Path) -> list[ws.WorkspaceInfo]:
    """The workspaces this browser session saved that still exist, newest first."""
    found = []
    for wid in st.session_state.get(_MINE, []):
        try:
            found.append(ws.read_workspace(root, wid))
        except InputError:
            continue
    return found[::-1]


@st.dialog("Keep this link and this delete code", width="large")
def _keep(workspace_id: str, code: str) -> None:
    """The dialog that shows a new workspace's link and its delete code, once."""
    st.markdown(
        "Your data is saved as a new workspace. **Only people with this link can open it**: "
        "it is not listed anywhere, so keep the link (every page's link carries it)."
    )
    st.code(nav.app_url("data", {"workspace": workspace_id}), language=None)
    if not code:  # saved signed in: its creator deletes it, no code needed
        st.markdown(
            "It is yours: the Data page lists it while you are signed in, and only you or an "
            "operator can delete it."
        )
        return
    st.markdown(
        "Its **delete code**, shown only this once: keep it to delete the workspace, or any "
        "pin of it, on the Data page."
    )
    st.code(code, language=None)
    days = ws.ttl_seconds() / 86_400
    st.caption(
        f"A workspace nobody opens for {days:g} days is deleted, unless a readout of it is "
        f"pinned ({ws.TTL_ENV})."
    )


def announce_saved() -> None:
    """Show the link and delete code of the workspace this session just saved, once, in a
    dialog (app.py calls it after the page, so a page switch after the save keeps it)."""
    new = st.session_state.pop(_NEW, None)
    if new is not None:
        _keep(*new)


def _delete(root: Path, workspace_id: str) -> None:
    """Form callback: delete the workspace on view with the code typed."""
    code, who = st.session_state.get(_CODE, ""), identity.current()
    try:
        freed = ws.delete_workspace(
            root,
            workspace_id,
            code=code,
            with_pins=bool(st.session_state.get(_WITH_PINS)),
            user=who.email,
            operators=who.operators,
        )
    except InputError as exc:
        st.session_state[_RESULT] = (False, shown(exc, root))
        return
    st.session_state[_RESULT] = (
        True,
        f"Deleted workspace {workspace_id} ({storage.mb(freed)} freed).",
    )
    if st.query_params.get("workspace") == workspace_id:
        st.query_params.pop("workspace", None)


def _table(infos: list[ws.WorkspaceInfo]) -> pl.DataFrame:
    """One row per workspace of this session (newest first)."""
    rows = [
        {
            "workspace": info.id,
            "files": ", ".join(f for f in info.files if f != ws.CATALOG),
            "saved": info.created_at.replace("T", " "),
            "size": storage.mb(ws.size_of(info.path)),
            "pins": ws.pin_count(info.path),
        }
        for info in infos
    ]
    schema = {"workspace": pl.String, "files": pl.String, "saved": pl.String, "size": pl.String}
    return pl.DataFrame(rows, schema=schema | {"pins": pl.Int64})


def manage_workspaces(root: Path, on_view: str | None) -> None:
    """The storage in use against its quotas, the workspaces this session saved, and a form
    that deletes the workspace on view with its delete code."""
    root = Path(root)
    st.subheader("Your workspaces", anchor=False)
    who = identity.current()
    try:
        quota = storage.mb(storage.max_storage_bytes())
        share = storage.mb(storage.max_workspace_bytes())
        days = ws.ttl_seconds() / 86_400
        own = storage.mb(storage.max_owner_bytes())
    except InputError as exc:
        st.error(md_escape(exc.message), icon=":material/error:")
        return
    listed = (
        f"Signed in as you, this lists what you saved, wherever it is; "
        f"{storage.mb(storage.owner_bytes(root, who.email))} of your {own} in use "
        f"({storage.OWNER_ENV}). "
        if who.email is not None
        else "Saved workspaces are private links: this list shows only the ones saved in this "
        "browser tab's session. "
    )
    st.caption(
        f"{listed}{storage.mb(storage.used_bytes(root))} of {quota} in use by "
        f"all uploads and pins ({storage.STORAGE_ENV}), at most {share} per workspace with its "
        f"pins ({storage.WORKSPACE_ENV}); 1 MB = 1,000,000 bytes. A workspace saved without "
        f"sign-in that nobody opens for {days:g} days is deleted unless a readout of it is "
        f"pinned ({ws.TTL_ENV})."
    )
    _result(_RESULT)
    if who.email is not None:
        _owned(root, who.email)
    else:
        infos = mine(root)
        if infos:
            st.dataframe(_table(infos), hide_index=True)
        else:
            st.caption("No workspace saved in this session.")
    if on_view:
        _delete_form(root, on_view, who)


def _owned(root: Path, email: str) -> None:
    """The workspaces and pins the signed-in visitor created, each with its link."""
    infos = owned.owned_workspaces(root, email)
    if infos:
        table = _table(infos).with_columns(
            link=pl.Series([nav.app_url("data", {"workspace": i.id}) for i in infos])
        )
        st.dataframe(
            table, hide_index=True, column_config={"link": st.column_config.LinkColumn("Link")}
        )
    else:
        st.caption("You have saved no workspace yet.")
    st.subheader("Your pins", anchor=False)
    found = owned.owned_pins(root, email)
    if not found:
        st.caption("You have pinned no readout yet.")
        return
    rows = [
        {
            "pin": o.pin.id,
            "experiment": o.pin.experiment,
            "pinned": o.pin.created_at.replace("T", " "),
            "workspace": o.workspace or "bundled data",
            "link": nav.app_url(
                "readout", {"pin": o.pin.id} | ({"workspace": o.workspace} if o.workspace else {})
            ),
        }
        for o in found
    ]
    st.dataframe(
        pl.DataFrame(rows),
        hide_index=True,
        column_config={"link": st.column_config.LinkColumn("Link")},
    )


def _delete_form(root: Path, workspace_id: str, who: identity.Visitor) -> None:
    """Delete the workspace on view: as its creator or an operator when signed in, else with its
    delete code typed into a form, never in the URL."""
    try:
        info = ws.read_workspace(root, workspace_id)
    except InputError:
        return
    with st.expander("Delete this workspace", icon=":material/delete:"):
        own = who.may_delete(info.owner)
        if info.owner is not None and not own:
            st.caption(
                "Created by a signed-in colleague: only its creator or an operator can delete it."
            )
            return
        if not (own or info.has_delete_code):
            st.caption(
                "This workspace was saved before delete codes: only whoever runs nsexp can "
                "delete it (`nsexp workspaces delete`)."
            )
            return
        count = ws.pin_count(info.path)
        with st.form("storage_delete_form", clear_on_submit=True):
            if own:
                st.caption("Links to it stop working.")
            else:
                st.caption(
                    "Links to it stop working. Type the delete code shown when it was saved."
                )
                st.text_input("Delete code", type="password", key=_CODE)
            if count:
                st.checkbox(
                    f"Also delete its {count} pinned readout{'s' if count != 1 else ''}",
                    key=_WITH_PINS,
                    help="A pinned workspace is kept unless its pins go with it.",
                )
            st.form_submit_button(
                "Delete workspace",
                icon=":material/delete:",
                on_click=_delete,
                args=(root, workspace_id),
            )


def _delete_pin(folder: Path, root: Path, pin_id: str) -> None:
    """Form callback: delete the pin on view with the code typed, then show the live view."""
    who = identity.current()
    try:
        freed = pins.delete_pin(
            folder,
            pin_id,
            code=st.session_state.get(_PIN_CODE, ""),
            user=who.email,
            operators=who.operators,
        )
    except InputError as exc:
        st.session_state[_PIN_RESULT] = (False, shown(exc, root))
        return
    st.toast(f"Deleted pin {pin_id} ({storage.mb(freed)} freed).", icon=":material/delete:")
    st.query_params.pop("pin", None)


def delete_pin_form(folder: Path, root: Path, pin_id: str) -> None:
    """A form that deletes the pin on view with its own delete code or its workspace's (and
    why the last try failed)."""
    _result(_PIN_RESULT)
    who = identity.current()
    owner = storage.access_record(pins.pins_dir(folder) / f"{pin_id}.json")[0]
    space_owner = storage.access_record(folder / storage.MANIFEST)[0]
    own = who.may_delete(owner) or (space_owner is not None and who.may_delete(space_owner))
    if owner is not None and not own:
        st.caption("Pinned by a signed-in colleague: only they or an operator can delete it.")
        return
    with (
        st.expander("Delete this pin", icon=":material/delete:"),
        st.form("storage_pin_delete_form", clear_on_submit=True),
    ):
        if own:
            st.caption("Links to it stop working.")
        else:
            st.caption(
                "Links to it stop working. Type the delete code shown when it was pinned, or "
                "the one of its workspace."
            )
            st.text_input("Delete code", type="password", key=_PIN_CODE)
        st.form_submit_button(
            "Delete pin",
            icon=":material/delete:",
            on_click=_delete_pin,
            args=(folder, root, pin_id),
        )


def _result(key: str) -> None:
    """The outcome of the last deletion a form's callback stored under `key`, shown once."""
    result = st.session_state.pop(key, None)
    if result is not None:
        ok, message = result
        (st.success if ok else st.error)(message, icon=":material/info:")
