"""Storage on the Data page: how much of the quota is in use, old workspaces listed and deleted
(pinned ones are kept), why an upload cannot be saved yet, errors with paths relative
to the data directory, and the clean-up of interrupted saves when the server starts.

Each piece is one function the Data page calls; the rules live in nsexp.store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from nsexp.errors import InputError
from nsexp.report.text import md_escape
from nsexp.store import storage
from nsexp.store import workspaces as ws

_PICK = "storage_delete_pick"
_RESULT = "storage_delete_result"


@st.cache_resource(show_spinner=False)
def clean_on_start(root: str) -> int:
    """Remove staging directories of saves, and temporary files of pins, that a stopped server
    left behind: once per process and data root (cached), before any page is drawn. Returns
    how many were removed."""
    staged = storage.clean_staging(ws.workspaces_root(Path(root)), on_start=True)
    return staged + storage.clean_pin_temps(Path(root))


def shown(exc: InputError, *roots: Path) -> str:
    """An error's message as a viewer sees it: server paths relative to the data directory."""
    return exc.shown_under(*roots).message


def upload_problem(uploads: Sequence[Any] | None) -> InputError | None:
    """Why the uploaded files cannot be saved yet (names, count, size, no data file), or None.
    Checks only names and sizes, so it runs on every rerun without reading the bytes."""
    if not uploads:
        return InputError("no files uploaded", fix="add CSV or Parquet files and a metrics.toml")
    return ws.upload_problem((f.name, int(f.size)) for f in uploads)


def _delete(root: Path) -> None:
    """Button callback: delete the picked workspace (refused while pins refer to it)."""
    picked = st.session_state.get(_PICK)
    if not picked:
        return
    try:
        freed = ws.delete_workspace(root, picked)
    except InputError as exc:
        st.session_state[_RESULT] = (False, shown(exc, root))
        return
    st.session_state[_RESULT] = (True, f"Deleted workspace {picked} ({storage.mb(freed)} freed).")
    st.session_state.pop(_PICK, None)
    if st.query_params.get("workspace") == picked:
        st.query_params.pop("workspace", None)


def _table(root: Path) -> tuple[pl.DataFrame, dict[str, int]]:
    """One row per saved workspace (newest first) and each one's pin count."""
    rows, pins = [], {}
    for info in ws.list_workspaces(root):
        pins[info.id] = ws.pin_count(info.path)
        rows.append(
            {
                "workspace": info.id,
                "files": ", ".join(f for f in info.files if f != ws.CATALOG),
                "saved": info.created_at.replace("T", " "),
                "size": storage.mb(ws.size_of(info.path)),
                "pins": pins[info.id],
            }
        )
    schema = {"workspace": pl.String, "files": pl.String, "saved": pl.String, "size": pl.String}
    return pl.DataFrame(rows, schema=schema | {"pins": pl.Int64}), pins


def manage_workspaces(root: Path) -> None:
    """The storage in use against its quota, every saved workspace, and a way to delete old
    ones: a workspace that pinned readouts refer to is kept, and the page says so."""
    root = Path(root)
    st.subheader("Saved workspaces", anchor=False)
    try:
        quota = storage.mb(storage.max_storage_bytes())
    except InputError as exc:
        st.error(md_escape(exc.message), icon=":material/error:")
        return
    table, pins = _table(root)
    st.caption(
        f"{storage.mb(storage.used_bytes(root))} of {quota} in use by uploads and pins "
        f"({storage.STORAGE_ENV}; 1 MB = 1,000,000 bytes). Deleting a workspace breaks links "
        "to it; a workspace that pinned readouts refer to is kept, so their links keep working."
    )
    result = st.session_state.pop(_RESULT, None)
    if result is not None:
        ok, message = result
        (st.success if ok else st.error)(message, icon=":material/info:")
    if table.height == 0:
        st.caption("No workspace saved yet.")
        return
    st.dataframe(table, hide_index=True)
    deletable = [wid for wid, count in pins.items() if count == 0]
    kept = len(pins) - len(deletable)
    if kept:
        st.caption(f"{kept} workspace{'s are' if kept != 1 else ' is'} kept for their pins.")
    if not deletable:
        return
    st.selectbox("Workspace to delete", deletable, index=None, key=_PICK, placeholder="Pick one")
    st.button(
        "Delete workspace",
        icon=":material/delete:",
        disabled=not st.session_state.get(_PICK),
        on_click=_delete,
        args=(root,),
    )
