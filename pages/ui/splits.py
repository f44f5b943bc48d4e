"""The Data page's planned splits: experiments whose arms did not get the shares planned.

A sample-ratio mismatch makes a readout untrusted. Where experiments.toml declares no split the
check assumes equal shares, so an experiment unequal by design (10 / 80 / 10) fails until its
planned split is declared: here, by editing the shares and saving the data as a workspace with
the rewritten experiments.toml.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from nsexp.config.setup import declare_splits
from nsexp.errors import InputError
from nsexp.format import count, p_bare
from nsexp.report.preview import planned_splits
from nsexp.report.text import md_code, md_escape
from nsexp.store import workspaces as ws
from pages.ui import storage

EXPERIMENTS_TOML = "experiments.toml"
RESULT = "splits_result"
COLUMNS = {
    "experiment": st.column_config.Column("Experiment"),
    "variant": st.column_config.Column("Variant"),
    "units": st.column_config.NumberColumn("Units", format="localized"),
    "observed_share": st.column_config.NumberColumn("Observed share", format="percent"),
    "planned_share": st.column_config.NumberColumn(
        "Planned share",
        min_value=0.0,
        format="percent",
        help="Type shares as fractions (0.1 for 10%) or as relative weights: 0.1 / 0.8 / 0.1 "
        "and 10 / 80 / 10 mean the same split.",
    ),
    "assumed": st.column_config.CheckboxColumn("Assumed equal"),
    "p_value": st.column_config.TextColumn("SRM p", help="The sample-ratio check's p-value."),
}


def planned_split_section(data_root: Path, current: Path, splits: pl.DataFrame) -> None:
    """The experiments failing the SRM check, their shares editable, and a save button."""
    _show_result()
    failing = splits.filter(pl.col("mismatch")).drop("mismatch")
    # the p-value read one way everywhere ('< 0.001'), as the readout reads it
    failing = failing.with_columns(pl.col("p_value").map_elements(p_bare, return_dtype=pl.String))
    if failing.is_empty():
        return
    experiments = failing["experiment"].unique(maintain_order=True)
    assumed = failing.filter(pl.col("assumed"))["experiment"].n_unique()
    st.header("Planned splits", anchor=False)
    st.warning(_explanation(len(experiments), assumed), icon=":material/balance:")
    edited = st.data_editor(
        failing,
        key=f"splits_{current.name}",
        hide_index=True,
        num_rows="fixed",
        column_config=COLUMNS,
        disabled=[c for c in failing.columns if c != "planned_share"],
    )
    try:
        changed = planned_splits(failing, pl.DataFrame(edited))
        text = declare_splits(_experiments_text(current), changed) if changed else ""
    except InputError as exc:
        st.error(md_escape(exc.message), icon=":material/error:")
        changed, text = {}, ""
    if changed:
        st.caption(
            "Declares `expected_split` for "
            + ", ".join(md_code(e) for e in changed)
            + " in experiments.toml (its other keys kept, comments not)."
        )
    st.button(
        "Save the data above with these planned splits",
        icon=":material/save:",
        disabled=not changed,
        on_click=_save,
        args=(data_root, current, text),
    )


def _explanation(failing: int, assumed: int) -> str:
    """Why the table is shown: how many fail, and how many only against an assumed split."""
    some = "1 experiment fails" if failing == 1 else f"{count(failing)} experiments fail"
    claims = "its readout claims" if failing == 1 else "their readouts claim"
    if assumed == 0:
        return (
            f"{some} the sample-ratio check against the split declared in experiments.toml, so "
            f"{claims} nothing. The assignment is likely broken; if the declared shares are "
            "wrong, correct them below and save."
        )
    against = "an equal split" if failing == 1 else f"({count(assumed)} of them) an equal split"
    return (
        f"{some} the sample-ratio check against {against} assumed because experiments.toml "
        f"declares none, so {claims} nothing. If a split was unequal by design, type its "
        "planned shares below and save: the check then tests the planned split. If it was meant "
        "to be equal, the assignment is broken and the readout rightly says so."
    )


def _experiments_text(directory: Path) -> str:
    path = directory / EXPERIMENTS_TOML
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _save(data_root: Path, current: Path, text: str) -> None:
    """Button callback: the data on view with the rewritten experiments.toml, as a workspace."""
    files = {**ws.directory_files(current), EXPERIMENTS_TOML: text.encode()}
    try:
        info = ws.create_workspace(data_root, files)
    except (InputError, OSError) as exc:
        message = exc.message if isinstance(exc, InputError) else f"Could not save: {exc}"
        st.session_state[RESULT] = (message, None)
        return
    storage.saved(info)
    st.session_state[RESULT] = (None, info.id)
    st.query_params["workspace"] = info.id


def _show_result() -> None:
    """The outcome of the last save, once: its error, or the workspace now on view."""
    if RESULT not in st.session_state:
        return
    message, workspace = st.session_state.pop(RESULT)
    if message:
        st.error(md_escape(message), icon=":material/error:")
    else:
        st.success(
            f"Saved with the planned splits as workspace **{workspace}**: every page reads it "
            "and the sample-ratio check tests the declared shares.",
            icon=":material/check_circle:",
        )
