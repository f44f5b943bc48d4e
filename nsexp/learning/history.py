"""What past experiments say about a metric, in one sentence a readout can quote.

A leaf module (no readout imports at import time), so nsexp.analysis.verdict can use it without a
cycle; the records are built by nsexp.learning.proxies.metric_history, and `readout_history` builds
them for a whole dataset (importing the readout only when called).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from nsexp.analysis.readout import Settings
    from nsexp.io import Dataset

LABEL_PHRASES: dict[str, str] = {
    "predictive": "by the record a predictive indicator",
    "weak": "by the record only a weak indicator",
    "vanity": "by the record it behaves as a vanity metric",
    "too_few": "too few experiments yet to judge it",
}


class MetricHistory(NamedTuple):
    """Which comparisons (experiment, variant) moved a metric, and where the North Star followed."""

    metric: str
    label: str
    moved: frozenset[tuple[str, str]]
    followed: frozenset[tuple[str, str]]


def history_reason(row: dict, history: MetricHistory) -> str:
    """'When page_views moved in other experiments, the North Star followed 2 of 9 times (...).'

    `row` is the metric's result row of the comparison being explained; that comparison is left
    out of the counts, so a readout never quotes itself as history.
    """
    key = (row["experiment"], row["variant"])
    moved = len(history.moved - {key})
    followed = len(history.followed - {key})
    phrase = LABEL_PHRASES.get(history.label, history.label)
    name = row.get("label") or history.metric
    if moved == 0:
        return (
            f"History: {name} has not moved significantly in any other experiment "
            f"on record ({phrase})."
        )
    times = "time" if moved == 1 else "times"
    return (
        f"History: when {name} moved in other experiments, the North Star followed "
        f"{followed} of {moved} {times} ({phrase})."
    )


def readout_history(dataset: Dataset, settings: Settings) -> dict[str, MetricHistory]:
    """Per-metric history over every experiment of the dataset, for readout reasons."""
    from nsexp.analysis.readout import build_readout
    from nsexp.learning.proxies import history_of  # these import this module: load them on call

    return history_of(build_readout(dataset, settings))
