"""nsexp served: `streamlit run serve.py` serves app.py (the same pages and links as
`streamlit run app.py`), warmed at start-up.

Streamlit runs app.py only when a visitor opens a page, so the first deep link after a start
waited for the imports, the worker processes, the data read and the readout of every experiment
(8 s on 2 cores). Streamlit's st.App runs `lifespan` when the server starts, before it answers:
it imports the pages' modules and reads the data directory out with the default settings
(pages.ui.loaders.warm_up) into the caches every session shares, waiting at most WARM_UP_S (a
slow warehouse query finishes in the background; a visitor then waits on the same cached
computation, never a second one).
"""

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

APP = Path(__file__).with_name("app.py")
WARM_UP_S = 60.0


def warm_up() -> None:
    """Import what the readout page draws with, then warm the loaders' caches."""
    import pandas  # noqa: F401  # complete before Altair may find it (app.py says why)

    from pages.ui import checks, experiment, loaders  # noqa: F401  # the readout's modules

    loaders.warm_up()


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Warm up before the server answers, for at most WARM_UP_S."""
    thread = threading.Thread(target=warm_up, name="nsexp-warm-up", daemon=True)
    thread.start()
    await asyncio.to_thread(thread.join, WARM_UP_S)
    yield


app = st.App(APP, lifespan=lifespan)
