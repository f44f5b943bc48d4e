"""The Data page in AppTest: uploads become workspaces, bad input shows the CLI's message."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from app_helpers import unescape
from helpers import APP_FILE, DEMO_DATA, AppOpener, make_units, write_frame, write_metrics
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import TextArea

from nsexp.analysis.srm import srm_checks
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.store import pins, storage
from nsexp.store import workspaces as ws

APP = str(APP_FILE)
PAGE = "pages/data.py"
DATA = DEMO_DATA
UNITS_CSV = b"variant,lessons,clicks\ncontrol,1,3\ncontrol,2,4\ncontrol,0,5\ntreat,3,5\ntreat,2,6\n"
CATALOG = b"""
[metrics.lessons]
role = "north_star"
type = "mean"

[metrics.clicks]
role = "vanity"
type = "mean"
"""
SAVE_UPLOAD = "Save as workspace"
SAVE_CATALOG = "Save the data above with this catalog"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo data as the app's data root."""
    data = tmp_path / "data"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("pins", "workspaces"))
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    return data


def open_page(query: dict[str, str] | None = None) -> AppTest:
    """The app opened on the Data page, with the given query parameters."""
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    return at.run()


def button(at: AppTest, label: str):
    """The button with this label."""
    return next(b for b in at.button if b.label == label)


def upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    """Put files in the uploader and press "Save as workspace" when the upload brings its
    own metrics.toml (without one the page offers the guided set-up instead)."""
    uploader = at.file_uploader(key="upload")
    for name, content in files.items():
        uploader.upload(name, content)
    at.run()
    save = [b for b in at.button if b.label == SAVE_UPLOAD]
    return save[0].click().run() if save else at


def metric(at: AppTest, label: str) -> str:
    """The value shown by the st.metric with this label."""
    return next(m.value for m in at.metric if m.label == label)


def errors(at: AppTest) -> list[str]:
    """The text of every error element, as a reader sees it (user text in it is escaped)."""
    return [unescape(e.value) for e in at.error]


def table(at: AppTest, column: str) -> pl.DataFrame:
    """The first dataframe on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def page_links(at: AppTest) -> list[tuple[str, str]]:
    """(label, query string) of every page link on the page."""
    return [(p.proto.label, p.proto.query_string) for p in at.get("page_link")]


def catalog_editor(at: AppTest) -> TextArea:
    """The metrics.toml text area."""
    return next(t for t in at.text_area if t.label == "metrics.toml")


def experiment_count(directory: Path) -> str:
    """How many experiments a data directory holds, as the page shows it."""
    return f"{len(load_dataset(directory).experiments):,}"


def no_workspaces(root: Path) -> bool:
    """Nothing was saved under the workspace root (its lock file is no saved data)."""
    folder = root / "workspaces"
    return not folder.exists() or {p.name for p in folder.iterdir()} <= {storage.LOCK_FILE}


def shown_code(at: AppTest) -> tuple[str, str]:
    """The link and the delete code the save dialog shows, once."""
    link, code = (c.value for c in at.code)
    return link, code


def delete_with(at: AppTest, code: str, *, with_pins: bool = False) -> AppTest:
    """Type a delete code into the Data page's form and submit it."""
    at.text_input(key="storage_delete_code").input(code)
    if with_pins:
        at.checkbox(key="storage_delete_with_pins").check()
    return button(at, "Delete workspace").click().run()


def test_demo_data_renders_with_preview(demo_root: Path) -> None:
    at = open_page()
    assert not at.exception
    assert not at.error
    assert metric(at, "Experiments") == experiment_count(demo_root)
    assert metric(at, "Metrics") == str(len(load_dataset(demo_root).catalog.metrics))
    assert at.selectbox(key="workspace_pick").value == ""
    assert "dark_mode" in table(at, "owner")["experiment"].to_list()
    assert "lessons_completed" in table(at, "practical_threshold")["metric"].to_list()
    summary = table(at, "sum_sq")
    assert {"experiment", "variant", "metric", "n", "sum", "sum_sq"} <= set(summary.columns)
    assert f"{ws.MAX_UPLOAD_MB} MB" in " ".join(m.value for m in at.markdown)
    assert any("Valid catalog" in s.value for s in at.success)
    assert button(at, SAVE_CATALOG).disabled
    assert SAVE_UPLOAD not in [b.label for b in at.button]  # nothing to save before an upload


