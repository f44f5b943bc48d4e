"""The loader fuzz (bench/_fuzz.py) itself works, on a few dozen seeded examples; `make bench`
runs thousands (bench/fuzz.py, docs/benchmarks.md)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")


def test_a_short_fuzz_run_finds_only_exit_codes_0_and_2() -> None:
    from bench._fuzz import run_fuzz

    tally = run_fuzz(40)
    assert tally.examples == 40
    assert set(tally.codes) <= {0, 2}, tally.failures[:1]
    assert not tally.failures, tally.failures[0]


@pytest.mark.slow
def test_the_long_fuzz_run() -> None:
    from bench._fuzz import run_fuzz

    tally = run_fuzz(1500)
    assert set(tally.codes) <= {0, 2} and not tally.failures, tally.failures[:1]
