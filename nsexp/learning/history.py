"""What past experiments say about each comparison, as the records a readout's reasons quote.

A readout with history is two passes: read out every experiment, learn from its valid
comparisons (the tree's evidence, nsexp.learning.tree; the predictions, nsexp.learning.predict),
then read out again with those records. The per-metric history records count, for each metric,
the comparisons that moved it and those where the North Star followed; their label is the
metric's North Star edge label, so a history line and the North Star page say the same
(nsexp.analysis.reasons.history_reason turns them into sentences, counting other experiments
only).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from nsexp.analysis.learned import Learned
from nsexp.analysis.readout import Readout, build_readout
from nsexp.analysis.reasons import MetricHistory
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.predict import learned_records
from nsexp.learning.proxies import N_BOOT, SEED
from nsexp.learning.tree import TreeEvidence, tree_evidence


class Learning(NamedTuple):
    """Everything a second readout pass quotes: per-metric history and per-comparison records."""

    history: dict[str, MetricHistory]
    learned: dict[tuple[str, str], Learned]
    evidence: TreeEvidence


def metric_history(frame: pl.DataFrame, table: pl.DataFrame) -> dict[str, MetricHistory]:
    """Per metric: which comparisons moved it and where the North Star followed (same sign,
    significant); `frame` from proxies.comparisons(), `table` one label per metric."""
    labels = dict(table.select("metric", "label").iter_rows()) if table.height else {}
    moved = frame.filter(pl.col("significant").fill_null(False))
    followed = moved.filter(
        pl.col("ns_significant").fill_null(False)
        & (pl.col("effect").sign() == pl.col("ns_effect").sign())
    )
    out = {}
    for metric, label in labels.items():
        keys = [
            set(f.filter(pl.col("metric") == metric).select("experiment", "variant").iter_rows())
            for f in (moved, followed)
        ]
        out[metric] = MetricHistory(metric, label, frozenset(keys[0]), frozenset(keys[1]))
    return out


def evidence_history(evidence: TreeEvidence) -> dict[str, MetricHistory]:
    """The history records of every metric from its edge to the North Star."""
    ns = evidence.catalog.north_star.id
    if evidence.edges.height == 0:
        return {}
    edges = evidence.edges.filter(pl.col("parent") == ns)
    frame = evidence.comparisons.filter(pl.col("parent") == ns).rename(
        {
            "child": "metric",
            "parent_effect": "ns_effect",
            "parent_significant": "ns_significant",
        }
    )
    return metric_history(frame, edges.rename({"child": "metric"}))


def learn(readout: Readout, *, n_boot: int = N_BOOT, seed: int = SEED) -> Learning:
    """History records and per-comparison records from a (full) readout."""
    evidence = tree_evidence(readout, n_boot=n_boot, seed=seed)
    return Learning(evidence_history(evidence), learned_records(readout, evidence), evidence)


def history_of(
    readout: Readout, *, n_boot: int = N_BOOT, seed: int = SEED
) -> dict[str, MetricHistory]:
    """The per-metric history records of a (full) readout, for `build_readout(history=...)`."""
    return evidence_history(tree_evidence(readout, n_boot=n_boot, seed=seed))


def readout_learning(dataset: Dataset, settings: Settings) -> Learning:
    """What every experiment of the dataset teaches, for `build_readout(history=...,
    learned=...)`."""
    return learn(build_readout(dataset, settings))


def readout_history(dataset: Dataset, settings: Settings) -> dict[str, MetricHistory]:
    """Per-metric history over every experiment of the dataset, for readout reasons."""
    return history_of(build_readout(dataset, settings))
