"""The app's heavy cache (pages.ui.loaders): a readout with its learning is computed once per data
version and settings for every session, a settings change recomputes the analysis but not the
data read, and the settings of a portfolio the demo's size stay cached together, while uploads
at the arm-metric limit are kept no more than before (counted, not timed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from helpers import AppOpener, copy_demo

from nsexp.analysis.settings import Settings
from pages.ui import loaders, workers
from pages.ui.frame import DataContext

PAGE = "pages/readout.py"
# more settings than the four readouts the cache kept before it weighed them
SETTINGS = [
    {"alpha": alpha, "correction": correction}
    for alpha in ("0.05", "0.1", "0.01")
    for correction in ("holm", "bh")
]


def fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cache of this process empty and a new heavy-cache ledger: a test counts from zero."""
    st.cache_data.clear()
    st.cache_resource.clear()
    ledger = loaders.Ledger(loaders.HEAVY_FIGURES, loaders.MOST_ANALYSES, loaders.HEAVY_ENTRIES)
    monkeypatch.setattr(loaders, "_ledger", ledger)


def counting(monkeypatch: pytest.MonkeyPatch, counts: Counter[str], module: Any, name: str) -> None:
    """Count the calls of one of the nsexp functions the loaders (or workers) call."""
    real = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_a_settings_change_reads_the_data_once_and_keeps_every_readout(
    open_app: AppOpener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = copy_demo(tmp_path / "data")
    fresh_caches(monkeypatch)
    counts: Counter[str] = Counter()
    counting(monkeypatch, counts, loaders, "load_dataset")
    for name in ("readout_learning", "learned_readout"):  # in this process: NSEXP_WORKERS=0
        counting(monkeypatch, counts, workers, name)
    for query in SETTINGS:
        at = open_app(PAGE, {"experiment": "push_reminders", **query}, data)
        assert not at.exception
        assert at.title[0].value == "Practice reminder frequency"
    n = len(SETTINGS)
    assert counts == {"load_dataset": 1, "readout_learning": n, "learned_readout": n}
    # every experiment under every settings again: all cached, nothing computed or read
    for query in SETTINGS:
        for experiment in ("dark_mode", "push_reminders"):
            at = open_app(PAGE, {"experiment": experiment, **query}, data)
            assert not at.exception and at.title
    assert counts == {"load_dataset": 1, "readout_learning": n, "learned_readout": n}


def key(i: int) -> tuple[DataContext, Settings]:
    """A distinct cache key (its settings' α)."""
    return DataContext(Path("/d"), None, Path("/d"), ()), Settings(alpha=0.01 * (i + 1))


def test_the_ledger_drops_the_least_recently_used_past_its_budget() -> None:
    ledger = loaders.Ledger(budget=100, most=5, least=2)
    assert [ledger.add(key(i), 30) for i in range(3)] == [[], [], []]
    ledger.touch(key(0))  # now key(1) is the least recently used
    assert ledger.add(key(3), 30) == [key(1)]  # 120 > 100: drop one
    assert len(ledger) == 3
    # the two most recent stay whatever they weigh (an operator's data has no limit)
    assert ledger.add(key(4), 500) == [key(2), key(0)]
    assert ledger.add(key(5), 500) == [key(3)]
    assert len(ledger) == 2
    for i in range(6, 12):  # light ones: at most `most` of them
        ledger.add(key(i), 1)
    assert len(ledger) == 5


def test_the_ledger_drops_one_datas_entries() -> None:
    """A Refresh of one workspace forgets its entries and keeps the others' in their order."""
    ledger = loaders.Ledger(budget=1000, most=10, least=2)
    other = DataContext(Path("/e"), "e", Path("/e"), ())
    keys = [key(0), (other, Settings()), key(1), (other, Settings(alpha=0.1))]
    for k in keys:
        ledger.add(k, 1)
    assert ledger.drop(key(0)[0]) == [key(0), key(1)]
    assert len(ledger) == 2
    assert ledger.add(key(2), 2000) == [keys[1]]  # the other's, least recently used, go first


def test_the_budget_keeps_as_many_uploads_at_the_limit_as_before() -> None:
    """At an upload's arm-metric limit only HEAVY_ENTRIES readouts fit (about 4 × 150 MB,
    docs/deployment.md), while the demo's 24 settings (1,032 figures each) all do."""
    assert loaders.UPLOAD_LIMITS.arm_metrics is not None
    ledger = loaders.Ledger(loaders.HEAVY_FIGURES, loaders.MOST_ANALYSES, loaders.HEAVY_ENTRIES)
    for i in range(10):
        ledger.add(key(i), loaders.UPLOAD_LIMITS.arm_metrics)
    assert len(ledger) == loaders.HEAVY_ENTRIES
    ledger = loaders.Ledger(loaders.HEAVY_FIGURES, loaders.MOST_ANALYSES, loaders.HEAVY_ENTRIES)
    for i in range(24):
        ledger.add(key(i), 1_032)
    assert len(ledger) == 24


def test_the_warm_up_reads_the_default_readout_out_first_then_the_nearby_settings(
    open_app: AppOpener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve.py's start-up work, before the server answers: the default readout, then the
    nearby settings (counted here, read out in the next test); after it, the first deep link
    at the default settings computes nothing and reads no data."""
    import serve

    data = copy_demo(tmp_path / "data")
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    fresh_caches(monkeypatch)
    counts: Counter[str] = Counter()
    counting(monkeypatch, counts, loaders, "load_dataset")
    counting(monkeypatch, counts, workers, "readout_learning")
    nearby: list[int] = []  # the readouts made when the nearby warm-up began
    monkeypatch.setattr(loaders, "warm_nearby", lambda: nearby.append(counts["readout_learning"]))
    serve.warm_up()
    assert counts == {"load_dataset": 1, "readout_learning": 1}
    assert nearby == [1]
    at = open_app(PAGE, {"experiment": "push_reminders"}, data)
    assert not at.exception
    assert at.title[0].value == "Practice reminder frequency"
    assert counts == {"load_dataset": 1, "readout_learning": 1}


def test_the_nearby_settings_are_the_sidebars_choices_one_method_at_a_time() -> None:
    found = loaders.nearby()
    assert len(found) == len(set(found)) == 3 * 3 * 4 - 1  # α × correction × methods, no default
    assert Settings() not in found
    assert {s.alpha for s in found} == {0.01, 0.05, 0.1}
    assert {(s.engine, s.sequential, s.cuped) for s in found} == {
        ("frequentist", False, None),
        ("bayesian", False, None),
        ("frequentist", True, None),
        ("frequentist", False, False),
    }
    changes = [len(s.to_query()) for s in found]
    assert changes == sorted(changes) and changes[0] == 1  # one click away first


def test_the_nearby_warm_up_reads_each_setting_out_once_after_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve.py's start-up work after the default: every nearby setting read out once (the
    default, already warm, not again), so a first visit to one of them computes nothing."""
    monkeypatch.setenv("NSEXP_DATA_DIR", str(copy_demo(tmp_path / "data")))
    fresh_caches(monkeypatch)
    loaders.warm_up()
    default = loaders._analysis(loaders._root(), Settings())
    seen: list[Settings] = []

    def analyse(_dataset: Any, settings: Settings) -> loaders.Analysis:
        seen.append(settings)  # counted, not computed: the readouts themselves are not at issue
        return default

    monkeypatch.setattr(workers, "analyse", analyse)
    loaders.warm_nearby()
    assert sorted(map(repr, seen)) == sorted(map(repr, loaders.nearby()))
    for settings in [Settings(), *loaders.nearby()]:
        loaders._analysis(loaders._root(), settings)
    assert len(seen) == len(loaders.nearby())


def test_the_nearby_warm_up_never_drops_an_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A portfolio whose nearby readouts would not all fit the heavy cache is not warmed."""
    monkeypatch.setenv("NSEXP_DATA_DIR", str(copy_demo(tmp_path / "data")))
    fresh_caches(monkeypatch)
    counts: Counter[str] = Counter()
    counting(monkeypatch, counts, workers, "analyse")
    weight = loaders._dataset(loaders._root()).totals.height
    budget = len(loaders.nearby()) * weight  # the nearby ones fit, not with the default
    monkeypatch.setattr(loaders, "_ledger", loaders.Ledger(budget, 64, 4))
    loaders.warm_nearby()
    assert counts == {}


def test_the_warm_up_threads_log_no_missing_context_warning() -> None:
    """Streamlit warns that a thread has no script run when a cached call shows its spinner
    there; the warm-up threads have none on purpose, so serve.py drops that warning from them,
    and only from them."""
    import logging
    import threading

    import streamlit as st

    import serve

    @st.cache_resource(show_spinner="Reading…")
    def cached(name: str) -> str:
        return name

    records: list[logging.LogRecord] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler, dropped = logging.getLogger(serve.CONTEXT_LOG), Kept(), serve.NoSession()
    logger.addHandler(handler)
    logger.addFilter(dropped)
    try:
        for name in (serve.THREAD, f"{serve.THREAD}-0", "someone-else"):
            thread = threading.Thread(target=cached, args=(name,), name=name)
            thread.start()
            thread.join()
    finally:
        logger.removeFilter(dropped)
        logger.removeHandler(handler)
    warned = [r.getMessage() for r in records if "missing ScriptRunContext" in r.getMessage()]
    assert [m.split(":")[0] for m in warned] == ["Thread 'someone-else'"]


def test_a_refresh_reads_its_own_data_again_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refresh on one workspace's Data page: that data is read and read out again on its next
    run; another workspace's read data and readouts stay cached (a shared server)."""
    fresh_caches(monkeypatch)
    counts: Counter[str] = Counter()
    counting(monkeypatch, counts, loaders, "load_dataset")
    counting(monkeypatch, counts, workers, "readout_learning")
    roots = [copy_demo(tmp_path / name) for name in ("a", "b")]
    a, b = (DataContext.of(root, None, root) for root in roots)
    for _ in range(2):
        for data in (a, b):
            loaders._analysis(data, Settings())
    assert counts == {"load_dataset": 2, "readout_learning": 2}
    loaders.refresh(a)
    again = DataContext.of(roots[0], None, roots[0])
    assert again != a and DataContext.of(roots[1], None, roots[1]) == b
    for data in (again, b):
        loaders._analysis(data, Settings())
    assert counts == {"load_dataset": 3, "readout_learning": 3}