def test_upload_saves_a_workspace_and_links_to_it(root: Path) -> None:
    at = upload(open_page(), {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    assert not at.exception and not at.error
    wid = at.query_params["workspace"]
    assert len(wid) == 32
    assert (root / "workspaces" / wid / "signup.csv").read_bytes() == UNITS_CSV
    assert any(f"workspace **{wid}**" in s.value for s in at.success)
    assert any("Keep the link and the delete code" in s.value for s in at.success)
    link, code = shown_code(at)
    assert link.endswith(f"/data?workspace={wid}") and len(code) >= 16
    assert code not in (root / "workspaces" / wid / ws.MANIFEST).read_text()
    assert code not in str(dict(at.query_params))
    assert ("Open the portfolio of this workspace", f"workspace={wid}") in page_links(at)
    assert at.selectbox(key="workspace_pick").value == wid
    assert metric(at, "Experiments") == "1"
    assert table(at, "owner")["experiment"].to_list() == ["signup"]
    at.run()
    assert list(at.code) == []  # the code is shown once
    delete_with(at, code)
    assert any(f"Deleted workspace {wid}" in s.value for s in at.success)
    assert ws.list_workspaces(root) == [] and "workspace" not in at.query_params


def test_saves_are_private_to_the_session_that_made_them(root: Path) -> None:
    files = {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG}
    at = upload(open_page(), files)
    first = at.query_params["workspace"]
    second = button(at, SAVE_UPLOAD).click().run().query_params["workspace"]  # saved again
    assert first != second
    options = at.selectbox(key="workspace_pick").options
    assert [o.split(" · ")[0] for o in options] == [
        "Bundled demo data",
        f"Workspace {second}",  # newest first
        f"Workspace {first}",
    ]
    assert set(table(at, "pins")["workspace"]) == {first, second}
    stranger = open_page()  # a fresh browser: no list of anyone's workspaces anywhere
    assert stranger.selectbox(key="workspace_pick").options == ["Bundled demo data"]
    assert not any("pins" in d.value.columns for d in stranger.dataframe)
    assert first not in str(stranger.main) and second not in str(stranger.main)
    linked = open_page({"workspace": first})  # a colleague with the link opens it
    assert metric(linked, "Experiments") == "1" and not linked.error


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"empty.csv": b""}, "empty.csv: the file is empty"),
        ({"x.csv": b"arm,lessons\nc,1\n", "metrics.toml": CATALOG}, "no variant column"),
        (
            {"x.csv": UNITS_CSV, "metrics.toml": CATALOG.replace(b'"vanity"', b'"north_star"')},
            'exactly one metric needs role = "north_star"',
        ),
    ],
)
def test_bad_uploads_show_the_cli_message(
    root: Path, tmp_path: Path, files: dict[str, bytes], fragment: str
) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    shutil.copy(root / "metrics.toml", probe / "metrics.toml")
    with pytest.raises(InputError) as expected:
        ws.create_workspace(probe, files)
    assert fragment in expected.value.message
    at = upload(open_page(), files)
    assert not at.exception
    assert expected.value.message in errors(at)
    assert not any("Saved" in s.value for s in at.success)
    assert no_workspaces(root)
    assert "workspace" not in at.query_params


def put(at: AppTest, files: dict[str, bytes]) -> AppTest:
    """Put files in the uploader (without pressing Save)."""
    uploader = at.file_uploader(key="upload")
    for name, content in files.items():
        uploader.upload(name, content)
    return at.run()


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        # unsafe characters are replaced (ws.safe_name: "../x.csv" is saved as "x.csv"); what
        # no renaming makes readable is still refused
        ({"x.exe": UNITS_CSV}, "file name 'x.exe' is not allowed"),
        ({"a" * 120 + ".csv": UNITS_CSV}, "is not allowed"),
        ({"config.toml": b"x = 1"}, "not a file nsexp reads"),
        ({"metrics.toml": CATALOG}, "no CSV or Parquet file in the upload"),
        (
            {"big.csv": b"variant,lessons\n" + b"control,1\n" * (ws.MAX_UPLOAD_BYTES // 10)},
            "the upload is 50.1 MB (50,000,016 bytes), over the 50 MB limit (50,000,000 bytes)",
        ),
    ],
)
def test_nothing_is_offered_for_saving_until_the_upload_is_valid(
    root: Path, files: dict[str, bytes], fragment: str
) -> None:
    at = put(open_page(), files)
    assert not at.exception
    assert SAVE_UPLOAD not in [b.label for b in at.button]  # nothing to save, no set-up
    assert "setup_save" not in [b.key for b in at.button]
    assert any(fragment in unescape(w.value) for w in at.warning), [w.value for w in at.warning]
    assert no_workspaces(root)
    with pytest.raises(InputError) as same:
        ws.check_upload(files)  # the same rule as the save itself
    assert fragment in same.value.message


