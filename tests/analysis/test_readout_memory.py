"""The app's cache rule holds: a readout with its learning keeps about 3 KB per experiment × arm ×
metric figure, so one at an upload's limit stays within the 150 MB docs/deployment.md states,
and the HEAVY_ENTRIES kept cannot pin gigabytes."""

from __future__ import annotations

import gc
import random
import tracemalloc
from pathlib import Path

from helpers import write_metrics

from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.io.limits import UPLOAD_LIMITS
from nsexp.learning.history import learned_readout
from pages.ui.loaders import HEAVY_ENTRIES

MB = 1_000_000


def portfolio(folder: Path, experiments: int, arms: int, metrics: list[str]) -> Path:
    """Summary rows of a portfolio: every experiment with `arms` arms and every metric."""
    write_metrics(
        folder,
        {
            m: {"role": "north_star" if i == 0 else "leading", "type": "mean"}
            for i, m in enumerate(metrics)
        },
    )
    rng = random.Random(experiments)
    rows = ["experiment,variant,metric,n,sum,sum_sq"]
    for e in range(experiments):
        for a in range(arms):
            for m in metrics:
                mean = 1 + rng.random() / 10
                arm = "control" if a == 0 else f"t{a}"
                rows.append(f"e{e},{arm},{m},1000,{mean * 1000},{(mean * mean + 1) * 1000}")
    (folder / "portfolio.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_a_readout_at_the_upload_limit_keeps_under_its_budget(tmp_path: Path) -> None:
    dataset = load_dataset(portfolio(tmp_path, 50, 10, ["lessons", "starts", "minutes"]))
    figures = dataset.totals.height
    assert figures == 50 * 10 * 3
    settings = Settings(alpha=0.1)
    gc.collect()
    tracemalloc.start()
    try:
        readout = learned_readout(dataset, settings)
        gc.collect()
        python_bytes = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    judged = readout.judgement
    frames = sum(f.estimated_size() for f in (judged.results, judged.verdicts, judged.within))
    per_figure = (python_bytes + frames) / figures
    assert 500 < per_figure < 3_750, per_figure  # measured 2.8 KB; tracemalloc sees the objects
    assert UPLOAD_LIMITS.arm_metrics is not None
    at_limit = per_figure * UPLOAD_LIMITS.arm_metrics
    assert at_limit < 150 * MB, at_limit
    assert at_limit * HEAVY_ENTRIES < 1_000 * MB
