"""Data page: upload experiment files as a shareable workspace, edit the catalog, switch data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from nsexp.config.catalog import Catalog
from nsexp.errors import InputError
from nsexp.format import count
from nsexp.report.text import md_code, md_escape
from nsexp.store import workspaces as ws
from pages.ui import frame, identity, loaders, nav, storage
from pages.ui.setup import guided_setup
from pages.ui.splits import planned_split_section

DEMO = ""
RESULT = "data_page_result"
EXPERIMENT_COLUMNS = {
    "experiment": st.column_config.Column("Experiment"),
    "name": st.column_config.Column("Name"),
    "owner": st.column_config.Column("Owner"),
    "control": st.column_config.Column("Control"),
    "variants": st.column_config.Column("Variants"),
    "units": st.column_config.NumberColumn("Units", format="localized"),
    "metrics": st.column_config.Column("Metrics"),
    "first_date": st.column_config.Column("First exposure"),
    "last_date": st.column_config.Column("Last exposure"),
}
METRIC_COLUMNS = {
    "metric": st.column_config.Column("Metric"),
    "label": st.column_config.Column("Label"),
    "role": st.column_config.Column("Role"),
    "type": st.column_config.Column("Type"),
    "direction": st.column_config.Column("Better when it goes"),
    "columns": st.column_config.Column("Data columns"),
    "practical_threshold": st.column_config.NumberColumn("Practical threshold", format="percent"),
}


def undated_as_dash(experiments: pl.DataFrame) -> pl.DataFrame:
    """The experiments table with '—' for the exposure dates of undated data, not 'None'."""
    return experiments.with_columns(
        pl.col("first_date", "last_date").cast(pl.String).fill_null("—")
    )


def save(data_root: Path, current: Path, editor_key: str, source: str) -> None:
    """Button callback: save the upload (or the current data with the edited catalog)."""
    text = st.session_state.get(editor_key, "")
    uploads = st.session_state.get("upload") or []
    try:
        if source == "upload":
            files = ws.files_from_uploads([(f.name, f.getvalue()) for f in uploads])
        else:
            files = {**ws.directory_files(current), ws.CATALOG: text.encode()}
        info = ws.create_workspace(data_root, files, owner=identity.owner_to_save())
    except InputError as exc:
        st.session_state[RESULT] = (source, storage.shown(exc, current, data_root), None)
        return
    storage.saved(info)
    st.session_state[RESULT] = (source, None, info)
    st.query_params["workspace"] = info.id


def show_result(source: str) -> None:
    """The outcome of the last save, shown once under the button that caused it."""
    result = st.session_state.get(RESULT)
    if not result or result[0] != source:
        return
    del st.session_state[RESULT]
    _, message, info = result
    if message:
        st.error(message, icon=":material/error:")
        return
    st.success(
        f"Saved as workspace **{info.id}** ({len(info.files)} files). Every page now reads it, "
        f"and links carry `?workspace={info.id}`: only people you give a link see the data. "
        "Keep the link and the delete code shown with it (once).",
        icon=":material/check_circle:",
    )
    st.page_link(
        nav.PORTFOLIO,
        label="Open the portfolio of this workspace",
        icon=":material/arrow_forward:",
        query_params={"workspace": info.id},
    )


def switch() -> None:
    """Selectbox callback: put the picked workspace in the URL (none for the demo data)."""
    picked = st.session_state["workspace_pick"]
    if picked:
        st.query_params["workspace"] = picked
    else:
        st.query_params.pop("workspace", None)


def label(option: str, workspaces: dict[str, ws.WorkspaceInfo]) -> str:
    """How a workspace reads in the switcher: id, data files and when it was saved."""
    if option == DEMO:
        return "Bundled demo data"
    info = workspaces.get(option)
    if info is None:
        return f"Workspace {option}"
    names = ", ".join(f for f in info.files if f != ws.CATALOG)
    return f"Workspace {option} · {names} · saved {info.created_at.replace('T', ' ')}"


def _catalog_text(directory: Path) -> str:
    path = directory / ws.CATALOG
    return path.read_text(encoding="utf-8") if path.is_file() else ""


ctx = frame.current().data
st.title("Data", anchor=False)
st.caption(
    "Upload your own experiment exports, pick the data the app reads, or edit the metric "
    "catalog. Uploads are saved as a private workspace: it is listed nowhere, and a link to any "
    "page of it works for the colleagues you give it to."
)
data_root, current, requested = ctx.root, ctx.path, ctx.workspace or DEMO

# The upload comes first: it is what a newcomer opens this page for.
editor_key = f"catalog_text_{requested or 'demo'}"

st.header("Read a new export", anchor=False)
st.caption(
    "From a raw export to a readout link in four steps: choose the file, see its columns, say "
    "which column holds the arms and which arm is the control, then name and describe the "
    "metric columns."
)
visitor = identity.current()
if visitor.must_sign_in:
    st.info(
        "Sign in (in the sidebar) to save your own workspaces: on this server a workspace and a "
        "pin belong to whoever saved them, and only they or an operator delete them.",
        icon=":material/login:",
    )
st.file_uploader(
    "Experiment files",
    disabled=visitor.must_sign_in,
    type=None,  # Streamlit's own type check raises on a NUL in a name; ws.check_name refuses it
    accept_multiple_files=True,
    key="upload",
    max_upload_size=ws.MAX_UPLOAD_MB,
)
with st.expander("What to upload", icon=":material/help:"):
    st.markdown(
        f"""
- **Data**: CSV or Parquet, one row per unit (a variant column and one column per metric;
  optional experiment, unit id and date columns) or summary rows (`experiment`, `variant`,
  `metric`, `n`, `sum`, `sum_sq`). Without an `experiment` column the file name is the
  experiment id.
