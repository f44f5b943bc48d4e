"""A small TOML writer for the generated demo catalogs (tomllib only reads)."""

from __future__ import annotations

import json
from collections.abc import Mapping


def toml_value(value: str | float | Mapping[str, float]) -> str:
    """Format a TOML value: a basic string, a number or an inline table of numbers."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {v!r}" for k, v in value.items()) + " }"
    return repr(value)


def toml_table(name: str, items: Mapping[str, str | float | Mapping[str, float] | None]) -> str:
    """Format one ``[name]`` table, leaving out keys whose value is None."""
    lines = [f"[{name}]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in items.items() if value is not None]
    return "\n".join(lines) + "\n"
