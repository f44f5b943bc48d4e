"""The browser code a page draws with: named early in the page's HTML, served from memory.

Streamlit's front end loads each element's code (the data grid, Vega, the selectbox, ...) only
when the first such element arrives over the websocket, so a fresh tab fetched some 60 files one
wave after another after the script had run, while the browser had sat idle waiting for the
websocket; and each file cost the server about 4 ms of CPU in Starlette's static files (a
readout's fresh tab: some 120 files, 0.45 s). `PreloadMiddleware` (serve.py) adds a
`<link rel="modulepreload">` for each of them to the HTML of the page the address opens (the
same files Streamlit would fetch a moment later, found from its own build), so they arrive and
compile while the app connects, and answers the requests for those files and the ones
index.html names from memory (a few MB, read once), with Streamlit's own headers.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, MutableMapping
from functools import cache
from pathlib import Path
from typing import Any

import streamlit

JS = Path(streamlit.__file__).parent / "static" / "static" / "js"
# the element chunks each page's first view draws (Streamlit's names, without the build hash);
# the readout's first view is its header and cards: its popovers' widgets (the settings, the
# pickers, the downloads) and its plot (Vega, about 1 MB) wait to be opened
SIDEBAR = ("PageLink", "ButtonGroup")
ELEMENTS = {
    "": SIDEBAR,  # the Portfolio: its status buttons; its counts are one Markdown line
    "readout": ("PageLink", "Metric", "Button"),
}
IMPORT = re.compile(rb'(?:from|import)\s*"\./([\w.\-]+\.js)"')
Scope = MutableMapping[str, Any]
TYPES = {
    ".js": b"application/javascript",
    ".css": b"text/css; charset=utf-8",
    ".woff2": b"font/woff2",
}
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # Streamlit's, for its hashed files


def chunk(name: str, js: Path = JS) -> str | None:
    """The built file of element chunk `name` ('DataFrame' -> 'DataFrame.-f9-1zS0.js'), or None
    where this Streamlit has no such chunk."""
    found = [p.name for p in js.glob(f"{name}.*.js") if p.name.count(".") == 2]
    return found[0] if len(found) == 1 else None


def closure(entries: Iterable[str], js: Path = JS) -> list[str]:
    """The files `entries` import statically, themselves included, in the order found."""
    seen: list[str] = []
    todo = list(entries)
    while todo:
        name = todo.pop(0)
        if name in seen or not (js / name).is_file():
            continue
        seen.append(name)
        todo += [m.decode() for m in IMPORT.findall((js / name).read_bytes())]
    return seen


def first_view(page: str, js: Path = JS) -> list[str]:
    """The files page `page` (its URL path, '' the home page) draws its first view with, beyond
    index.html's own: its elements' chunks and what they import."""
    entries = [c for name in ELEMENTS.get(page, SIDEBAR) if (c := chunk(name, js))]
    return closure(entries, js)


@cache
def links(page: str, js: Path = JS) -> bytes:
    """The `<link rel="modulepreload">` tags of page `page`'s first view (first_view), leaving
    out the files index.html already preloads."""
    index = (js.parent.parent / "index.html").read_bytes()
    return b"".join(
        b'<link rel="modulepreload" crossorigin href="./static/js/%s">' % name.encode()
        for name in first_view(page, js)
        if b"/js/" + name.encode() not in index
    )


@cache
def in_memory(js: Path = JS) -> dict[str, tuple[bytes, bytes]]:
    """Path under static/ -> (content type, bytes) of the files a first view fetches: those
    index.html names and every page's first_view."""
    static = js.parent
    index = (static.parent / "index.html").read_text()
    names = {m for m in re.findall(r'"\./static/([\w./\-]+)"', index)}
    names |= {f"js/{n}" for page in ELEMENTS for n in first_view(page, js)}
    found = {}
    for name in sorted(names):
        path = static / name
        if path.is_file() and path.suffix in TYPES:
            found[name] = (TYPES[path.suffix], path.read_bytes())
    return found


class PreloadMiddleware:
    """ASGI middleware: the HTML of a page (Streamlit's index.html, served for every page's
    address) gets its page's preload links before `</head>`; the files in_memory holds are
    answered from memory with the headers Streamlit gives them (immutable: their names carry
    their hash); everything else passes through."""

    def __init__(self, app: Any) -> None:
        """Wrap the ASGI app `app` (Streamlit's), reading the files and links in now, as the
        server starts, rather than in a cold deep link's first requests."""
        self.app = app
        in_memory()
        for page in ELEMENTS:
            links(page)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Answer a held static file, or pass the request on with the HTML's links added."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        _, marker, name = path.partition("/static/")
        if marker and (found := in_memory().get(name)):
            await _send_file(send, *found)
            return
        await self.app(scope, receive, _injecting(send, links(path.rsplit("/", 1)[-1])))


async def _send_file(send: Any, content_type: bytes, body: bytes) -> None:
    """One immutable static file as the whole response."""
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", CACHE_CONTROL),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _injecting(send: Any, tags: bytes) -> Any:
    """A `send` that puts `tags` before an HTML response's `</head>` (fixing its length) and
    passes every other response through. Streamlit gzips a page's HTML at any address but the
    root: that body is unzipped first and sent plain (about 10 KB on the way to a local
    browser), else the tags never reached a readout link's page."""
    start: dict[str, Any] = {}
    body: list[bytes] = []

    async def inject(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if kind.startswith(b"text/html"):
                start.update(message)
                return
        if not start or message["type"] != "http.response.body":
            await send(message)
            return
        body.append(message.get("body", b""))
        if message.get("more_body"):
            return
        html = b"".join(body)
        if dict(start["headers"]).get(b"content-encoding") == b"gzip":
            html = gzip.decompress(html)  # every page's HTML but the root's (Streamlit's gzip)
        html = html.replace(b"</head>", tags + b"</head>", 1)
        dropped = (b"content-length", b"content-encoding")
        headers = [(k, v) for k, v in start["headers"] if k not in dropped]
        headers.append((b"content-length", str(len(html)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": html})

    return inject
