"""The frozen copies that guard a refactor: what the demo, ASOS and the North Star page produce.

`python -m frozen` (from tests/, or `python tests/frozen.py`) writes them to
tests/fixtures/frozen/; tests/test_frozen.py compares today's output with them. An issue that
changes figures on purpose regenerates them and its commit shows the reviewed diff.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import orjson

from nsexp.analysis.settings import Settings
from nsexp.cli import main

REPO = Path(__file__).resolve().parents[1]
FROZEN = REPO / "tests/fixtures/frozen"
ASOS_CSV = REPO.parent / "shared/data/asos/asos_digital_experiments_dataset.csv"
ASOS_CATALOG = REPO / "tests/fixtures/asos/metrics.toml"


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


def cli_json(*args: str | Path) -> Any:
    """`nsexp ARGS --format json` run in-process, parsed."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*map(str, args), "--format", "json"])
    assert code == 0, f"nsexp {' '.join(map(str, args))} exited {code}"
    return json.loads(out.getvalue())


def north_star_counts(data: Path) -> dict[str, Any]:
    """The North Star page's counts: the scoreboard, the health line and each metric's movement."""
    from nsexp.io import load_dataset
    from nsexp.learning.history import learned_readout
    from nsexp.learning.proxies import cumulative_impact
    from nsexp.report.movement import metric_movement
    from nsexp.report.scoreboard import health_line, scoreboard_frame

    dataset = load_dataset(data)
    settings = Settings()
    readout = learned_readout(dataset, settings)
    movement = metric_movement(readout)
    impact = cumulative_impact(readout.judgement)
    return {
        "scoreboard": scoreboard_frame(readout, impact).to_dicts(),
        "health": health_line(readout, movement, impact),
        "movement": movement.to_dicts(),
        "experiments": len(readout.experiments),
    }


def produce(data: Path) -> dict[str, Any]:
    """Every frozen document, by file name (ASOS only where the shared data is present)."""
    docs = {
        "demo_readout.json": cli_json("readout", data),
        "demo_tree.json": cli_json("tree", data),
        "demo_proxies.json": cli_json("proxies", data),
        "demo_north_star.json": north_star_counts(data),
    }
    if ASOS_CSV.is_file():
        docs["asos_readout.json"] = cli_json("readout", ASOS_CSV, "--metrics", ASOS_CATALOG)
    return docs


if __name__ == "__main__":
    FROZEN.mkdir(parents=True, exist_ok=True)
    for name, doc in produce(REPO / "data").items():
        (FROZEN / name).write_bytes(
            orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        print("wrote", FROZEN / name)
