"""The Data page's guided set-up: from a raw export to a readout without writing TOML.

Choose the file -> see its columns -> pick the arms, the control, the unit id and date columns
-> give each metric column a role and a type -> save. It writes metrics.toml and
experiments.toml for the user (also offered as downloads, so the CLI reads the data the same
way) and every step is checked with the CLI's own messages.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import streamlit as st

from nsexp.config.catalog import DEFAULT_THRESHOLD
from nsexp.config.experiments import usual_control
from nsexp.config.setup import (
    SKIP,
    MetricChoice,
    Setup,
    catalog_toml,
    experiments_toml,
    missing_step,
    type_problem,
)
from nsexp.errors import InputError
from nsexp.format import count
from nsexp.io.profile import ColumnProfile, profile, read_sample
from nsexp.report.text import md_code, md_escape
from nsexp.store import workspaces as ws
from pages.ui import identity, nav, storage

NONE = "(none)"
MAX_ARMS = 20
MAX_NAMED = 10  # experiments of one file named in the set-up; the rest keep their ids
ROLE_CHOICES = {
    "—": SKIP,
    "North Star": "north_star",
    "Leading": "leading",
    "Vanity": "vanity",
    "Guardrail": "guardrail",
}
RESULT = "setup_result"


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Reading the file…")
def _frame(name: str, data: bytes) -> pl.DataFrame:
    """Every row of the file (an upload is at most 50 MB), read once: counts are exact."""
    return read_sample(name, data, rows=None)


@st.cache_data(max_entries=8, ttl=3600, show_spinner="Profiling the columns…")
def _profiled(name: str, data: bytes) -> tuple[pl.DataFrame, list[ColumnProfile], int]:
    frame = _frame(name, data)
    return frame.head(5), profile(frame), frame.height


@st.cache_data(max_entries=8, ttl=3600, show_spinner=False)
def _values(name: str, data: bytes, column: str) -> list[str]:
    values = _frame(name, data)[column].drop_nulls().unique().head(MAX_ARMS + 1)
    return sorted(str(v) for v in values)


def guided_setup(data_root: Path, files: dict[str, bytes]) -> None:
    """The four steps for the data files of an upload that came without a metrics.toml."""
    data_names = [n for n in files if n.lower().endswith((".csv", ".parquet"))]
    name = data_names[0]
    if len(data_names) > 1:
        name = st.selectbox(
            "File to describe",
            data_names,
            help="The set-up is read off this file and applies to every file of the upload: "
            "they must share its columns.",
        )
    try:
        head, columns, rows = _profiled(name, files[name])
    except InputError as exc:
        st.error(md_escape(exc.message), icon=":material/error:")
        return
    st.subheader("1. The columns", anchor=False)
    st.caption(f"{count(rows)} rows, all read: distinct values and missing cells are exact.")
    st.dataframe(_profile_table(columns), hide_index=True, width="stretch")
    st.dataframe(head, hide_index=True, width="stretch")
    setup = _arms(name, files[name], columns)
    if setup is None:
        return
    setup, ready = _metrics(setup, columns)
    st.subheader("4. Save", anchor=False)
    if not ready:
        st.caption("Save opens once step 3 is complete.")
        return
    try:
        catalog, experiments = catalog_toml(setup), experiments_toml(setup)
    except InputError as exc:
        st.error(md_escape(exc.message), icon=":material/error:")
        return
    st.button(
        "Save and open the readout",
        type="primary",
        icon=":material/rocket_launch:",
        key="setup_save",
        on_click=_save,
        args=(data_root, files, catalog, experiments, setup.experiments[0]),
    )
    _downloads(catalog, experiments)
    _show_result()


def _profile_table(columns: list[ColumnProfile]) -> pl.DataFrame:
    looks = {
        "variant": "the arms",
        "unit_id": "a unit id",
        "date": "a date",
        "metric": "a metric",
        "segment": "a segment",
        "other": "",
    }
    return pl.DataFrame(
        {
            "Column": [c.name for c in columns],
            "Type": [c.dtype for c in columns],
            "Distinct values": [c.distinct for c in columns],
            "Missing": [c.missing for c in columns],
            "Examples": [", ".join(c.examples) for c in columns],
            "Looks like": [looks[c.guess] for c in columns],
        }
    )


def _arms(name: str, data: bytes, columns: list[ColumnProfile]) -> Setup | None:
    """Step 2: the variant column, the control arm, the unit id and date columns."""
    st.subheader("2. Who is in which arm", anchor=False)
    names = [c.name for c in columns]
    guess = next((c.name for c in columns if c.guess == "variant"), None)
    with st.container(horizontal=True):
        variant = st.selectbox(
            "Variant column",
            names,
            index=names.index(guess) if guess else None,
            placeholder="The column that says which arm a unit is in",
            key="setup_variant",
        )
        if variant is None:
            st.info("Pick the column that holds the arms.", icon=":material/info:")
            return None
        arms = _values(name, data, variant)
        if len(arms) > MAX_ARMS or len(arms) < 2:
            st.error(
                f"Column {md_code(variant)} has {len(arms)} distinct values in the first rows: "
                "an A/B test has 2 to 20 arms. Pick another column.",
                icon=":material/error:",
            )
            return None
        usual = usual_control(tuple(arms))
        control = st.selectbox(
            "Control arm",
            arms,
            index=arms.index(usual) if usual else None,
            placeholder="Which arm is the control?",
            key=f"setup_control_{variant}",
            help="Every other arm is judged against it. nsexp never guesses: a usual control "
            "name (control, baseline, default, original, holdout, A, v0, ...) is pre-selected, "
            "anything else you pick here.",
        )
        others = [NONE, *(n for n in names if n != variant)]
        unit = _optional(columns, "unit_id", others, "Unit id column", "setup_unit")
        date = _optional(columns, "date", others, "Date column", "setup_date")
    if control is None:
        st.warning(
            f"Pick the control arm of {md_code(variant)} ({', '.join(md_escape(a) for a in arms)}) "
            "before any verdict is shown.",
            icon=":material/help:",
        )
        return None
    experiments = _experiment_ids(name, data, names)
    split = _split(variant, arms)
    titles = _names(experiments)
    return Setup(experiments, variant, control, (), unit, date, names=titles, split=split)


def _names(experiments: tuple[str, ...]) -> dict[str, str]:
    """A name for each experiment of the file (the first MAX_NAMED; the others keep their id):
    the readout's title, and how the portfolio lists it."""
    named = {}
    for eid in experiments[:MAX_NAMED]:
        named[eid] = st.text_input(
            "Experiment name" if len(experiments) == 1 else f"Name of {md_escape(eid)}",
            placeholder=f"{eid} (the id, when left empty)",
            max_chars=120,
            key=f"setup_name_{eid}",
            help="The title of its readout and its row in the portfolio. Empty: the id.",
        ).strip()
    return {k: v for k, v in named.items() if v}


