"""The review's sections as tables for the Review page (and the North Star page's targets):
people's words and formatted figures, one frame per section, a readout link per comparison."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.decision import DECISION_LABELS
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.learning.targets import TargetProgress
from nsexp.report.review import Comparison, Review

Link = Callable[[Comparison], str] | None
NO_OWNER = "(no owner)"


def _frame(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> pl.DataFrame:
    """Rows as a frame of text columns in this order (an empty frame keeps its columns)."""
    return pl.DataFrame(
        [[str(r[c]) if r[c] is not None else None for c in columns] for r in rows],
        schema={c: pl.String for c in columns},
        orient="row",
    )


def targets_table(targets: Sequence[TargetProgress]) -> pl.DataFrame:
    """Per target, grouped by the metric's owner team: the target and its dates, what shipped
    comparisons delivered (compounded, with its interval), the share of the target, and for the
    North Star what running experiments are predicted to add."""
    rows = [
        {
            "Team": p.metric.owner or NO_OWNER,
            "Metric": p.metric.label,
            "Target": fmt.pct(p.target, 1),
            "From": p.target_from.isoformat(),
            "By": p.target_by.isoformat(),
            "Delivered": fmt.pct(p.delivered.combined, 1),
            "Delivered interval": fmt.pct_ci(p.delivered.low, p.delivered.high),
            "Of target": fmt.pct(p.share, 0, signed=False),
            "Shipped": f"{p.delivered.count} ({p.recorded} recorded)",
            "Predicted to add": (
                f"{fmt.pct(p.predicted.combined, 1)} "
                f"{fmt.pct_ci(p.predicted.low, p.predicted.high)} ({p.predicted.count} running)"
                if p.predicted is not None
                else "—"
            ),
        }
        for p in sorted(targets, key=lambda p: p.metric.owner or NO_OWNER)
    ]
    columns = (
        "Team",
        "Metric",
        "Target",
        "Delivered",
        "Delivered interval",
        "Of target",
        "Predicted to add",
        "Shipped",
        "From",
        "By",
    )
    return _frame(rows, columns)


def _row(c: Comparison, link: Link) -> dict[str, object]:
    """The columns every comparison table starts with, and its readout link."""
    return {
        "Experiment": c.name,
        "Treatment": c.variant,
        "Verdict": VERDICT_LABELS.get(c.verdict, c.verdict),
        "Recommended": DECISION_LABELS[c.decision],
        "Readout": link(c) if link else None,
    }


def due_table(review: Review, link: Link) -> pl.DataFrame:
    """Decisions due, worst first, with the sentence of each recommendation."""
    rows = [{**_row(c, link), "Why": c.reason} for c in review.decisions_due]
    return _frame(rows, ("Experiment", "Treatment", "Recommended", "Verdict", "Readout", "Why"))


def changed_table(review: Review, link: Link) -> pl.DataFrame:
    """Comparisons whose verdict or recommendation changed since `since`."""
    rows = [
        {
            **_row(ch.now, link),
            "Before": f"{VERDICT_LABELS.get(ch.before.verdict, ch.before.verdict)} / "
            f"{DECISION_LABELS[ch.before.decision]}",
            "Now": f"{VERDICT_LABELS.get(ch.now.verdict, ch.now.verdict)} / "
            f"{DECISION_LABELS[ch.now.decision]}",
        }
        for ch in review.changed
    ]
    return _frame(rows, ("Experiment", "Treatment", "Before", "Now", "Readout"))


def running_table(review: Review, link: Link) -> pl.DataFrame:
    """Comparisons still reading, with the days left to read the North Star."""
    rows = [
        {
            **_row(c, link),
            "Days left": fmt.count(c.days_left) if c.days_left is not None else "—",
        }
        for c in review.running
    ]
    return _frame(rows, ("Experiment", "Treatment", "Verdict", "Days left", "Readout"))


def decided_table(review: Review, link: Link) -> pl.DataFrame:
    """Decisions recorded since `since` or against today's recommendation."""
    rows = [
        {
            **_row(d.comparison, link),
            "Decided": DECISION_LABELS[d.value],
            "By": d.by,
            "On": d.at[:10],
            "Differs": "differs from the recommendation" if d.differs else "",
        }
        for d in review.decided
    ]
    columns = ("Experiment", "Treatment", "Decided", "Recommended", "Differs", "By", "On")
    return _frame(rows, (*columns, "Readout"))


def learned_table(review: Review) -> pl.DataFrame:
    """Tree edges whose label changed: child → parent, before, now, comparisons."""
    rows = [
        {
            "Edge": f"{e.child_label} → {e.parent_label}",
            "Before": e.before.replace("_", " "),
            "Now": e.now.replace("_", " "),
            "Comparisons": f"{e.n_before} → {e.n_now}",
        }
        for e in review.learned
    ]
    return _frame(rows, ("Edge", "Before", "Now", "Comparisons"))
