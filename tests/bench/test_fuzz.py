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


def test_the_load_links_and_the_profile_summary(tmp_path) -> None:
    from helpers import DEMO_DATA

    from bench._stacks import summary
    from bench.load import links

    distinct, repeated = links(DEMO_DATA)
    # 14 experiments x 24 settings, none twice; each experiment under every setting
    assert len({link.query for link in distinct}) == len(distinct) == 14 * 24
    assert len({link.query for link in repeated}) == 14
    for link in repeated:
        assert sum(d.query.startswith(link.query + "&") for d in distinct) == 24
    stacks = tmp_path / "x.stacks"
    stacks.write_text(
        "run (app.py:3);forest_plot (nsexp/report/charts.py:9) 3\n"
        "run (app.py:3);to_dict (site-packages/altair/api.py:1) 1\n"
    )
    text = "\n".join(summary(stacks))
    assert "| `app.py` | `run` | 100% |" in text and "`forest_plot` | 75% |" in text
