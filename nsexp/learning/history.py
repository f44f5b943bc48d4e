"""What past experiments say about each comparison, as the records a readout's reasons quote.

A readout with history is two passes (`learned_readout`): judge every experiment, learn from its
valid comparisons (the tree's evidence, nsexp.learning.tree; the predictions,
nsexp.learning.predict), then read out with those records. The per-metric history records
count, for each metric, the comparisons that moved it and those where the North Star followed;
their label is the metric's North Star edge label, so a history line and the North Star page
say the same (nsexp.analysis.reasons.history_reason turns them into sentences, counting other
experiments only).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from nsexp.analysis.learned import Learned
from nsexp.analysis.readout import Judgement, Readout, build_readout, judge
from nsexp.analysis.reasons import MetricHistory
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.predict import learned_records, lift_priors
from nsexp.learning.tree import RESAMPLING, Resampling, TreeEvidence, tree_evidence


class Learning(NamedTuple):
    """Everything a second readout pass quotes: per-metric history, per-comparison records and
    per experiment and metric the Bayesian prior (nsexp.analysis.priors.PRIOR_SCHEMA)."""

    history: dict[str, MetricHistory]
    learned: dict[tuple[str, str], Learned]
    evidence: TreeEvidence
    priors: pl.DataFrame


def metric_history(frame: pl.DataFrame, table: pl.DataFrame) -> dict[str, MetricHistory]:
    """Per metric: which comparisons moved it and where the North Star followed (same sign,
    significant); `frame` one row per comparison (proxies.comparisons() columns), `table` one
    row of edge evidence per metric (label, corrected correlation and its interval)."""
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


def learn(readout: Judgement, *, resampling: Resampling = RESAMPLING) -> Learning:
    """History records, per-comparison records and the Bayesian priors from a judgement (a
    readout's is `readout.judgement`)."""
    evidence = tree_evidence(readout, resampling=resampling)
    return Learning(
        evidence_history(evidence),
        learned_records(readout, evidence),
        evidence,
        lift_priors(readout),
    )


def history_of(
    readout: Judgement, *, resampling: Resampling = RESAMPLING
) -> dict[str, MetricHistory]:
    """The per-metric history records of a judgement, for `build_readout(history=...)`."""
    return evidence_history(tree_evidence(readout, resampling=resampling))


def readout_learning(dataset: Dataset, settings: Settings) -> Learning:
    """What every experiment of the dataset teaches, for `build_readout(history=...,
    learned=...)`."""
    return learn(judge(dataset, settings))


def learned_readout(
    dataset: Dataset,
    settings: Settings,
    experiment: str | None = None,
    *,
    learning: Learning | None = None,
) -> Readout:
    """The readout (of every experiment, or one) with what past experiments say in its reasons
    and records: learn from every experiment of the dataset (unless `learning` is given,
    already learned under these settings), then read out with it. The CLI and the app call it."""
    learning = learning or readout_learning(dataset, settings)
    return build_readout(
        dataset,
        settings,
        experiment,
        history=learning.history,
        learned=learning.learned,
        priors=learning.priors,
    )


def readout_history(dataset: Dataset, settings: Settings) -> dict[str, MetricHistory]:
    """Per-metric history over every experiment of the dataset, for readout reasons."""
    return history_of(judge(dataset, settings))
