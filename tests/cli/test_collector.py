"""The CLI's pauses of the cyclic garbage collector (nsexp.cli.collector): restored after the
block, however it ends, and imports frozen out of its walks only when they loaded a module; and
its one BLAS thread (nsexp.BLAS_THREADS)."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from nsexp.cli.collector import collector_paused, importing
from nsexp.cli.main import main


@pytest.fixture
def collector_state():
    """The collector on, unfrozen, as each test found it afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    gc.unfreeze()
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_restored_after(collector_state) -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_stays_off_when_the_caller_turned_it_off(collector_state) -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_imports_frozen_only_when_they_load_a_module(
    collector_state, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gc.unfreeze()
    with importing():
        import json  # noqa: F401  (loaded long ago: nothing new)
    assert gc.get_freeze_count() == 0
    (tmp_path / "nsexp_collector_probe.py").write_text("VALUE = [1, 2, 3]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "nsexp_collector_probe", raising=False)
    with importing():
        assert not gc.isenabled()
        import nsexp_collector_probe  # noqa: F401
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("3", "3")])
def test_blas_runs_one_thread_unless_the_user_chose(
    given: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # set before numpy loads in a fresh `nsexp` process (OpenBLAS reads it once, at load);
    # a count the user's environment gives is kept
    if given is None:
        monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", given)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["OPENBLAS_NUM_THREADS"] == expected
