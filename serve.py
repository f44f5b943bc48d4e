"""nsexp served: `streamlit run serve.py` serves app.py (the same pages and links as
`streamlit run app.py`), warmed at start-up.

Streamlit runs app.py only when a visitor opens a page, so the first deep link after a start
waited for the imports, the worker processes, the data read and the readout of every experiment
(8 s on 2 cores). Streamlit's st.App runs `lifespan` when the server starts, before it answers:
it imports the pages' modules and reads the data directory out with the default settings
(pages.ui.loaders.warm_up), then under the other settings a link is likely to carry
(pages.ui.loaders.warm_nearby), into the caches every session shares, waiting at most WARM_UP_S
in all (what is left, e.g. a slow warehouse query, finishes in the background; a visitor then
waits on the same cached computation, never a second one). Answering only then, a server just
started serves twenty people opening different links at once as a warm one does: before, they
queued behind the nearby readouts' computations, twenty at once on two workers (bench/load.py).
"""

import os

from nsexp import BLAS_THREADS

# before anything imports numpy (OpenBLAS reads it once), for the server and the worker
# processes it starts (they inherit it): one OpenBLAS thread, not a spinning one per core
os.environ.setdefault(*BLAS_THREADS)

import asyncio
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from pages.ui.preload import PreloadMiddleware

APP = Path(__file__).with_name("app.py")
WARM_UP_S = 60.0
THREAD = "nsexp-warm-up"
# the logger of Streamlit's warning that a thread runs outside any session's script run
CONTEXT_LOG = "streamlit.runtime.scriptrunner_utils.script_run_context"


def warm_up() -> None:
    """Import what the readout page draws with, then warm the loaders' caches: the default
    settings' readout first, then the other settings a link is likely to carry."""
    import pandas  # noqa: F401  # complete before Altair may find it (app.py says why)

    from pages.ui import checks, experiment, loaders  # noqa: F401  # the readout's modules

    loaders.warm_up()
    loaders.warm_nearby()


class NoSession(logging.Filter):
    """Drops Streamlit's "missing ScriptRunContext" warning from the warm-up threads only: they
    fill the caches every session shares outside any session on purpose, so there is no script
    run for them to miss (every other thread keeps the warning)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False (drop) for that warning logged by a warm-up thread."""
        mine = threading.current_thread().name.startswith(THREAD)
        return not (mine and "missing ScriptRunContext" in str(record.msg))


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Warm up before the server answers, for at most WARM_UP_S (the rest in the
    background)."""
    logging.getLogger(CONTEXT_LOG).addFilter(NoSession())
    say(f"reading the data out before the server answers (at most {WARM_UP_S:g} s)")
    started = time.monotonic()
    thread = threading.Thread(target=warm_up, name=THREAD, daemon=True)
    thread.start()
    await asyncio.to_thread(thread.join, WARM_UP_S)
    rest = "; the rest goes on in the background" if thread.is_alive() else ""
    say(f"warmed up in {time.monotonic() - started:.0f} s{rest}: the server answers now")
    yield


def say(line: str) -> None:
    """One line to the console of whoever started the server (`make run`), about the warm-up
    that keeps it from answering for a while."""
    print(f"nsexp: {line}", file=sys.stderr, flush=True)


app = st.App(APP, lifespan=lifespan, middleware=[Middleware(PreloadMiddleware)])
