"""Fixtures: seeded data directories, an in-process CLI runner and the app opened in AppTest."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import pytest
from helpers import (
    APP_FILE,
    DEMO_DATA,
    AppOpener,
    CliRunner,
    copy_demo,
    make_units,
    write_frame,
    write_metrics,
)

from nsexp.cli import main
from nsexp.io import Dataset, load_dataset

# The app computes in this process, where AppTest and monkeypatches see it (pages.ui.workers;
# tests/app/test_workers.py starts a pool of its own). Served apps inherit it.
os.environ.setdefault("NSEXP_WORKERS", "0")


@pytest.fixture
def units() -> pl.DataFrame:
    """A three-arm experiment with real effects on clicks and errors, seeded."""
    return make_units(
        11,
        {"control": 1500, "alpha": 1400, "beta": 1600},
        effects={"alpha": {"clicks": 1.15, "lessons": 1.03}, "beta": {"errors": 1.6}},
    )


@pytest.fixture
def data_dir(tmp_path: Path, units: pl.DataFrame) -> Path:
    """tmp dir with the `units` frame as checkout.csv and the standard metrics.toml."""
    write_frame(units, tmp_path / "checkout.csv")
    write_metrics(tmp_path)
    return tmp_path


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run `nsexp` in-process: returns (exit code, stdout, stderr)."""

    def run(*args: str | Path) -> tuple[int, str, str]:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse exits on usage errors
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


@pytest.fixture(scope="session")
def demo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy of the demo data for the whole session (the app caches it once)."""
    return copy_demo(tmp_path_factory.mktemp("app") / "data")


@pytest.fixture(scope="session")
def demo_dataset() -> Dataset:
    """The bundled demo data read once for the session (reading it is most of what a demo
    readout costs); read-only: a test that needs other data reads its own."""
    return load_dataset(DEMO_DATA)


@pytest.fixture(scope="session")
def demo_copy_dataset(demo_copy: Path) -> Dataset:
    """The session's demo copy read once, as the app reads it (its paths are the copy's)."""
    return load_dataset(demo_copy)


@pytest.fixture
def open_app(demo_copy: Path, monkeypatch: pytest.MonkeyPatch) -> AppOpener:
    """Open a page of the app in AppTest with query parameters, on the demo copy (or `data`)."""
    from streamlit.testing.v1 import AppTest, app_test

    from pages.ui.frame import navigated_pages_manager

    # AppTest runs as on a server where app.py's st.navigation has run once (the browser test
    # covers that first run).
    monkeypatch.setattr(app_test, "PagesManager", navigated_pages_manager())

    def open_page(
        page: str, query: Mapping[str, str | list[str]] | None = None, data: Path | None = None
    ) -> AppTest:
        monkeypatch.setenv("NSEXP_DATA_DIR", str(data or demo_copy))
        at = AppTest.from_file(str(APP_FILE), default_timeout=30)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.switch_page(page)
        return at.run()

    return open_page
