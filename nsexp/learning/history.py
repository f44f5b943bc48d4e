"""What past experiments say about each comparison, as the records a readout's reasons quote.

A readout with history is two passes (`learned_readout`): judge every experiment, learn from
its valid comparisons (the tree's evidence, nsexp.learning.tree; the predictions,
nsexp.learning.predict), then read out with those records, recomputing from that one judgement
only what the learned priors and validated inputs change (nsexp.analysis.readout.rejudge). A
metric's history record is its edge to the North Star (the tree's Edge record, so a history line
and the North Star page say the same) with the comparisons that moved it and those where the
North Star followed, as the tree counts them (nsexp.analysis.reasons.history_reason turns them
into sentences, counting other experiments only).
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
from nsexp.learning.tree import (
    RESAMPLING,
    Resampling,
    TreeEvidence,
    tree_evidence,
    valid_results,
)


class Learning(NamedTuple):
    """Everything a second readout pass quotes: per-metric history, per-comparison records and
    per experiment and metric the Bayesian prior (nsexp.analysis.priors.PRIOR_SCHEMA); with
    the judgement learned from and its dataset, which the readout of that same dataset starts
    from instead of judging it again (nsexp.analysis.readout.rejudge)."""

    history: dict[str, MetricHistory]
    learned: dict[tuple[str, str], Learned]
    evidence: TreeEvidence
    priors: pl.DataFrame
    judgement: Judgement | None = None
    dataset: Dataset | None = None


def metric_history(evidence: TreeEvidence) -> dict[str, MetricHistory]:
    """Every metric's history record: its edge to the North Star and the comparisons
    (experiment, variant) where it moved and where the North Star followed."""
    north = evidence.north_star_edges()
    keys = north.comparisons.select("experiment", "variant", "child", "moved", "followed")
    moved: dict[str, set[tuple[str, str]]] = {}
    followed: dict[str, set[tuple[str, str]]] = {}
    for e, v, child, m, f in keys.filter(pl.col("moved") | pl.col("followed")).iter_rows():
        for flag, found in ((m, moved), (f, followed)):
            if flag:
                found.setdefault(child, set()).add((e, v))
    return {
        edge.child: MetricHistory(
            edge,
            frozenset(moved.get(edge.child, ())),
            frozenset(followed.get(edge.child, ())),
        )
        for edge in north.edges
    }


def learn(readout: Judgement, *, resampling: Resampling = RESAMPLING) -> Learning:
    """History records, per-comparison records and the Bayesian priors from a judgement (a
    readout's is `readout.judgement`), over its valid comparisons found once."""
    valid = valid_results(readout)
    evidence = tree_evidence(readout, resampling=resampling, valid=valid)
    return Learning(
        metric_history(evidence),
        learned_records(readout, evidence, valid),
        evidence,
        lift_priors(readout, valid),
    )


def readout_learning(dataset: Dataset, settings: Settings) -> Learning:
    """What every experiment of the dataset teaches, for `build_readout(history=...,
    learned=...)`, with the judgement it was learned from."""
    judged = judge(dataset, settings)
    return learn(judged)._replace(judgement=judged, dataset=dataset)


def learned_readout(
    dataset: Dataset,
    settings: Settings,
    experiment: str | None = None,
    *,
    learning: Learning | None = None,
    timelines: bool = True,
) -> Readout:
    """The readout (of every experiment, or one) with what past experiments say in its reasons
    and records: learn from every experiment of the dataset (unless `learning` is given,
    already learned under these settings), then read out with it, from the judgement learned
    from where that was this dataset's (so it is judged once). The CLI and the app call it;
    `timelines` as for build_readout."""
    learning = learning or readout_learning(dataset, settings)
    return build_readout(
        dataset,
        settings,
        experiment,
        history=learning.history,
        learned=learning.learned,
        priors=learning.priors,
        edges=learning.evidence.edges,
        base=learning.judgement if learning.dataset is dataset else None,
        timelines=timelines,
    )
