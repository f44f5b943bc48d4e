"""Workspaces: capability links (random ids, a new one per save), validated like the CLI,
never written outside their root."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from helpers import REPO

from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.files import data_files
from nsexp.store import storage
from nsexp.store import workspaces as ws

DATA = REPO / "data"
UNITS_CSV = b"variant,lessons,clicks\ncontrol,1,3\ncontrol,2,4\ncontrol,0,5\ntreat,3,5\ntreat,2,6\n"
CATALOG = b"""
[metrics.lessons]
role = "north_star"
type = "mean"

[metrics.clicks]
role = "vanity"
type = "mean"
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty data root with a catalog of its own (the fallback for uploads without one)."""
    (tmp_path / "metrics.toml").write_bytes(CATALOG)
    return tmp_path


def copied(info: ws.WorkspaceInfo) -> bool:
    """Whether the manifest records that the catalog was copied in (the upload had none)."""
    return json.loads((info.path / ws.MANIFEST).read_text())["catalog_copied"]


def files_outside_workspaces(root: Path) -> set[Path]:
    """Every file under root that is not inside root/workspaces."""
    return {p for p in root.rglob("*") if p.is_file() and ws.WORKSPACES_DIR not in p.parts}


def test_create_saves_a_workspace_under_a_random_id(root: Path) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG})
    assert re.fullmatch(r"[0-9a-f]{32}", info.id)  # 128 random bits
    assert info.path == (root / "workspaces" / info.id).resolve()
    assert info.files == ("metrics.toml", "signup.csv")
    assert (info.path / "signup.csv").read_bytes() == UNITS_CSV
    assert info.created_at.endswith("Z")
    assert not copied(info)
    dataset = load_dataset(info.path)
    assert list(dataset.experiments) == ["signup"]
    assert info.fingerprint == dataset.fingerprint
    assert ws.resolve(root, info.id) == info.path
    assert info.owner is None and info.has_delete_code
    assert info.delete_code is not None and len(info.delete_code) >= 16
    manifest = (info.path / ws.MANIFEST).read_text()
    assert info.delete_code not in manifest  # stored salted and hashed only
    assert ws.read_workspace(root, info.id).delete_code is None  # shown once, at save


def test_every_save_gets_a_new_id_and_the_same_fingerprint(root: Path) -> None:
    files = {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG}
    first = ws.create_workspace(root, files)
    second = ws.create_workspace(root, dict(reversed(files.items())))
    assert second.id != first.id and second.delete_code != first.delete_code
    assert second.fingerprint == first.fingerprint  # the content hash is the data fingerprint
    assert {w.id for w in ws.list_workspaces(root)} == {first.id, second.id}


def test_missing_catalog_is_copied_from_the_data_root(root: Path) -> None:
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV})
    assert copied(info)
    assert (info.path / "metrics.toml").read_bytes() == CATALOG


def test_missing_catalog_copied_from_a_named_catalog(root: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other") / "metrics.toml"
    other.write_bytes(CATALOG.replace(b'"vanity"', b'"leading"'))
    info = ws.create_workspace(root, {"signup.csv": UNITS_CSV}, catalog=other)
    assert load_dataset(info.path).catalog.metrics["clicks"].role == "leading"


def test_no_catalog_anywhere_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape("no metrics.toml in the upload")):
        ws.create_workspace(tmp_path, {"signup.csv": UNITS_CSV})
    assert not (tmp_path / "workspaces").exists() or not any((tmp_path / "workspaces").iterdir())


@pytest.mark.parametrize(
    "name",
    [
        "../x.csv",
        "/etc/passwd",
        "a/b.csv",
        "a\\b.csv",
        "..",
        ".",
        ".hidden.csv",
        "x.csv\0.txt",
        "x\0.csv",
        "",
        "notes.txt",
        "x.csv.exe",
        "secrets.toml",
        "-rf.csv",
        " x.csv",
        "x y.csv",
        "x\n.csv",
        "é.csv",
        "a" * 200 + ".csv",
    ],
)
def test_unsafe_or_unknown_names_are_refused(root: Path, name: str) -> None:
    with pytest.raises(InputError) as err:
        ws.create_workspace(root, {name: UNITS_CSV, "metrics.toml": CATALOG})
    assert "\n" not in err.value.message
    assert "not allowed" in err.value.message or "not a file nsexp reads" in err.value.message
    assert files_outside_workspaces(root) == {root / "metrics.toml"}
    assert not (root / "workspaces").exists()


def test_allowed_names(root: Path) -> None:
    for name in ("a.csv", "A-b_c.1.CSV", "x.parquet", "metrics.toml", "experiments.toml"):
        ws.check_name(name)


def test_case_twins_are_refused(root: Path) -> None:
    with pytest.raises(InputError, match="apart from upper and lower case"):
        ws.create_workspace(root, {"a.csv": UNITS_CSV, "A.csv": UNITS_CSV})


def test_duplicate_upload_names_are_refused() -> None:
    with pytest.raises(InputError, match=re.escape("two uploaded files are named 'a.csv'")):
        ws.files_from_uploads([("a.csv", b"1"), ("a.csv", b"2")])
    assert ws.files_from_uploads([("a.csv", b"1"), ("b.csv", b"2")]) == {
        "a.csv": b"1",
        "b.csv": b"2",
    }


def test_oversize_upload_is_refused_before_writing(root: Path) -> None:
    big = b"0" * (ws.MAX_UPLOAD_BYTES - len(CATALOG) + 1)
    with pytest.raises(InputError, match=f"over the {ws.MAX_UPLOAD_MB} MB limit"):
        ws.create_workspace(root, {"big.csv": big, "metrics.toml": CATALOG})
    assert not (root / "workspaces").exists()


def test_oversize_counts_the_copied_catalog(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(ws, "MAX_UPLOAD_BYTES", len(UNITS_CSV) + len(CATALOG) - 1)
    ws.check_upload({"signup.csv": UNITS_CSV})
    with pytest.raises(InputError, match="MB limit"):
        ws.create_workspace(root, {"signup.csv": UNITS_CSV})


def test_too_many_files_and_no_files_are_refused(root: Path) -> None:
    many = {f"e{i}.csv": UNITS_CSV for i in range(ws.MAX_FILES + 1)}
    with pytest.raises(InputError, match=f"more than the limit of {ws.MAX_FILES}"):
        ws.create_workspace(root, many)
    with pytest.raises(InputError, match="no files uploaded"):
        ws.create_workspace(root, {})


def test_limit_matches_streamlit_config() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == ws.MAX_UPLOAD_MB
    # Streamlit's uploader turns maxUploadSize into bytes with 1000 ** 2 in the browser (its
    # utils bundle: `st = isWindows() ? 1024 : 1e3`) and the server allows 1024 ** 2 + 1 MB per
    # file, so 10^6-byte megabytes are the limit every browser and the server agree on.
    assert ws.MAX_UPLOAD_BYTES == ws.MAX_UPLOAD_MB * 1_000_000


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"empty.csv": b""}, "empty.csv: the file is empty; export the data again"),
        (
            {"x.csv": b"arm,lessons,clicks\nc,1,2\nt,2,3\n"},
            "x.csv: column 'variant': no variant column",
        ),
        (
            {"x.csv": UNITS_CSV, "metrics.toml": CATALOG.replace(b'"vanity"', b'"north_star"')},
            'metrics.toml: exactly one metric needs role = "north_star" (found lessons, clicks)',
        ),
        (
            {"x.csv": b"variant,lessons,clicks\ncontrol,1,2\ncontrol,2,3\n"},
            "experiment x has only one variant (control)",
        ),
        ({"metrics.toml": CATALOG}, "no CSV or Parquet file in the upload"),
        ({"x.parquet": b"not parquet"}, "x.parquet: cannot read the file"),
    ],
)
def test_bad_data_gives_the_cli_message_and_cleans_up(
    root: Path, files: dict[str, bytes], message: str
) -> None:
    with pytest.raises(InputError) as err:
        ws.create_workspace(root, files)
    assert message in err.value.message
    assert ".staging-" not in err.value.message
    assert str(root) not in err.value.message
    assert not (root / "workspaces").exists() or list((root / "workspaces").iterdir()) == []
    assert ws.list_workspaces(root) == []


def test_cli_message_is_the_same_but_for_the_directory(root: Path, tmp_path_factory) -> None:
    bad = tmp_path_factory.mktemp("cli")
    (bad / "x.csv").write_bytes(b"arm,lessons\nc,1\n")
    (bad / "metrics.toml").write_bytes(CATALOG)
    with pytest.raises(InputError) as cli:
        load_dataset(bad)
    with pytest.raises(InputError) as upload:
        ws.create_workspace(root, ws.directory_files(bad))
    assert cli.value.message == f"{bad}/{upload.value.message}"


def test_staging_removed_when_validation_crashes(root: Path, monkeypatch) -> None:
    def boom(path: Path, **limits: object) -> None:
        assert path.parent == root / "workspaces" and path.name.startswith(".staging-")
        assert (path / "signup.csv").is_file()
        raise RuntimeError("crash")

    monkeypatch.setattr(ws, "load_dataset", boom)
    with pytest.raises(RuntimeError):
        ws.create_workspace(root, {"signup.csv": UNITS_CSV})
    assert [p.name for p in (root / "workspaces").iterdir()] == []


def test_stale_staging_is_cleared_and_fresh_staging_kept(root: Path) -> None:
    stale = root / "workspaces" / ".staging-old"
    fresh = root / "workspaces" / f".staging-{os.getpid()}-new"
    for d in (stale, fresh):
        d.mkdir(parents=True)
        (d / "x.csv").write_bytes(b"1")
    hours_ago = stale.stat().st_mtime - 2 * storage.STALE_STAGING_SECONDS
    os.utime(stale, (hours_ago, hours_ago))
    ws.create_workspace(root, {"signup.csv": UNITS_CSV})
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    "wid",
    [
        "../../etc",
        "..",
        "ABCDEF123456",
        "0" * 11,
        "0" * 13,
        "0" * 12,
        "0" * 32,
        "0" * 31,
        "0" * 33,
        "/etc",
        "abc/def12345",
        " ",
    ],
)
def test_bad_or_unknown_workspace_ids_are_refused(root: Path, wid: str) -> None:
    with pytest.raises(InputError) as err:
        ws.resolve(root, wid)
    assert "open the Data page to pick a workspace" in err.value.message


def test_resolve_without_id_is_the_data_root(root: Path) -> None:
    assert ws.resolve(root, None) == root
    assert ws.resolve(root, "") == root


def test_resolve_refuses_a_symlink_out_of_the_root(root: Path, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (root / "workspaces").mkdir()
    (root / "workspaces" / ("a" * 12)).symlink_to(outside, target_is_directory=True)
    with pytest.raises(InputError, match="no workspace aaaaaaaaaaaa"):
        ws.resolve(root, "a" * 12)


def test_list_workspaces_newest_first_skips_junk(root: Path, monkeypatch) -> None:
    stamps = iter(["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"])
    monkeypatch.setattr(ws, "_now", lambda: next(stamps))
    older = ws.create_workspace(root, {"a.csv": UNITS_CSV})
    newer = ws.create_workspace(root, {"b.csv": UNITS_CSV})
    (root / "workspaces" / "notanid").mkdir()
    (root / "workspaces" / ("f" * 12)).mkdir()  # no manifest
    assert [w.id for w in ws.list_workspaces(root)] == [newer.id, older.id]
    with pytest.raises(InputError, match=re.escape("no readable workspace.json")):
        ws.read_workspace(root, "f" * 12)


def test_list_workspaces_without_any(tmp_path: Path) -> None:
    assert ws.list_workspaces(tmp_path) == []


def test_catalog_from_text() -> None:
    assert ws.catalog_from_text(CATALOG.decode()).north_star.id == "lessons"
    with pytest.raises(InputError, match=re.escape("metrics.toml: not valid TOML")):
        ws.catalog_from_text("[metrics.x")
    with pytest.raises(InputError, match="role = 'star' is not a known role"):
        ws.catalog_from_text('[metrics.x]\nrole = "star"\ntype = "mean"\n')


def test_directory_files_and_stamp_read_only_what_nsexp_reads(root: Path) -> None:
    (root / "signup.csv").write_bytes(UNITS_CSV)
    (root / "notes.txt").write_text("x")
    (root / "pins").mkdir()
    (root / "pins" / "p.csv").write_bytes(UNITS_CSV)
    assert ws.directory_files(root) == {"signup.csv": UNITS_CSV, "metrics.toml": CATALOG}
    assert [s[0] for s in ws.data_stamp(root)] == ["signup.csv", "metrics.toml"]


def test_demo_data_round_trips_into_a_workspace(tmp_path: Path) -> None:
    info = ws.create_workspace(tmp_path, ws.directory_files(DATA))
    assert not copied(info)
    assert load_dataset(info.path).fingerprint == load_dataset(DATA).fingerprint


def test_data_files_never_reads_pins_or_workspaces(root: Path) -> None:
    (root / "signup.csv").write_bytes(UNITS_CSV)
    ws.create_workspace(root, {"other.csv": UNITS_CSV})
    (root / "pins").mkdir()
    (root / "pins" / "stray.csv").write_bytes(b"junk")
    assert [p.name for p in data_files(root)] == ["signup.csv"]
    dataset = load_dataset(root)
    assert list(dataset.experiments) == ["signup"]
    assert dataset.summary["experiment"].unique().to_list() == ["signup"]


@pytest.mark.parametrize(
    ("given", "saved"),
    [
        ("export (1).csv", "export_1.csv"),
        ("résumé (copy 2).parquet", "resume_copy_2.parquet"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\x\\a b.CSV", "a_b.CSV"),
        (".hidden.csv", "hidden.csv"),
        ("\x00evil.csv", "evil.csv"),
        ("metrics.toml", "metrics.toml"),
    ],
)
def test_unsafe_characters_in_a_name_are_replaced_not_refused(given: str, saved: str) -> None:
    assert ws.safe_name(given) == saved
    ws.check_name(saved)  # a plain base name: no folder part can survive


def test_an_upload_is_saved_under_its_plain_name_inside_its_workspace(root: Path) -> None:
    files = ws.files_from_uploads([("export (1).csv", UNITS_CSV)])
    info = ws.create_workspace(root, files)
    assert "export_1.csv" in info.files
    assert (info.path / "export_1.csv").is_file()
    assert files_outside_workspaces(root) == {root / "metrics.toml"}
    with pytest.raises(InputError, match=r"two uploaded files are named 'a_b\.csv'"):
        ws.files_from_uploads([("a b.csv", UNITS_CSV), ("a_b.csv", UNITS_CSV)])
