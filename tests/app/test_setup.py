"""The Data page's guided set-up in AppTest, on the column layouts of two public exports nobody
here wrote: Cookie Cats (a mobile-game A/B test) and Hillstrom's e-mail test."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import APP_FILE, DEMO_DATA
from public_exports import HILLSTROM, cookie_cats, hillstrom
from streamlit.testing.v1 import AppTest

from nsexp.analysis.readout import build_readout
from nsexp.config.setup import MetricChoice, Setup, catalog_toml, experiments_toml
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.profile import profile, read_sample
from nsexp.store import workspaces as ws


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo data as the app's data root."""
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA, data, ignore=shutil.ignore_patterns("pins", "workspaces"))
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    return data


def uploaded(name: str, content: bytes) -> AppTest:
    """The Data page with one file in the uploader."""
    at = AppTest.from_file(str(APP_FILE), default_timeout=30)
    at.switch_page("pages/data.py")
    at.run()
    at.file_uploader(key="upload").upload(name, content)
    return at.run()


def test_profile_guesses_the_roles_of_cookie_cats_columns() -> None:
    guesses = {
        c.name: (c.guess, c.metric_type) for c in profile(read_sample("c.csv", cookie_cats()))
    }
    assert guesses == {
        "userid": ("unit_id", None),
        "version": ("variant", None),
        "sum_gamerounds": ("metric", "mean"),
        "retention_1": ("metric", "proportion"),
        "retention_7": ("metric", "proportion"),
    }


