"""The North Star tree with its evidence for people and machines: JSON, a terminal table and
Markdown (`nsexp tree`), and the sentences the North Star page shares.

An edge's JSON is its Edge record's fields (nsexp.analysis.learned), a contract that only grows:
child, parent, n_comparisons, n_moved, parent_followed, corrected_correlation,
correlation_ci_low, correlation_ci_high, slope, slope_ci_low, slope_ci_high, label,
within_covariance and the rest, with the names and roles from the catalog beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import finite
from nsexp.config.catalog import ROLE_LABELS, Catalog
from nsexp.learning.tree import (
    MIN_COMPARISONS,
    PREDICTIVE_CORRELATION,
    VANITY_MAX_CORRELATION,
    VANITY_MAX_FOLLOWED,
    VANITY_MIN_MOVED,
    Edge,
    TreeEvidence,
    label_meaning,
)
from nsexp.report.json import SCHEMA_VERSION
from nsexp.report.text import aligned, markdown_table

PLAIN = (
    "The North Star tree: each input metric sits under the metric it should drive. An edge "
    "earns its place only if experiments that move the input also move its parent; the "
    "evidence below removes the part of that agreement that is only measurement noise."
)
HEADERS = (
    "Edge",
    "Input",
    "Owner",
    "Label",
    "Compared",
    "Moved",
    "Parent followed",
    "Corrected r",
    "Slope",
    "Noise cov.",
)


def signed(x: float | None, digits: int = 2) -> str:
    """'+0.81', '−0.30' (a real minus), '—' when missing."""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:+.{digits}f}".replace("-", fmt.MINUS)


def interval(low: float | None, high: float | None) -> str:
    """'[+0.11, +0.97]'."""
    return f"[{signed(low)}, {signed(high)}]"


def thresholds() -> dict[str, float | int]:
    """The label thresholds, for the JSON and the docs."""
    return {
        "min_comparisons": MIN_COMPARISONS,
        "predictive_correlation": PREDICTIVE_CORRELATION,
        "vanity_min_moved": VANITY_MIN_MOVED,
        "vanity_max_followed_share": VANITY_MAX_FOLLOWED,
        "vanity_max_correlation": VANITY_MAX_CORRELATION,
    }


def label_definition() -> str:
    """How an edge gets its label, stated once for every surface."""
    return (
        f"Labels: predictive = corrected r ≥ {PREDICTIVE_CORRELATION} with its 95% interval "
        f"above 0; vanity = moved ≥ {VANITY_MIN_MOVED} times, the parent followed under "
        f"{VANITY_MAX_FOLLOWED:.0%} of them and corrected r < {VANITY_MAX_CORRELATION}; too few "
        f"= under {MIN_COMPARISONS} comparisons; weak = the rest."
    )


def edge_reason(edge: Edge) -> str:
    """One plain sentence on why an edge got its label, led by the edge's heading."""
    n = edge.n_comparisons
    if edge.label == "too_few":
        return (
            f"{edge.heading}: only {n} comparisons; {MIN_COMPARISONS} are needed "
            f"({edge.comparisons_needed} more would do)."
        )
    corr = edge.corrected_correlation
    corr_text = (
        "its true effects do not vary beyond noise, so no correlation can be estimated"
        if corr is None
        else f"corrected correlation {signed(corr)} "
        f"{interval(edge.correlation_ci_low, edge.correlation_ci_high)}, "
        f"slope {signed(edge.slope)} {interval(edge.slope_ci_low, edge.slope_ci_high)}"
    )
    return (
        f"{edge.heading} ({label_meaning(edge)}): moved in {edge.n_moved} of {n} comparisons, "
        f"the parent followed {edge.n_parent_followed} of them; {corr_text}."
    )


def by_correlation(edges: Sequence[Edge]) -> list[Edge]:
    """The edges by corrected correlation, highest first, those without one last."""
    return sorted(
        edges, key=lambda e: (e.corrected_correlation is None, -(e.corrected_correlation or 0.0))
    )


def _name(catalog: Catalog, metric: str) -> str:
    m = catalog.metrics.get(metric)
    return m.label if m else metric


def tree_dict(evidence: TreeEvidence) -> dict[str, Any]:
    """The tree and every edge's evidence as plain data."""
    catalog = evidence.catalog
    edges = []
    for edge in evidence.edges:
        child = catalog.metrics[edge.child]
        fields = {k: finite(v) for k, v in asdict(edge).items()}
        fields |= {
            "child_label": child.label,
            "parent_label": _name(catalog, edge.parent),
            "role": child.role,
            "input": child.input,
            "owner": child.owner or None,
            "reason": edge_reason(edge),
        }
        edges.append(fields)
    return {
        "schema_version": SCHEMA_VERSION,
        "north_star": catalog.north_star.id,
        "effects": "relative lift, oriented by each metric's direction",
        "thresholds": thresholds(),
        "edges": edges,
    }