def test_a_full_disk_during_save_is_an_error_element(root: Path, monkeypatch) -> None:
    import errno

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    at = upload(open_page(), {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    assert not at.exception
    assert any("cannot save the workspace: no space left on the disk" in e for e in errors(at))
    assert no_workspaces(root)


def test_over_the_quota_save_is_an_error_element(root: Path, monkeypatch) -> None:
    monkeypatch.setenv("NSEXP_MAX_STORAGE_MB", "0.0001")
    at = upload(open_page(), {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    assert not at.exception
    assert any("over its quota of 0.1 MB (NSEXP_MAX_STORAGE_MB)" in e for e in errors(at))
    assert no_workspaces(root)


def test_errors_show_paths_relative_to_the_data_directory(root: Path) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    (info.path / "signup.csv").write_bytes(b"arm,lessons\nc,1\n")  # broken after saving
    at = open_page({"workspace": info.id})
    assert not at.exception
    shown = errors(at)
    assert shown == [
        "signup.csv: column 'variant': no variant column; add it, or map yours in "
        'metrics.toml: [columns] variant = "<your column>"'
    ]
    assert not any(str(root) in e or str(root.resolve()) in e for e in shown)


def test_deleting_takes_the_delete_code_typed_into_the_form(root: Path) -> None:
    keep = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    (keep.path / "pins").mkdir()
    (keep.path / "pins" / "0123456789ab.json").write_text("{}")
    at = open_page({"workspace": keep.id})
    for wrong in ("", "guess"):
        delete_with(at, wrong)
        assert any("that is not the delete code of workspace" in e for e in errors(at))
        assert at.query_params["workspace"] == keep.id
    delete_with(at, keep.delete_code or "")
    assert any(f"workspace {keep.id} is kept: 1 pinned readout" in e for e in errors(at))
    delete_with(at, keep.delete_code or "", with_pins=True)
    assert not at.exception
    assert any(f"Deleted workspace {keep.id}" in s.value for s in at.success)
    assert ws.list_workspaces(root) == [] and "workspace" not in at.query_params


def test_stale_staging_is_cleaned_when_the_app_starts(root: Path) -> None:
    stale = root / "workspaces" / ".staging-999999999-left"
    stale.mkdir(parents=True)
    (stale / "x.csv").write_bytes(b"half")
    open_page()
    assert not stale.exists()


@pytest.mark.parametrize("bad", ["../../etc", "ABC", "0" * 12, "..%2F..%2Fetc"])
def test_bad_workspace_parameter_gets_a_message_and_the_demo(demo_root: Path, bad: str) -> None:
    at = open_page({"workspace": bad})
    assert not at.exception
    assert any("open the Data page to pick a workspace" in w.value for w in at.warning)
    assert metric(at, "Experiments") == experiment_count(demo_root)
    assert at.selectbox(key="workspace_pick").value == ""


def test_workspace_parameter_opens_it_and_switcher_changes_it(root: Path) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    at = open_page({"workspace": info.id})
    assert not at.exception and not at.error
    assert at.selectbox(key="workspace_pick").value == info.id
    assert metric(at, "Experiments") == "1"
    assert ("Open the portfolio of this data", f"workspace={info.id}") in page_links(at)
    assert catalog_editor(at).value == CATALOG.decode()
    at.selectbox(key="workspace_pick").select("").run()
    assert "workspace" not in at.query_params
    assert metric(at, "Experiments") == experiment_count(root)
    assert at.selectbox(key="workspace_pick").options == ["Bundled demo data"]  # not this tab's
    mine = upload(at, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG}).query_params["workspace"]
    at.selectbox(key="workspace_pick").select("").run()
    at.selectbox(key="workspace_pick").select(mine).run()
    assert at.query_params["workspace"] == mine
    assert metric(at, "Experiments") == "1"


def test_catalog_editor_validates_live(root: Path) -> None:
    at = open_page()
    assert catalog_editor(at).value == (root / "metrics.toml").read_text()
    catalog_editor(at).set_value("[metrics.x\n").run()
    with pytest.raises(InputError) as expected:
        ws.catalog_from_text("[metrics.x\n")
    assert expected.value.message in errors(at)
    assert expected.value.message.startswith("metrics.toml: not valid TOML")
    two = (root / "metrics.toml").read_text().replace('role = "leading"', 'role = "north_star"', 1)
    catalog_editor(at).set_value(two).run()
    assert any('exactly one metric needs role = "north_star"' in e for e in errors(at))
    assert button(at, SAVE_CATALOG).disabled


def test_edited_catalog_saves_the_data_as_a_new_workspace(root: Path) -> None:
    at = open_page()
    text = (root / "metrics.toml").read_text()
    edited = text.replace("practical_threshold = 0.02", "practical_threshold = 0.03", 1)
    assert edited != text
    catalog_editor(at).set_value(edited).run()
    button(at, SAVE_CATALOG).click().run()
    assert not at.exception and not at.error
    (saved,) = ws.list_workspaces(root)
    assert (saved.path / "metrics.toml").read_text() == edited
    assert shown_code(at)[0].endswith(f"workspace={saved.id}")
    assert (saved.path / "dark_mode.csv").read_bytes() == (root / "dark_mode.csv").read_bytes()
    assert at.selectbox(key="workspace_pick").value == saved.id
    assert metric(at, "Experiments") == experiment_count(root)
    assert catalog_editor(at).value == edited


def test_undated_experiments_show_a_dash_not_none(demo_root: Path) -> None:
    at = open_page()
    assert not at.exception
    found = at.dataframe[0].value
    past = found[found["experiment"].str.startswith("past_")]
    assert len(past) and set(past["first_date"]) == {"—"} and set(past["last_date"]) == {"—"}
    dated = found[found["experiment"] == "dark_mode"]
    assert dated["first_date"].iloc[0][:4] == "2026"


def test_a_split_unequal_by_design_is_declared_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    sizes = {"control": 1_000, "big": 8_000, "small": 1_000}
    write_frame(make_units(5, sizes, experiment="launch"), root / "launch.csv")
    write_metrics(root)
    monkeypatch.setenv("NSEXP_DATA_DIR", str(root))
    at = open_page()
    assert any("Planned splits" in h.value for h in at.header)
    (warning,) = [w.value for w in at.warning if "sample-ratio" in w.value]
    assert "1 experiment fails" in warning and "assumed because" in warning
    (editor,) = at.data_editor
    shown = editor.value
    assert shown["variant"].tolist() == ["big", "control", "small"]
    assert shown["observed_share"].tolist() == pytest.approx([80.0, 10.0, 10.0])  # percent
    assert shown["planned_share"].tolist() == pytest.approx([100 / 3] * 3)  # assumed equal
    assert set(shown["p_value"]) == {"< 0.001"}  # read as the readout reads it
    config = json.loads(editor.proto.columns)
    formats = {config[c]["type_config"]["format"] for c in ("observed_share", "planned_share")}
    assert formats == {"%.2f%%"}  # 33.33% beside 80.00%
    save = "Save the data above with these planned splits"
    assert button(at, save).disabled  # nothing edited: nothing to save
    at.session_state["splits_data"] = {
        "edited_rows": {
            "0": {"planned_share": 80},
            "1": {"planned_share": 10},
            "2": {"planned_share": 10},
        },
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not button(at, save).disabled
    button(at, save).click().run()
    (saved,) = ws.list_workspaces(root)
    assert at.query_params["workspace"] == saved.id
    assert any(saved.id in s.value for s in at.success)
    assert not [h for h in at.header if "Planned splits" in h.value]  # the check now passes
    check = srm_checks(load_dataset(saved.path))["launch"]
    assert check.expected == {"big": 0.8, "control": 0.1, "small": 0.1}
    assert not check.mismatch and not check.assumed


def test_a_zero_planned_share_is_refused_on_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    root.mkdir()
    write_frame(make_units(5, {"control": 900, "new": 3_000}), root / "launch.csv")
    write_metrics(root)
    monkeypatch.setenv("NSEXP_DATA_DIR", str(root))
    at = open_page()
    at.session_state["splits_data"] = {
        "edited_rows": {"0": {"planned_share": 0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert any("every arm needs a positive planned share" in e for e in errors(at))
    assert button(at, "Save the data above with these planned splits").disabled
    assert no_workspaces(root)


NESTED = b"x = " + b"[" * 600 + b"]" * 600 + b"\n"  # 500+ levels made tomllib recurse too deep


@pytest.mark.parametrize("name", ["metrics.toml", "experiments.toml"])
def test_deeply_nested_toml_in_an_upload_is_an_error_element(root: Path, name: str) -> None:
    files = {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG, name: NESTED}
    at = upload(open_page(), files)
    assert not at.exception
    assert any(e.startswith(f"{name}: not valid TOML (nested too deeply") for e in errors(at))
    assert no_workspaces(root)


def test_deeply_nested_toml_typed_in_the_catalog_editor(root: Path) -> None:
    at = open_page()
    catalog_editor(at).set_value(NESTED.decode()).run()
    assert not at.exception
    assert any("metrics.toml: not valid TOML (nested too deeply" in e for e in errors(at))
    assert button(at, SAVE_CATALOG).disabled


@pytest.mark.parametrize(
    "page", ["pages/portfolio.py", "pages/readout.py", "pages/north_star.py", "pages/insights.py"]
)
def test_deeply_nested_source_toml_is_an_error_on_every_page(root: Path, page: str) -> None:
    (root / "source.toml").write_bytes(NESTED)
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert any("source.toml: not valid TOML (nested too deeply" in e for e in errors(at))
    assert not any(str(root) in e for e in errors(at))  # relative to the data directory


def test_deeply_nested_source_toml_on_the_data_page(root: Path) -> None:
    (root / "source.toml").write_bytes(NESTED)
    at = open_page()
    assert not at.exception
    assert any("source.toml: not valid TOML (nested too deeply" in e for e in errors(at))


def test_a_pin_shows_its_delete_code_once_and_its_creator_deletes_it(
    root: Path, open_app: AppOpener
) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    query = {"workspace": info.id, "experiment": "signup"}
    at = open_app("pages/readout.py", query, data=root)
    at.button(key="pin_readout").click().run()
    assert not at.exception
    (pin,) = pins.list_pins(info.path)
    code = at.code[-1].value
    assert len(code) >= 16 and code not in (info.path / "pins" / f"{pin.id}.json").read_text()
    next(b for b in at.button if b.label == "Open the pinned readout").click().run()
    assert at.query_params["pin"] == pin.id

    def delete_pin(typed: str) -> None:
        at.text_input(key="storage_pin_delete_code").input(typed)
        button(at, "Delete pin").click().run()

    delete_pin("not the code")
    assert any(f"that is not the delete code of pin {pin.id}" in e for e in errors(at))
    assert pins.list_pins(info.path) == [pin]
    delete_pin(code)
    assert not at.exception and "pin" not in at.query_params
    assert any(f"Deleted pin {pin.id}" in t.value for t in at.toast)
    assert pins.list_pins(info.path) == []


def test_a_bad_expiry_setting_is_one_message_and_the_pages_still_open(
    root: Path, monkeypatch
) -> None:
    ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    monkeypatch.setenv(ws.TTL_ENV, "lots")
    at = open_page()
    assert not at.exception
    assert errors(at) == [
        "NSEXP_WORKSPACE_TTL_DAYS='lots' is not a number of days; set "
        "NSEXP_WORKSPACE_TTL_DAYS to a positive number, e.g. 90"
    ]
    assert metric(at, "Experiments") == experiment_count(root)


def test_a_broken_catalog_is_one_error_box(root: Path) -> None:
    """The data's error and the catalog editor's were the same box twice (issue 19 item 9);
    an edit that breaks a valid catalog still shows its own error under the editor."""
    (root / "metrics.toml").write_text("[metrics.lessons\n", encoding="utf-8")
    at = open_page()
    assert not at.exception
    shown = errors(at)
    assert len(shown) == 1 and shown[0].startswith("metrics.toml: not valid TOML"), shown


def test_the_favicon_is_served_by_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py's page icon is the repo's own PNG file, which Streamlit serves from its media
    endpoint (an emoji or a :material/…: icon would make the browser fetch a font from a CDN)."""
    import streamlit as st
    from PIL import Image

    asked: dict[str, object] = {}
    real = st.set_page_config

    def recording(**kwargs: object) -> None:
        asked.update(kwargs)
        real(**kwargs)

    monkeypatch.setattr(st, "set_page_config", recording)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    icon = Path(str(asked["page_icon"]))
    assert icon.is_file() and icon.is_relative_to(APP_FILE.parent)
    with Image.open(icon) as image:
        assert image.format == "PNG"
