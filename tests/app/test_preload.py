"""serve.py's PreloadMiddleware: a page's HTML names its first view's browser code, and those
files come from memory byte for byte as Streamlit's static files serve them."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient
from streamlit.web.server.starlette.starlette_gzip_middleware import SelectiveGZipMiddleware

from pages.ui import preload

INDEX = (preload.JS.parent.parent / "index.html").read_text()
ON_INDEX = re.findall(r'"\./static/js/([^"]+)"', INDEX)  # its script and its preloads


def _client() -> TestClient:
    """The middleware around a stand-in for Streamlit: index.html for every page, gzipped as
    Streamlit's own middleware gzips it (at every address but the root), the static files from
    Streamlit's own build; a browser's Accept-Encoding on every request."""

    async def page(_request: object) -> HTMLResponse:
        return HTMLResponse(INDEX)

    routes = [
        Mount("/static", StaticFiles(directory=preload.JS.parent)),
        Route("/{page:path}", page),
    ]
    streamlit = Starlette(routes=routes, middleware=[Middleware(SelectiveGZipMiddleware)])
    client = TestClient(preload.PreloadMiddleware(streamlit))
    client.headers["accept-encoding"] = "gzip, deflate, br, zstd"
    return client


def _preloaded(html: str) -> list[str]:
    return re.findall(r'rel="modulepreload" crossorigin href="\./static/js/([^"]+)"', html)


def test_each_page_preloads_its_elements_code_once() -> None:
    client = _client()
    readout, home = client.get("/readout").text, client.get("/").text
    names = {"readout": _preloaded(readout), "": _preloaded(home)}
    # beyond index.html's own list: the cards' figures on the readout, not the plot's chart
    # and Vega (drawn once opened); the status buttons on the home page (its counts are
    # Markdown: no Metric code there)
    assert any(n.startswith("Metric.") for n in names["readout"])
    assert not any(n.startswith(("ArrowVegaLiteChart.", "embed.")) for n in names["readout"])
    assert any(n.startswith("ButtonGroup.") for n in names[""])
    assert not any(n.startswith(("embed.", "Metric.")) for n in names[""])
    for page, found in names.items():
        assert len(found) == len(set(found)), page  # none named twice
        assert all((preload.JS / n).is_file() for n in found), page
    assert len(readout) > len(INDEX)
    assert readout.index("modulepreload") < readout.index("</head>")


def test_a_gzipped_page_reaches_the_browser_with_its_preloads() -> None:
    """Streamlit gzips the HTML of every address but the root: the readout's links were added
    to none of a browser's readout pages until the middleware unzipped that body first."""
    response = _client().get("/readout?experiment=push_reminders")
    assert "content-encoding" not in response.headers  # sent plain, with its new length
    assert int(response.headers["content-length"]) == len(response.content)
    assert any(n.startswith("Metric.") for n in _preloaded(response.text))


def test_every_static_import_of_a_preloaded_file_is_preloaded_too() -> None:
    """The closure is whole: what a preloaded chunk imports statically is named as well (or by
    index.html), so no request waits for a parent to be parsed."""
    found = set(_preloaded(_client().get("/readout").text))
    for name in found:
        imported = preload.IMPORT.findall((preload.JS / name).read_bytes())
        assert {m.decode() for m in imported} <= found | set(ON_INDEX), name


def test_static_files_from_memory_equal_streamlits() -> None:
    """Byte for byte and with the same type and caching as Starlette's static files (which a
    file not held in memory still gets)."""
    client = _client()
    held = preload.in_memory()
    assert any(n.startswith("js/Metric.") for n in held)
    assert "css/" in "".join(held)
    for name in ["js/" + preload.chunk("Metric"), next(n for n in held if n.startswith("css/"))]:
        ours = client.get(f"/static/{name}")
        theirs = StaticFiles(directory=preload.JS.parent).lookup_path(name)[0]
        assert ours.content == Path(theirs).read_bytes()
        assert ours.headers["cache-control"] == "public, immutable, max-age=31536000"
        assert ours.headers["content-type"].split(";")[0] in {"application/javascript", "text/css"}
    other = "js/" + preload.chunk("Slider")
    assert other not in held
    assert client.get(f"/static/{other}").content == (preload.JS.parent / other).read_bytes()
    assert client.get("/static/js/nothing-here.js").status_code == 404
