"""Behaviour and every figure stay as they are through a refactor: today's readout JSON of the
demo and of ASOS, `nsexp tree data --format json`, `nsexp proxies data --format json` and the
North Star page's counts equal the frozen copies in tests/fixtures/frozen/ to 1e-12 (fields may
only be added)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from frozen import ASOS_CSV, FROZEN, differences, produce


@pytest.fixture(scope="module")
def produced(demo_copy: Path) -> dict[str, Any]:
    if not ASOS_CSV.is_file() and os.environ.get("CI"):
        pytest.fail(f"ASOS dataset not found at {ASOS_CSV}")
    return produce(demo_copy)


@pytest.mark.parametrize(
    "name",
    [
        "demo_readout.json",
        "demo_tree.json",
        "demo_proxies.json",
        "demo_north_star.json",
        "asos_readout.json",
    ],
)
def test_output_equals_its_frozen_copy(name: str, produced: dict[str, Any]) -> None:
    if name not in produced:
        pytest.skip(f"ASOS dataset not found at {ASOS_CSV}")
    frozen = json.loads((FROZEN / name).read_text())
    now = json.loads(json.dumps(produced[name]))
    found = differences(frozen, now)
    assert not found, f"{name} differs from its frozen copy in {len(found)} places:\n" + "\n".join(
        found[:20]
    )


def test_the_comparison_catches_a_changed_figure() -> None:
    frozen = {"a": [1.0, {"p": 0.05, "s": "flat"}]}
    assert differences(frozen, {"a": [1.0, {"p": 0.05, "s": "flat"}], "new": 1}) == []
    assert differences(frozen, {"a": [1.0 + 1e-9, {"p": 0.05, "s": "flat"}]}) == [
        "$.a[0]: 1.0 became 1.000000001"
    ]
    assert differences(frozen, {"a": [1.0, {"p": 0.05, "s": "win"}]}) == [
        "$.a[1].s: 'flat' became 'win'"
    ]
    assert differences(frozen, {"a": [1.0]})[0].startswith("$.a: list of 2")
    assert differences(frozen, {"a": [1.0, {"s": "flat"}]}) == ["$.a[1].p: missing"]
