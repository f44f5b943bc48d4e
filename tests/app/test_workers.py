"""The worker pool (pages.ui.workers): an analysis computed in a worker process is the one
computed in the server's own process, a bad input raised there reaches the page as the same
InputError (its file kept, so the page names it relative to the data directory), and the pool
size is read from NSEXP_WORKERS with one message for a bad value."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import Dataset, load_dataset
from nsexp.io.limits import Limits
from pages.ui import workers

DEMO = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A pool of two worker processes of its own, shut down at the end."""
    monkeypatch.setenv(workers.ENV, "2")
    monkeypatch.setattr(workers, "_pool", None)
    yield
    if workers._pool is not None:
        workers._pool.shutdown()


def test_a_worker_computes_the_analysis_of_this_process(pool: None) -> None:
    dataset = load_dataset(DEMO)
    settings = Settings(alpha=0.1, correction="bh", engine="bayesian")
    learning, readout = workers.call(workers.analyse, dataset, settings)
    assert workers._pool is not None  # it ran in the pool
    here_learning, here = workers.analyse(dataset, settings)
    assert_frame_equal(readout.results, here.results)
    assert_frame_equal(readout.judgement.verdicts, here.judgement.verdicts)
    assert readout.experiments == here.experiments
    assert_frame_equal(learning.priors, here_learning.priors)
    assert learning.evidence.edges == here_learning.evidence.edges


def test_an_input_error_in_a_worker_keeps_its_file(pool: None, tmp_path: Path) -> None:
    (tmp_path / "metrics.toml").write_text("[metrics.x]\nrole = 'north_star'\ntype = 'mean'\n")
    broken = tmp_path / "e.csv"
    broken.write_text("variant,y\ncontrol,1\n")
    with pytest.raises(InputError) as raised:
        workers.call(load_dataset, tmp_path, limits=Limits())
    with pytest.raises(InputError) as here:
        load_dataset(tmp_path, limits=Limits())
    assert workers._pool is not None
    assert (raised.value.problem, raised.value.file, raised.value.fix) == (
        here.value.problem,
        here.value.file,
        here.value.fix,
    )
    assert raised.value.file is not None


def test_the_pool_size_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workers.ENV, "0")
    assert workers.size() == 0
    assert workers.call(sum, [1, 2]) == 3  # no pool: in this process
    monkeypatch.setenv(workers.ENV, "two")
    with pytest.raises(InputError, match="NSEXP_WORKERS='two' is not a number of worker"):
        workers.size()
    monkeypatch.delenv(workers.ENV)
    assert 1 <= workers.size() <= workers.DEFAULT_WORKERS


def test_every_worker_starts_without_the_servers_main_script(
    pool: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streamlit makes app.py the __main__ module; a worker process started later would run it
    first and die (a broken pool). Every worker starts with the pool, so two readouts at once,
    asked while such a __main__ is in place, both run in the pool it started."""
    script = tmp_path / "app.py"
    script.write_text("raise SystemExit('a worker ran the main script')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    dataset = load_dataset(DEMO)
    workers.start()
    started = workers._pool
    with ThreadPoolExecutor(2) as threads:
        done = list(threads.map(lambda a: workers.call(pid_and_alpha, dataset, a), [0.1, 0.2]))
    assert workers._pool is started  # not broken and replaced
    assert {alpha for _, alpha in done} == {0.1, 0.2}
    assert len({pid for pid, _ in done} | {os.getpid()}) >= 2  # in a worker, not here


def pid_and_alpha(dataset: Dataset, alpha: float) -> tuple[int, float]:
    """Which process read the dataset out (slowly enough that both workers are busy)."""
    workers.analyse(dataset, Settings(alpha=alpha))
    return os.getpid(), alpha


def test_background_work_starts_after_the_visitors_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm-up (workers.background) waits until no visitor's call is running, so a visitor
    never queues behind more than the warm-up's tasks already started; its own calls do not
    hold a visitor or another warm-up back."""
    import threading
    import time

    monkeypatch.setenv(workers.ENV, "0")  # in this process: the order is what is checked
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def visiting() -> None:
        started.set()
        release.wait(10)

    def warming() -> None:
        with workers.background():
            workers.call(order.append, "warm")  # not counted: the next warm-up goes on

    visitor = threading.Thread(target=workers.call, args=(visiting,))
    visitor.start()
    started.wait(10)
    warm = [threading.Thread(target=warming) for _ in range(2)]
    for thread in warm:
        thread.start()
    time.sleep(0.2)  # room for a warm-up that would not wait
    order.append("visitor done")
    release.set()
    for thread in [visitor, *warm]:
        thread.join(10)
    assert order == ["visitor done", "warm", "warm"]
