"""TOML in and out, once: the one reader (a file or text in, a dict out, or one InputError a
person can act on) and the small writer of the catalogs nsexp generates.

Every configuration file (metrics.toml, experiments.toml, source.toml, the Data page's editor)
goes through `parse_toml`, so bad syntax, bad bytes and pathologically nested documents all get
the same one-line message instead of a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nsexp.errors import InputError

MAX_TOML_BYTES = 1_000_000  # a catalog of thousands of metrics is far below this
_BOM = "\ufeff"  # a UTF-8 byte-order mark (Windows editors write one): read as nothing


def refuse_utf16(head: bytes, file: str | Path) -> None:
    """Refuse UTF-16 text (its byte-order mark, or a NUL byte in its first character) with the
    fix: read as UTF-8 it gave misleading messages (no variant column, a syntax error)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:2]:
        raise InputError(
            "is UTF-16 text, and nsexp reads UTF-8",
            file=file,
            fix="save it as UTF-8 (Excel: Save As, CSV UTF-8; or iconv -f UTF-16 -t UTF-8)",
        )


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; InputError naming `source` when it is not valid TOML."""
    if len(text) > MAX_TOML_BYTES:
        raise InputError(
            f"is {len(text):,} characters, more than {MAX_TOML_BYTES:,}",
            file=source,
            fix="a configuration file this large is not a catalog; check the file",
        )
    try:
        return tomllib.loads(text.removeprefix(_BOM))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML ({exc})", file=source, fix="fix the TOML syntax") from exc
    except RecursionError as exc:
        raise InputError(
            "not valid TOML (nested too deeply to read)",
            file=source,
            fix="flatten the nested arrays or tables",
        ) from exc


def read_toml(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file (UTF-8, with or without a byte-order mark); InputError naming
    the file on any failure."""
    try:
        data = path.read_bytes()
        refuse_utf16(data, path)
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            "not valid TOML (not UTF-8 text)", file=path, fix="save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", file=path) from exc
    return parse_toml(text, str(path))


TomlValue = str | float | bool | dt.date | Mapping[str, float]


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted (ids with dots, spaces...)."""
    if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key):
        return key
    return json.dumps(key, ensure_ascii=False)


def toml_value(value: TomlValue) -> str:
    """A TOML value: a basic string, a boolean, a number, a date or an inline table of
    numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {v!r}" for k, v in value.items()) + " }"
    return repr(value)


def toml_table(name: str, items: Mapping[str, TomlValue | None]) -> str:
    """One ``[name]`` table, leaving out keys whose value is None (`name` is written as given:
    quote its parts with toml_key)."""
    lines = [f"[{name}]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in items.items() if value is not None]
    return "\n".join(lines) + "\n"
