"""The app uses Streamlit's public API: no `_`-prefixed name is imported from Streamlit anywhere
(ruff's banned-api rule keeps streamlit.elements and streamlit.runtime out besides)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "app.py",
    *(p for d in ("pages", "nsexp", "bench", "tests") for p in (ROOT / d).rglob("*.py")),
]


def private_streamlit_imports(source: str) -> list[str]:
    """Every private name (or module) imported from Streamlit in this Python source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "streamlit":
                found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
                found += [node.module] if any(p.startswith("_") for p in parts) else []
        elif isinstance(node, ast.Import):
            found += [
                a.name
                for a in node.names
                if a.name.split(".")[0] == "streamlit"
                and any(p.startswith("_") for p in a.name.split("."))
            ]
    return found


def test_the_check_finds_private_imports() -> None:
    source = (
        "from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec\n"
        "import streamlit._private.x\n"
        "from streamlit import _hidden, cache_data\n"
        "from streamlit.runtime.pages_manager import PagesManager\n"
        "from mylib import _fine\n"
    )
    assert private_streamlit_imports(source) == [
        "streamlit.elements.vega_charts._convert_altair_to_vega_lite_spec",
        "streamlit._private.x",
        "streamlit._hidden",
    ]


def test_no_private_streamlit_name_is_imported() -> None:
    assert len(SOURCES) > 100  # the walk saw the code base
    found = {
        str(path.relative_to(ROOT)): names
        for path in SOURCES
        if (names := private_streamlit_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}
