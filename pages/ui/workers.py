"""Worker processes for the CPU-bound analyses the app caches (pages.ui.loaders).

Streamlit serves every session in a thread of one process, so a readout computed there holds
the GIL against every page being drawn: twenty people opening links with new settings waited on
each other on one core. In a worker process it runs beside them, on another core. The pool has
NSEXP_WORKERS processes (default: 2, at most the cores; 0: compute in the server's own process,
as the tests do), forked from a server process that imported nsexp once; a worker keeps nothing
between tasks (the server caches the results), so it holds one task's data at a time
(docs/deployment.md, "Capacity"). No Streamlit here: a worker imports this module alone.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, NamedTuple, ParamSpec, TypeVar

from nsexp.analysis.readout import Readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import Dataset
from nsexp.learning.history import Learning, learned_readout, readout_learning

P = ParamSpec("P")
T = TypeVar("T")
ENV = "NSEXP_WORKERS"
DEFAULT_WORKERS = 2

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
# calls made for a visitor (not in the background) still running, and a thread's flag: background
_visitors = 0
_idle = threading.Condition()
_mode = threading.local()


def analyse(dataset: Dataset, settings: Settings) -> tuple[Learning, Readout]:
    """Every experiment read out under the settings, with what the portfolio teaches (the
    learning its reasons, records and priors quote)."""
    learning = readout_learning(dataset, settings)
    readout = learned_readout(dataset, settings, learning=learning)
    # the judgement and dataset it learned from served this readout only: a cache entry (and a
    # worker's reply) holding a copy of the dataset each would weigh more than its figures
    return learning._replace(judgement=None, dataset=None), readout


def size() -> int:
    """The worker processes asked for: NSEXP_WORKERS, else DEFAULT_WORKERS up to the cores."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return min(DEFAULT_WORKERS, len(os.sched_getaffinity(0)))
    if not text.isdigit():
        raise InputError(
            f"{ENV}={text!r} is not a number of worker processes",
            fix=f"set {ENV} to a whole number (0: none, compute in the server), e.g. 2",
        )
    return int(text)


class Refused(NamedTuple):
    """An InputError raised in a worker, field by field: pickling the exception itself would
    keep only its message, and the page shows its file relative to the data directory."""

    problem: str
    file: str | None
    column: str | None
    fix: str | None


def _task(call: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T | Refused:
    """Run in a worker: the call's result, or the InputError it raised as a Refused."""
    try:
        return call(*args, **kwargs)
    except InputError as exc:
        return Refused(exc.problem, exc.file, exc.column, exc.fix)


def _executor() -> ProcessPoolExecutor | None:
    """The pool (its processes started on first use), or None when NSEXP_WORKERS is 0."""
    global _pool
    with _lock:
        if _pool is None and size() > 0:
            # forked from a fork server that imported this module once, not from the server
            # itself: forking a process with running threads (Polars', Streamlit's) is unsafe
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            pool = ProcessPoolExecutor(size(), mp_context=context)
            # Streamlit makes app.py the __main__ module, which a new process would run first:
            # every process starts now, with a __main__ of nothing (the pool starts one per task
            # while none is idle, so each of these tasks keeps its process busy a moment)
            server_main = sys.modules["__main__"]
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                started = [pool.submit(time.sleep, 0.5) for _ in range(size())]
            finally:
                sys.modules["__main__"] = server_main
            for task in started:
                task.result()
            _pool = pool
        return _pool


def _forget(pool: ProcessPoolExecutor) -> None:
    """A worker died (e.g. killed for memory): the next call starts a new pool."""
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def start() -> None:
    """Start the worker processes now (at server start-up: the first readout does not wait
    for them)."""
    _executor()


@contextmanager
def background() -> Iterator[None]:
    """Background work (a warm-up): waits until no visitor's call is running, then runs the
    block, whose calls visitors do not wait for (waiting here, before the block takes any cache
    entry's lock, so a visitor never waits on a warm-up that waits on visitors)."""
    with _idle:
        _idle.wait_for(lambda: _visitors == 0)
    _mode.background = True
    try:
        yield
    finally:
        _mode.background = False


def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)` in a worker process (a module-level function of nsexp or
    this module, its arguments and result picklable); in this process when NSEXP_WORKERS is 0
    or the pool broke. An InputError in the worker is raised here as it was. A call counts as a
    visitor's unless made in a `background` block."""
    global _visitors
    if getattr(_mode, "background", False):
        return _call(function, *args, **kwargs)
    with _idle:
        _visitors += 1
    try:
        return _call(function, *args, **kwargs)
    finally:
        with _idle:
            _visitors -= 1
            _idle.notify_all()


def _call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`call` itself, in the pool or here."""
    pool = _executor()
    if pool is None:
        return function(*args, **kwargs)
    try:
        found = pool.submit(_task, function, args, kwargs).result()
    except BrokenProcessPool:
        _forget(pool)
        return function(*args, **kwargs)
    if isinstance(found, Refused):
        raise InputError(found.problem, file=found.file, column=found.column, fix=found.fix)
    return found
