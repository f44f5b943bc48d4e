"""A small, thread-safe, bounded memo for the chart builders: one readout is drawn for every
person who opens its link, and rebuilding the same Altair chart on every rerun was about a
quarter of the server's CPU under twenty concurrent readouts (bench/load.py). Builders are pure
(equal inputs give equal charts, which nobody mutates: Streamlit's conversion copies), so the
chart is built once per distinct input and shared by every session of the process.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
MAX_ENTRIES = 256  # charts of a few kB each: a portfolio's readouts under a few settings


def memo(
    key: Callable[P, Hashable], size: int = MAX_ENTRIES
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Memoise a pure builder on `key(*args, **kwargs)`, keeping the `size` most recent."""

    def wrap(build: Callable[P, T]) -> Callable[P, T]:
        kept: OrderedDict[Hashable, T] = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(build)
        def cached(*args: P.args, **kwargs: P.kwargs) -> T:
            k = key(*args, **kwargs)
            with lock:
                if k in kept:
                    kept.move_to_end(k)
                    return kept[k]
            value = build(*args, **kwargs)  # outside the lock: builders run in parallel
            with lock:
                kept[k] = value
                while len(kept) > size:
                    kept.popitem(last=False)
            return value

        cached.cache_clear = kept.clear  # type: ignore[attr-defined]
        return cached

    return wrap
