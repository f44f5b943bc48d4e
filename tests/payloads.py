"""Planted payloads for the inert-text crawl: a copy of the demo data whose every user-text field
quotes links and images to a host under `.invalid`, and a detector that reads Markdown the way
Streamlit renders it (CommonMark, raw HTML, and GitHub's autolinks of http:, www. and emails)."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from helpers import REPO, copy_demo
from markdown_it import MarkdownIt

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.store import pins

HOST = "evil.invalid"
PAYLOAD = (
    f"![x](http://{HOST}/a.png) [click](http://{HOST}) http://{HOST}/x www.{HOST} "
    f'<img src=http://{HOST}/b.png> x@{HOST} ` \\" {{{{ }}}}'
)
# File names cannot hold '/' (and Polars reads '[', '{', '*' and '?' as a glob), so theirs is
# the rest of the payload.
NAME_PAYLOAD = f"www.{HOST} x@{HOST} !(a.png) ` ' \\ "
EXPERIMENT = "hearts_system"
VARIANT = f"hearts {PAYLOAD}"
SEGMENT = f"platform {NAME_PAYLOAD}"
FILE_EXPERIMENT = f"{NAME_PAYLOAD} streak"  # a file without an experiment column: its stem
# Every page of the app, found in its folder, so a page added later is crawled too.
PAGES = sorted(f"pages/{p.name}" for p in (REPO / "pages").glob("*.py") if p.name[0] != "_")
QUERY_KEYS = (
    "workspace",
    "pin",
    "experiment",
    "variant",
    "segment",
    "node",
    "alpha",
    "correction",
    "bootstrap",
    "status",
    "owner",
)


def plant(target: Path) -> tuple[Path, str]:
    """The demo data with the payload in every user-text field: metric labels, descriptions and
    owners; experiment names, owners and hypotheses; a variant, a segment column and its
    values, and a file name (which is that file's experiment id); with the id of a pin of the
    planted variant's readout."""
    data = copy_demo(target)
    metrics = tomllib.loads((data / "metrics.toml").read_text(encoding="utf-8"))["metrics"]
    for spec in metrics.values():
        spec.update(label=f"{spec.get('label', '')} {PAYLOAD}", description=PAYLOAD, owner=PAYLOAD)
    _write_toml(data / "metrics.toml", "metrics", metrics)
    experiments = tomllib.loads((data / "experiments.toml").read_text(encoding="utf-8"))
    experiments = experiments["experiments"]
    for spec in experiments.values():
        spec.update(name=f"{spec['name']} {PAYLOAD}", owner=PAYLOAD, hypothesis=PAYLOAD)
    hearts = experiments[EXPERIMENT]
    hearts["expected_split"] = {
        (VARIANT if k == "hearts" else k): v for k, v in hearts["expected_split"].items()
    }
    units = pl.read_parquet(data / f"{EXPERIMENT}.parquet")
    units = units.with_columns(
        pl.col("variant").replace({"hearts": VARIANT}),
        pl.col("platform").replace({"ios": f"ios {PAYLOAD}"}),
    ).rename({"platform": SEGMENT})
    units.write_parquet(data / f"{EXPERIMENT}.parquet")
    streak = experiments.pop("streak_freeze")
    experiments[FILE_EXPERIMENT] = streak
    (data / "streak_freeze.parquet").rename(data / f"{FILE_EXPERIMENT}.parquet")
    _write_toml(data / "experiments.toml", "experiments", experiments)
    readout = build_readout(load_dataset(data), Settings(), experiment=EXPERIMENT)
    return data, pins.pin_readout(data, readout, EXPERIMENT, VARIANT).id


def upload() -> tuple[str, bytes]:
    """A unit-level CSV with no catalog, for the guided set-up: its name, its arms and a
    metric column carry the payload."""
    frame = pl.DataFrame(
        {
            "variant": ["control", VARIANT] * 20,
            "lessons": [1, 2, 3, 2] * 10,
            f"clicks {NAME_PAYLOAD}": [3, 4, 5, 7] * 10,
        }
    )
    return f"www.{HOST}.csv", frame.write_csv().encode()  # names allow letters, digits, . _ -


def _write_toml(path: Path, top: str, tables: dict[str, dict[str, Any]]) -> None:
    """Tables of scalars and inline tables, every string and key JSON-quoted (valid TOML)."""

    def value(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v if isinstance(v, int | float | str) else str(v))

    lines = []
    for name, spec in tables.items():
        lines += [f"[{top}.{json.dumps(name)}]", *(f"{k} = {value(v)}" for k, v in spec.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# CommonMark with raw HTML and linkify (links with a scheme, e-mail addresses; bare domains are
# not links in Streamlit either), the host's TLD known.
_MD = MarkdownIt("commonmark", {"linkify": True}).enable("linkify")
_MD.linkify.tlds("invalid", True).set({"fuzzy_link": False})
# GitHub's autolink literals as remark-gfm finds them in the text of a parsed document
# (mdast-util-gfm-autolink-literal): after Markdown's escapes are resolved, so `http\://x.y`
# is a link in Streamlit although CommonMark's own linkify would not see one.
_AUTOLINK = re.compile(r"(?i)(?:https?://|www(?=\.))[-.\w]+[^\s<]*|[-.\w+]+@[-\w]+(?:\.[-\w]+)+")


def live_links(markdown: str) -> list[str]:
    """The targets of links, images, autolinks and raw HTML that this Markdown shows live and
    that point at the payload host."""
    found: list[str] = []
    for block in _MD.parse(markdown):
        if block.type == "html_block" and HOST in block.content:
            found.append(block.content)
        text, in_link = "", False
        for token in block.children or []:
            if token.type in ("text", "text_special"):
                text += "" if in_link else token.content
                continue
            found += _autolinks(text)
            text = ""
            in_link = token.type == "link_open" or (in_link and token.type != "link_close")
            target = str(token.attrs.get("href") or token.attrs.get("src") or "")
            if HOST in target and not _APP_PAGE.match(target):
                found.append(target)
            elif token.type == "html_inline" and HOST in token.content:
                found.append(token.content)
        found += _autolinks(text)
    return found


# A link to one of the app's own pages with a query ("readout?experiment=…"): a relative
# reference with no scheme, host or slash, so it stays on the app's origin whatever its query
# quotes (a planted id, URL-encoded). Anything else naming the host counts as live.
_APP_PAGE = re.compile(r"\w+\?[^\s\\]*$")


def _autolinks(text: str) -> list[str]:
    return [m.group(0) for m in _AUTOLINK.finditer(text) if HOST in m.group(0)]


def markdown_fields(proto: Any, path: str = "") -> list[tuple[str, str]]:
    """(field path, text) of every string an element shows as Markdown (labels, bodies, help,
    captions, options of radios and pills, tab labels), skipping what Streamlit shows as plain
    text (code, text, select box options, chart specs, data)."""
    out: list[tuple[str, str]] = []
    kind = type(proto).__name__
    for field, value in proto.ListFields():
        name = f"{path}{kind}.{field.name}"
        if (kind, field.name) in PLAIN or field.name in PLAIN_FIELDS:
            continue
        values = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
        for v in values:
            if isinstance(v, str):
                out.append((name, v))
            elif hasattr(v, "ListFields"):
                out += markdown_fields(v, name + "/")
    return out


PLAIN = {
    ("Text", "body"),
    ("Code", "code_text"),
    ("Selectbox", "options"),
    ("Selectbox", "raw_values"),
    ("Selectbox", "default"),
    ("Selectbox", "raw_value"),
    ("ButtonGroup", "raw_values"),
    ("ButtonGroup", "raw_value"),
    ("MultiSelect", "options"),
    ("MultiSelect", "raw_values"),
    ("MultiSelect", "raw_default"),
    ("TextInput", "value"),
    ("TextInput", "default"),
    ("TextInput", "placeholder"),  # the input's HTML placeholder attribute: plain text
    ("TextArea", "value"),
    ("TextArea", "default"),
    ("GraphVizChart", "spec"),
    ("VegaLiteChart", "spec"),
    ("VegaLiteChart", "datasets"),
    ("ArrowVegaLiteChart", "spec"),
    ("Json", "body"),
    ("Exception", "message"),
    ("Exception", "stack_trace"),
}
# `alt` is a chart's or table's accessible name, an attribute, not Markdown.
PLAIN_FIELDS = {"alt", "id", "form_id", "key", "data", "set_value", "columns", "url"}