def test_cookie_cats_from_raw_csv_to_a_readout(root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    assert not at.exception and not at.error
    columns = next(d.value for d in at.dataframe if "Looks like" in d.value.columns)
    assert list(columns["Column"]) == [
        "userid",
        "version",
        "sum_gamerounds",
        "retention_1",
        "retention_7",
    ]
    assert at.selectbox(key="setup_variant").value == "version"
    assert at.selectbox(key="setup_unit").value == "userid"
    control = at.selectbox(key="setup_control_version")
    assert control.value is None  # gate_30 / gate_40: nothing says which is the control
    assert any("Pick the control arm" in w.value for w in at.warning)
    assert "setup_save" not in [b.key for b in at.button]  # no verdict before a control

    control.select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.selectbox(key="role_retention_1").select("Leading").run()
    at.selectbox(key="role_sum_gamerounds").select("Vanity").run()
    assert at.selectbox(key="type_retention_7").value == "proportion"
    assert at.selectbox(key="type_sum_gamerounds").value == "mean"
    labels = [d.proto.label for d in at.get("download_button")]
    assert labels == ["Download metrics.toml", "Download experiments.toml"]
    at.button(key="setup_save").click().run()
    assert not at.exception

    (info,) = ws.list_workspaces(root)
    assert dict(at.query_params) == {"workspace": info.id, "experiment": "cookie_cats"}
    catalog = tomllib.loads((root / "workspaces" / info.id / "metrics.toml").read_text())
    assert catalog["columns"] == {"variant": "version", "unit_id": "userid"}
    assert catalog["metrics"]["retention_7"]["role"] == "north_star"
    readout = build_readout(load_dataset(root / "workspaces" / info.id))
    assert readout.experiments["cookie_cats"].control == "gate_30"
    assert at.title[0].value == "cookie_cats"  # the readout page (md_escape leaves a word's _)
    codes = [c.value for c in at.code]  # the save's dialog survives the page switch
    at_link = codes.index(next(c for c in codes if c.endswith(f"/data?workspace={info.id}")))
    code = codes[at_link + 1]
    ws.delete_workspace(root, info.id, code=code)


def test_hillstrom_needs_its_control_picked_and_quotes_its_dotted_id(root: Path) -> None:
    at = uploaded(HILLSTROM, hillstrom())
    assert not at.exception and not at.error
    assert at.selectbox(key="setup_variant").value == "segment"
    control = at.selectbox(key="setup_control_segment")
    assert control.options == ["Mens E-Mail", "No E-Mail", "Womens E-Mail"]
    assert control.value is None
    control.select("No E-Mail").run()
    at.selectbox(key="role_spend").select("North Star").run()
    at.selectbox(key="role_conversion").select("Leading").run()
    at.selectbox(key="role_visit").select("Vanity").run()
    at.button(key="setup_save").click().run()
    assert not at.exception
    (info,) = ws.list_workspaces(root)
    folder = root / "workspaces" / info.id
    experiments = tomllib.loads((folder / "experiments.toml").read_text())
    stem = HILLSTROM.removesuffix(".csv")
    assert experiments["experiments"][stem]["control"] == "No E-Mail"  # quoted key with dots
    readout = build_readout(load_dataset(folder))
    assert [t.variant for t in readout.experiments[stem].treatments] == [
        "Mens E-Mail",
        "Womens E-Mail",
    ]


def test_two_north_stars_are_refused_with_the_catalog_message(demo_root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.selectbox(key="role_retention_1").select("North Star").run()
    assert any("2 columns are the North Star" in e.value for e in at.error)
    assert "setup_save" not in [b.key for b in at.button]


def test_hints_until_the_roles_are_chosen_not_errors(demo_root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    assert not at.error  # nobody chose a role yet: nothing is wrong, something is missing
    assert any("Give one column the role North Star" in i.value for i in at.info)
    assert any("Save opens once step 3 is complete" in c.value for c in at.caption)
    assert "setup_save" not in [b.key for b in at.button]
    at.selectbox(key="role_retention_7").select("North Star").run()
    assert not at.error and "setup_save" in [b.key for b in at.button]


def test_the_set_up_names_the_experiment_and_metrics_and_sets_a_threshold(root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.text_input(key="setup_name_cookie_cats").input("Gate at level 40").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.text_input(key="label_retention_7").input("Day-7 retention").run()
    at.number_input(key="threshold_retention_7").set_value(2.0).run()
    at.selectbox(key="role_sum_gamerounds").select("Vanity").run()
    at.button(key="setup_save").click().run()
    assert not at.exception
    (info,) = ws.list_workspaces(root)
    catalog = tomllib.loads((info.path / "metrics.toml").read_text())
    assert catalog["metrics"]["retention_7"]["label"] == "Day-7 retention"
    assert catalog["metrics"]["retention_7"]["practical_threshold"] == 0.02
    assert "practical_threshold" not in catalog["metrics"]["sum_gamerounds"]  # the default
    experiments = tomllib.loads((info.path / "experiments.toml").read_text())
    assert experiments["experiments"]["cookie_cats"]["name"] == "Gate at level 40"
    assert at.title[0].value == "Gate at level 40"  # the readout's title, not the file stem
    assert not any("is the default" in c.value for c in at.caption)  # this one was set


def test_the_readout_says_when_the_threshold_is_the_default(root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.button(key="setup_save").click().run()
    assert not at.exception
    notes = [c.value for c in at.caption if "is the default" in c.value]
    assert len(notes) == 1 and "±1%" in notes[0] and "retention_7" in notes[0]


def test_a_wrong_type_is_caught_at_the_metrics_step_beside_its_control(demo_root: Path) -> None:
    at = uploaded(HILLSTROM, hillstrom())
    at.selectbox(key="setup_control_segment").select("No E-Mail").run()
    at.selectbox(key="role_spend").select("North Star").run()
    at.selectbox(key="type_spend").select("proportion").run()
    (error,) = at.error
    assert "spend has values other than 0 and 1" in error.value and "choose mean" in error.value
    assert "metrics.toml" not in error.value  # the fix is the Type control above, not a file
    assert "setup_save" not in [b.key for b in at.button]
    at.selectbox(key="type_spend").select("mean").run()
    assert not at.error and "setup_save" in [b.key for b in at.button]


def test_distinct_values_are_counted_over_every_row(demo_root: Path) -> None:
    rows = 25_000  # past the 20,000 rows the type inference once stopped at
    at = uploaded("cookie_cats.csv", cookie_cats(n=rows))
    columns = next(d.value for d in at.dataframe if "Looks like" in d.value.columns)
    distinct = dict(zip(columns["Column"], columns["Distinct values"], strict=True))
    assert distinct["userid"] == rows
    raw = pl.read_csv(cookie_cats(n=rows))
    assert distinct["sum_gamerounds"] == raw["sum_gamerounds"].n_unique()
    assert any("25,000 rows, all read" in c.value for c in at.caption)


def test_a_browser_file_name_is_made_plain_not_refused(root: Path) -> None:
    at = uploaded("export (1).csv", cookie_cats())
    assert not [w for w in at.warning if "Not saved yet" in w.value]  # nothing refused
    assert any("export_1.csv" in c.value for c in at.caption)
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.button(key="setup_save").click().run()
    assert not at.exception
    (info,) = ws.list_workspaces(root)
    assert (info.path / "export_1.csv").is_file()
    assert info.path.parent == root / "workspaces"
    assert dict(at.query_params) == {"workspace": info.id, "experiment": "export_1"}


def test_setup_writes_what_the_cli_reads(tmp_path: Path) -> None:
    setup = Setup(
        experiments=("shop.v2",),
        variant="arm",
        control="A",
        metrics=(
            MetricChoice("Orders", "north_star", "mean"),
            MetricChoice("clicked", "vanity", "proportion"),
            MetricChoice("age", "skip", "mean"),
        ),
    )
    catalog, experiments = catalog_toml(setup), experiments_toml(setup)
    assert '[experiments."shop.v2"]' in experiments
    rng = np.random.default_rng(1)
    n = 400
    frame = pl.DataFrame(
        {
            "arm": rng.choice(["A", "B"], n),
            "Orders": rng.poisson(2.0, n),
            "clicked": rng.integers(0, 2, n),
            "age": rng.integers(18, 80, n),
        }
    )
    frame.write_csv(tmp_path / "shop.v2.csv")
    (tmp_path / "metrics.toml").write_text(catalog)
    (tmp_path / "experiments.toml").write_text(experiments)
    readout = build_readout(load_dataset(tmp_path))
    assert readout.experiments["shop.v2"].control == "A"
    assert sorted(readout.catalog.metrics) == ["clicked", "orders"]
    with pytest.raises(InputError, match="exactly one metric must be the North Star"):
        catalog_toml(Setup(("x",), "arm", "A", (MetricChoice("y", "leading", "mean"),)))


def test_a_planned_unequal_split_is_written_to_experiments_toml(root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    assert not [n for n in at.number_input if n.key.startswith("setup_share_")]
    at.checkbox(key="setup_unequal_version").check().run()
    at.number_input(key="setup_share_version_gate_30").set_value(1.0).run()
    at.number_input(key="setup_share_version_gate_40").set_value(3.0).run()
    at.button(key="setup_save").click().run()
    assert not at.exception
    (info,) = ws.list_workspaces(root)
    readout = build_readout(load_dataset(info.path))
    srm = readout.experiments["cookie_cats"].srm
    assert srm.expected == {"gate_30": 0.25, "gate_40": 0.75}
    assert not srm.assumed and srm.mismatch  # ~50/50 data against a declared 25/75 plan


def test_a_zero_planned_share_stops_the_set_up_with_the_cli_message(demo_root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_control_version").select("gate_30").run()
    at.selectbox(key="role_retention_7").select("North Star").run()
    at.checkbox(key="setup_unequal_version").check().run()
    at.number_input(key="setup_share_version_gate_40").set_value(0.0).run()
    assert any("positive share" in e.value for e in at.error)
    assert "setup_save" not in [b.key for b in at.button]


def test_a_variant_column_with_too_many_values_is_named_at_its_step(demo_root: Path) -> None:
    at = uploaded("cookie_cats.csv", cookie_cats())
    at.selectbox(key="setup_variant").select("userid").run()
    (error,) = at.error
    assert "has more than 20 distinct values" in error.value and "Variant column" in error.value
    assert "setup_save" not in [b.key for b in at.button]