- **metrics.toml** and **experiments.toml** (optional): upload them with the data to skip the
  set-up; without them the set-up below writes both for you.
- **Limits**: {ws.MAX_UPLOAD_MB} MB for all files together, at most {ws.MAX_FILES} files;
  other characters than ASCII letters, digits, `.`, `_` and `-` in a file name become `_`.
"""
    )
uploads = st.session_state.get("upload") or []
problem = storage.upload_problem(uploads) if uploads else None  # names and sizes, unread
try:
    uploaded = {} if problem else ws.files_from_uploads([(f.name, f.getvalue()) for f in uploads])
    if uploaded:
        ws.check_upload(uploaded)  # the same rule once more, on the bytes
except InputError as exc:
    problem, uploaded = exc, {}
renamed = [(f.name, ws.safe_name(f.name)) for f in uploads if ws.safe_name(f.name) != f.name]
if renamed:
    st.caption(
        "Saved under a plain name: "
        + ", ".join(f"{md_escape(old)} as {md_code(new)}" for old, new in renamed)
        + "."
    )
if problem is not None:
    st.warning(
        md_escape(f"Not saved yet: {storage.shown(problem, current, data_root)}"),
        icon=":material/block:",
    )
elif uploaded and ws.CATALOG not in uploaded:
    guided_setup(data_root, uploaded)
elif uploaded:
    st.caption("The upload brings its own metrics.toml: it is read as it is.")
    st.button(
        "Save as workspace",
        type="primary",
        icon=":material/upload:",
        on_click=save,
        args=(data_root, current, editor_key, "upload"),
    )
    show_result("upload")

st.header("The data on view", anchor=False)
workspaces = {w.id: w for w in storage.mine(data_root)}  # this session's, never everyone's
options = [DEMO, *workspaces]
if requested not in options:
    options.append(requested)
if st.session_state.get("workspace_pick") != requested:
    st.session_state["workspace_pick"] = requested


st.selectbox(
    "Data shown in the app",
    options,
    format_func=lambda option: label(option, workspaces),
    key="workspace_pick",
    on_change=switch,
    help="Every page reads this data; the choice travels in links as ?workspace=<id>. "
    "Listed: the bundled data and the workspaces saved in this session.",
)

seen: loaders.Overview | None
shown_above = None  # the data's error, not shown twice when the catalog editor meets it too
try:
    seen = loaders.overview(ctx)
except InputError as exc:
    shown_above = storage.shown(exc, current, data_root)
    st.error(md_escape(shown_above), icon=":material/error:")
    seen = None

if seen is not None:
    with st.container(horizontal=True, gap="large"):  # each as wide as its figure: none cut
        st.metric("Experiments", count(seen.experiments.height), width="content")
        st.metric("Units", count(seen.units), width="content")
        st.metric("Metrics", count(seen.metrics.height), width="content")
        st.metric("Data files", count(seen.files), width="content")
    st.markdown(
        f"North Star: **{md_escape(seen.north_star)}** · data fingerprint `{seen.fingerprint}`"
    )
    newest = seen.newest.isoformat() if seen.newest is not None else "no dates"
    line, button = st.columns([3, 1], vertical_alignment="center")
    line.caption(
        f"Source: {md_escape(seen.source)} · read {seen.fetched:%Y-%m-%d %H:%M} UTC, kept "
        f"{loaders.TTL // 60} min · newest date {newest}"
    )
    button.button(
        "Refresh",
        icon=":material/refresh:",
        on_click=loaders.refresh,
        args=(ctx,),
        help="Read the source again now (pinned readouts keep their figures)",
    )
    st.page_link(
        nav.PORTFOLIO,
        label="Open the portfolio of this data",
        icon=":material/arrow_forward:",
        query_params={"workspace": requested} if requested else {},
    )
    experiments_tab, metrics_tab, summary_tab = st.tabs(
        ["Experiments found", "Metric catalog", "Summary rows"]
    )
    with experiments_tab:
        st.dataframe(
            undated_as_dash(seen.experiments), hide_index=True, column_config=EXPERIMENT_COLUMNS
        )
    with metrics_tab:
        st.dataframe(seen.metrics, hide_index=True, column_config=METRIC_COLUMNS)
    with summary_tab:
        st.caption(
            "The first rows of the summary the statistics read: units (n), sum and sum of "
            "squares per experiment, variant, metric and day."
        )
        st.dataframe(seen.summary, hide_index=True)
    planned_split_section(data_root, current, seen.splits)

storage.manage_workspaces(data_root, ctx.workspace)

st.header("Metric catalog")
st.caption(
    "The catalog of the data shown above. Edit it to change roles, types or thresholds, then "
    "save the same data with the new catalog as a workspace."
)
text = st.text_area("metrics.toml", value=_catalog_text(current), height=320, key=editor_key)
catalog: Catalog | None
try:
    catalog = ws.catalog_from_text(text)
except InputError as exc:
    if exc.message != shown_above:
        st.error(md_escape(exc.message), icon=":material/error:")
    catalog = None
if catalog is not None:
    roles = [m.role for m in catalog.metrics.values()]
    st.success(
        f"Valid catalog: {len(roles)} metrics, "
        f"North Star **{md_escape(catalog.north_star.label)}**, "
        f"{roles.count('leading')} leading, {roles.count('vanity')} vanity, "
        f"{roles.count('guardrail')} guardrail.",
        icon=":material/check_circle:",
    )
st.button(
    "Save the data above with this catalog",
    icon=":material/save:",
    disabled=catalog is None or text == _catalog_text(current) or visitor.must_sign_in,
    on_click=save,
    args=(data_root, current, editor_key, "catalog"),
)
show_result("catalog")
