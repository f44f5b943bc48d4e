"""Behaviour and every figure stay as they are through a refactor: today's readout JSON of the
demo and of ASOS, `nsexp tree data --format json` and the North Star page's counts equal the
frozen copies in tests/fixtures/frozen/ to 1e-12 (fields may only be added)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from frozen import ASOS_CSV, FROZEN, produce


def differences(frozen: Any, now: Any, path: str = "$") -> list[str]:
    """Where `now` departs from `frozen`: numbers beyond 1e-12, other values unequal, keys lost
    (keys added in `now` are allowed: field names only grow)."""
    if isinstance(frozen, dict):
        if not isinstance(now, dict):
            return [f"{path}: was an object, now {type(now).__name__}"]
        out = []
        for key, value in frozen.items():
            if key not in now:
                out.append(f"{path}.{key}: missing")
            else:
                out += differences(value, now[key], f"{path}.{key}")
        return out
    if isinstance(frozen, list):
        if not isinstance(now, list) or len(now) != len(frozen):
            return [f"{path}: list of {len(frozen)} became {now!r:.80}"]
        return [
            d
            for i, (a, b) in enumerate(zip(frozen, now, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    if isinstance(frozen, float | int) and not isinstance(frozen, bool):
        if isinstance(now, bool) or not isinstance(now, float | int):
            return [f"{path}: {frozen!r} became {now!r}"]
        if not math.isclose(frozen, now, rel_tol=1e-12, abs_tol=1e-12):
            return [f"{path}: {frozen!r} became {now!r}"]
        return []
    return [] if frozen == now else [f"{path}: {frozen!r} became {now!r}"]


@pytest.fixture(scope="module")
def produced(demo_copy: Path) -> dict[str, Any]:
    if not ASOS_CSV.is_file() and os.environ.get("CI"):
        pytest.fail(f"ASOS dataset not found at {ASOS_CSV}")
    return produce(demo_copy)


@pytest.mark.parametrize(
    "name", ["demo_readout.json", "demo_tree.json", "demo_north_star.json", "asos_readout.json"]
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
