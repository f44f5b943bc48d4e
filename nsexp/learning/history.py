"""What past experiments say about each metric, as the records a readout's reasons quote.

A readout with history is two passes: read out every experiment, learn from its valid
comparisons which metrics moved and where the North Star followed, then read out again with
those records (nsexp.analysis.reasons.history_reason turns them into sentences).
"""

from __future__ import annotations

import polars as pl

from nsexp.analysis.readout import Judgement, Readout, judge
from nsexp.analysis.reasons import MetricHistory
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.proxies import N_BOOT, SEED, comparisons, proxy_quality


def metric_history(frame: pl.DataFrame, table: pl.DataFrame) -> dict[str, MetricHistory]:
    """Per metric: which comparisons moved it and where the North Star followed (same sign,
    significant); `frame` from comparisons(), `table` from proxy_quality."""
    records = {r["metric"]: r for r in table.iter_rows(named=True)} if table.height else {}
    moved = frame.filter(pl.col("significant").fill_null(False))
    followed = moved.filter(
        pl.col("ns_significant").fill_null(False)
        & (pl.col("effect").sign() == pl.col("ns_effect").sign())
    )
    out = {}
    for metric, r in records.items():
        keys = [
            set(f.filter(pl.col("metric") == metric).select("experiment", "variant").iter_rows())
            for f in (moved, followed)
        ]
        out[metric] = MetricHistory(
            metric,
            r["label"],
            frozenset(keys[0]),
            frozenset(keys[1]),
            correlation=r.get("corrected_correlation"),
            correlation_low=r.get("correlation_ci_low"),
            correlation_high=r.get("correlation_ci_high"),
            comparisons=r.get("n_comparisons", 0),
        )
    return out


def history_of(
    readout: Readout | Judgement, *, n_boot: int = N_BOOT, seed: int = SEED
) -> dict[str, MetricHistory]:
    """The per-metric history records of a (full) readout, for `build_readout(history=...)`."""
    frame = comparisons(readout)
    return metric_history(frame, proxy_quality(frame, n_boot=n_boot, seed=seed))


def readout_history(dataset: Dataset, settings: Settings) -> dict[str, MetricHistory]:
    """Per-metric history over every experiment of the dataset, for readout reasons."""
    return history_of(judge(dataset, settings))
