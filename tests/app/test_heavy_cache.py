"""The app's heavy cache (pages.ui.loaders): a readout with its learning is computed once per data
version and settings for every session, a settings change recomputes the analysis but not the
data read, and the settings of a portfolio the demo's size stay cached together, while uploads
at the arm-metric limit are kept no more than before (counted, not timed)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
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
    loaders.refresh()
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


def test_the_budget_keeps_as_many_uploads_at_the_limit_as_before() -> None:
    """At an upload's arm-metric limit only HEAVY_ENTRIES readouts fit (about 4 × 150 MB,
    docs/deployment.md), while the demo's 24 settings (1,032 figures each) all do."""
    assert loaders.UPLOAD_LIMITS.arm_metrics is not None
    ledger = loaders.Ledger(loaders.HEAVY_FIGURES, loaders.MOST_ANALYSES, loaders.HEAVY_ENTRIES)
    for i in range(10):
        ledger.add(key(i), loaders.UPLOAD_LIMITS.arm_metrics)
    assert len(ledger) == loaders.HEAVY_ENTRIES
    ledger.clear()
    for i in range(24):
        ledger.add(key(i), 1_032)
    assert len(ledger) == 24


def test_the_warm_up_reads_the_default_readout_out_before_any_visit(
    open_app: AppOpener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve.py's start-up work: after it, the first deep link at the default settings computes
    nothing and reads no data."""
    import serve

    data = copy_demo(tmp_path / "data")
    monkeypatch.setenv("NSEXP_DATA_DIR", str(data))
    loaders.refresh()
    counts: Counter[str] = Counter()
    counting(monkeypatch, counts, loaders, "load_dataset")
    counting(monkeypatch, counts, workers, "readout_learning")
    serve.warm_up()
    assert counts == {"load_dataset": 1, "readout_learning": 1}
    at = open_app(PAGE, {"experiment": "push_reminders"}, data)
    assert not at.exception
    assert at.title[0].value == "Practice reminder frequency"
    assert counts == {"load_dataset": 1, "readout_learning": 1}
