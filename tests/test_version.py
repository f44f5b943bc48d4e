"""The version is declared once, in pyproject.toml; the package and the CLI read it from there."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from helpers import REPO

import nsexp


def _declared() -> str:
    with (REPO / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def test_package_version_is_pyprojects() -> None:
    assert nsexp.__version__ == _declared()


def test_cli_prints_the_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nsexp", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert out.stdout.strip() == f"nsexp {_declared()}"


def test_version_is_written_once() -> None:
    """No second literal: the package's source never spells the version out."""
    literal = _declared()
    hits = [p for p in (REPO / "nsexp").rglob("*.py") if f'"{literal}"' in p.read_text()]
    assert hits == []