def _split(variant: str, arms: list[str]) -> dict[str, float]:
    """The planned shares when the arms were unequal by design (else empty: equal)."""
    unequal = st.checkbox(
        "The arms were not split equally by design",
        key=f"setup_unequal_{variant}",
        help="The sample-ratio check tests the units each arm got against the planned split; "
        "without one it assumes equal shares, and a 10 / 80 / 10 design would fail it.",
    )
    if not unequal:
        return {}
    st.caption("Planned share of each arm, as relative weights (10 / 80 / 10 or 0.1 / 0.8 / 0.1).")
    with st.container(horizontal=True):
        return {
            arm: st.number_input(
                md_escape(arm),
                min_value=0.0,
                value=1.0,
                step=1.0,
                key=f"setup_share_{variant}_{arm}",
            )
            for arm in arms
        }


def _optional(
    columns: list[ColumnProfile], kind: str, options: list[str], label: str, key: str
) -> str | None:
    guess = next((c.name for c in columns if c.guess == kind and c.name in options), NONE)
    picked = st.selectbox(label, options, index=options.index(guess), key=key)
    return None if picked == NONE else picked


def _experiment_ids(name: str, data: bytes, names: list[str]) -> tuple[str, ...]:
    """The experiments of the file: its `experiment` column's values, else the file stem."""
    if "experiment" in names:
        return tuple(_values(name, data, "experiment"))
    return (Path(name).stem,)