def _depth(catalog: Catalog, metric: str) -> int:
    return len(catalog.ancestors(metric))


def _rows(evidence: TreeEvidence, in_tree: bool) -> list[list[str]]:
    catalog = evidence.catalog
    out = []
    for e in (e for e in evidence.edges if e.in_tree == in_tree):
        child = catalog.metrics[e.child]
        indent = "  " * (_depth(catalog, e.child) - 1) if in_tree else ""
        followed = e.parent_followed
        out.append(
            [
                f"{indent}{e.title}",
                child.input or ("—" if in_tree else ROLE_LABELS[child.role]),
                child.owner or "—",
                e.words,
                str(e.n_comparisons),
                str(e.n_moved),
                "—" if followed is None else f"{e.n_parent_followed} ({followed:.0%})",
                f"{signed(e.corrected_correlation)} "
                f"{interval(e.correlation_ci_low, e.correlation_ci_high)}",
                f"{signed(e.slope)} {interval(e.slope_ci_low, e.slope_ci_high)}",
                "computed" if e.within_covariance == "computed" else "assumed 0",
            ]
        )
    return out


def _notes(evidence: TreeEvidence) -> list[str]:
    notes = [
        "Effects are relative lifts of every valid comparison (treatment vs control), flipped "
        "for metrics where lower is better; the slope is the parent's lift per 1% of the "
        "child's. Noise-corrected by the method of moments (Tripuraneni et al. 2023).",
        label_definition(),
    ]
    assumed = [e for e in evidence.edges if e.within_covariance == "assumed_zero"]
    if assumed:
        notes.append(
            f"Noise covariance 'assumed 0' on {len(assumed)} edges: some comparisons have no "
            "unit-level cross sums (summary data without ns_cross_sum / parent_cross_sum), so "
            "the two estimates' shared noise is taken as zero there."
        )
    return notes


NONE = "No valid comparisons: every experiment in the data is invalid, or there are none."


def to_table(evidence: TreeEvidence) -> str:
    """The tree's evidence for a terminal."""
    ns = evidence.catalog.north_star
    out = [PLAIN, "", f"North Star: {ns.label} ({ns.id})", ""]
    if not evidence.edges:
        return "\n".join([*out, NONE]) + "\n"
    out += [aligned(HEADERS, _rows(evidence, True)), ""]
    outside = _rows(evidence, False)
    if outside:
        out += ["Outside the tree, judged against the North Star:", aligned(HEADERS, outside), ""]
    out += [edge_reason(e) for e in evidence.edges]
    out += ["", *_notes(evidence)]
    return "\n".join(out) + "\n"


def to_markdown(evidence: TreeEvidence) -> str:
    """The tree's evidence as Markdown for a review doc."""
    ns = evidence.catalog.north_star
    out = [f"# The North Star tree: {ns.label}", "", PLAIN, ""]
    if not evidence.edges:
        return "\n".join([*out, NONE]) + "\n"
    out += ["## The tree", "", *_outline(evidence), ""]
    out += ["## Evidence on every edge", "", markdown_table(HEADERS, _rows(evidence, True)), ""]
    outside = _rows(evidence, False)
    if outside:
        out += ["## Outside the tree, judged against the North Star", ""]
        out += [markdown_table(HEADERS, outside), ""]
    out += [f"- {edge_reason(e)}" for e in evidence.edges]
    out += ["", "## Notes", "", *(f"- {n}" for n in _notes(evidence))]
    return "\n".join(out) + "\n"


def _outline(evidence: TreeEvidence) -> list[str]:
    """The tree as a nested Markdown list, each input with its kind, owner and edge label."""
    catalog = evidence.catalog
    lines = [f"- **{catalog.north_star.label}** (North Star)"]
    labels = {(e.child, e.parent): e.words for e in evidence.edges}
    for child, parent in catalog.edges():
        m = catalog.metrics[child]
        facts = ", ".join(x for x in (m.input, m.owner) if x)
        label = labels.get((child, parent), "no comparisons")
        indent = "  " * _depth(catalog, child)
        lines.append(f"{indent}- {m.label}{f' ({facts})' if facts else ''}: {label}")
    return lines


def edges_table(evidence: TreeEvidence) -> pl.DataFrame:
    """Every edge for a page table: the tree's edges first, then the metrics outside it."""
    rows = _rows(evidence, True) + _rows(evidence, False)
    return pl.DataFrame(rows, schema={h: pl.String for h in HEADERS}, orient="row")