def _metrics(setup: Setup, columns: list[ColumnProfile]) -> tuple[Setup, bool]:
    """Step 3: a role, a label, a type, a direction and a threshold for every other numeric or
    true/false column, each checked beside its controls; True once it can be saved."""
    st.subheader("3. The metrics", anchor=False)
    st.caption(
        "Mark the one North Star (the value customers get) and the columns worth reading; "
        "leave the rest as —. 0/1 and true/false columns are proportions, other numbers means."
    )
    used = {setup.variant, setup.unit_id, setup.date, "experiment"}
    candidates = [c for c in columns if c.metric_type is not None and c.name not in used]
    metrics, problems = [], 0
    for c in candidates:
        with st.container(border=True):
            choice = _metric_row(c)
            problem = type_problem(choice, c.zero_one, c.largest)
            if problem:
                st.error(md_escape(problem), icon=":material/error:")
                problems += 1
        metrics.append(choice)
    setup = replace(setup, metrics=tuple(metrics))
    stars = [m.column for m in setup.chosen() if m.role == "north_star"]
    hint = missing_step(setup)
    if hint:
        st.info(hint, icon=":material/arrow_upward:")
    elif len(stars) > 1:
        st.error(
            f"{len(stars)} columns are the North Star ({md_escape(', '.join(stars))}): keep one "
            "and give the others another role.",
            icon=":material/error:",
        )
    return setup, not hint and len(stars) == 1 and not problems


def _metric_row(c: ColumnProfile) -> MetricChoice:
    """One metric column's controls in a row, under its name and a few of its values."""
    examples = ", ".join(md_escape(e) for e in c.examples)
    st.markdown(f"{md_code(c.name)} · {examples}")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        role = st.selectbox("Role", list(ROLE_CHOICES), key=f"role_{c.name}", width=140)
        label = st.text_input(
            "Label",
            placeholder=c.name,
            max_chars=80,
            key=f"label_{c.name}",
            width=200,
            help="How pages and exports name the metric. Empty: the column name.",
        )
        kind = st.selectbox(
            "Type",
            ["proportion", "mean"],
            index=0 if c.metric_type == "proportion" else 1,
            key=f"type_{c.name}",
            width=130,
            help="Proportion: the share of units with a 1 (0/1 or true/false values). Mean: "
            "the average of any number per unit.",
        )
        better = st.selectbox(
            "Better when it goes", ["up", "down"], key=f"direction_{c.name}", width=150
        )
        threshold = st.number_input(
            "Threshold (%)",
            min_value=0.1,
            max_value=50.0,
            value=None,
            step=0.5,
            format="%.1f",
            placeholder=f"{DEFAULT_THRESHOLD:.0%} (default)",
            key=f"threshold_{c.name}",
            width=180,
            help="The smallest lift worth acting on. A North Star whose interval stays inside "
            "± this reads flat; a wider one, too early to tell; it also sets the days still "
            f"needed. Empty: the default {DEFAULT_THRESHOLD:.0%}, and the readout says so.",
        )
    return MetricChoice(
        column=c.name,
        role=ROLE_CHOICES[role],
        type=kind,
        direction="increase" if better == "up" else "decrease",
        label=label.strip(),
        practical_threshold=None if threshold is None else threshold / 100,
    )


def _save(
    data_root: Path, files: dict[str, bytes], catalog: str, experiments: str, first: str
) -> None:
    """Button callback: the upload plus the written catalogs, saved as a workspace."""
    upload = {**files, ws.CATALOG: catalog.encode(), "experiments.toml": experiments.encode()}
    try:
        info = ws.create_workspace(data_root, upload, owner=identity.owner_to_save())
    except (InputError, OSError) as exc:
        message = exc.message if isinstance(exc, InputError) else f"Could not save: {exc}"
        st.session_state[RESULT] = (message, None, first)
        return
    storage.saved(info)
    st.session_state[RESULT] = (None, info.id, first)
    st.query_params["workspace"] = info.id


def _downloads(catalog: str, experiments: str) -> None:
    with st.container(horizontal=True):
        st.download_button(
            "Download metrics.toml",
            catalog,
            file_name="metrics.toml",
            mime="application/toml",
            icon=":material/download:",
        )
        st.download_button(
            "Download experiments.toml",
            experiments,
            file_name="experiments.toml",
            mime="application/toml",
            icon=":material/download:",
        )
    st.caption(
        "Put both files beside the data to read it the same way with the CLI: "
        "`nsexp readout DIRECTORY`."
    )


def _show_result() -> None:
    result = st.session_state.pop(RESULT, None)
    if result is None:
        return
    message, workspace, first = result
    if message:
        st.error(md_escape(message), icon=":material/error:")
        return
    st.switch_page(nav.READOUT, query_params={"workspace": workspace, "experiment": first})
