"""The North Star tree with its evidence for people and machines: JSON, a terminal table and
Markdown (`nsexp tree`), and the sentences the North Star page shares.

JSON field names of an edge are a contract (they only grow): child, parent, n_comparisons,
n_moved, parent_followed, corrected_correlation, correlation_ci_low, correlation_ci_high,
slope, slope_ci_low, slope_ci_high, label, within_covariance.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import finite
from nsexp.config.catalog import ROLE_LABELS, Catalog
from nsexp.learning.tree import (
    LABEL_MEANINGS,
    MIN_COMPARISONS,
    PREDICTIVE_CORRELATION,
    VANITY_MAX_CORRELATION,
    VANITY_MAX_FOLLOWED,
    VANITY_MIN_MOVED,
    TreeEvidence,
)
from nsexp.report.json import SCHEMA_VERSION
from nsexp.report.text import aligned, markdown_table

EDGE_FIELDS = (
    "child",
    "parent",
    "in_tree",
    "n_comparisons",
    "n_experiments",
    "n_moved",
    "n_parent_followed",
    "parent_followed",
    "sign_agreement",
    "naive_correlation",
    "corrected_correlation",
    "correlation_ci_low",
    "correlation_ci_high",
    "slope",
    "slope_ci_low",
    "slope_ci_high",
    "intercept",
    "label",
    "comparisons_needed",
    "within_covariance",
    "n_within_computed",
)
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


def edge_reason(row: dict, catalog: Catalog) -> str:
    """One plain sentence on why an edge got its label."""
    child, parent = _name(catalog, row["child"]), _name(catalog, row["parent"])
    n = row["n_comparisons"]
    if row["label"] == "too_few":
        return (
            f"{child} → {parent}: only {n} comparisons; {MIN_COMPARISONS} are needed "
            f"({row['comparisons_needed']} more would do)."
        )
    corr = row["corrected_correlation"]
    corr_text = (
        "its true effects do not vary beyond noise, so no correlation can be estimated"
        if corr is None
        else f"corrected correlation {signed(corr)} "
        f"{interval(row['correlation_ci_low'], row['correlation_ci_high'])}, "
        f"slope {signed(row['slope'])} {interval(row['slope_ci_low'], row['slope_ci_high'])}"
    )
    return (
        f"{child} → {parent}: moved in {row['n_moved']} of {n} comparisons, the parent followed "
        f"{row['n_parent_followed']} of them; {corr_text}: {row['label']} "
        f"({LABEL_MEANINGS[row['label']]})."
    )


def _name(catalog: Catalog, metric: str) -> str:
    m = catalog.metrics.get(metric)
    return m.label if m else metric


def tree_dict(evidence: TreeEvidence) -> dict[str, Any]:
    """The tree and every edge's evidence as plain data."""
    catalog = evidence.catalog
    edges = []
    for row in evidence.edges.iter_rows(named=True):
        child = catalog.metrics[row["child"]]
        edge = {k: finite(row.get(k)) for k in EDGE_FIELDS}
        edge |= {
            "child_label": child.label,
            "parent_label": _name(catalog, row["parent"]),
            "role": child.role,
            "input": child.input,
            "owner": child.owner or None,
            "reason": edge_reason(row, catalog),
        }
        edges.append(edge)
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
    for r in evidence.edges.filter(pl.col("in_tree") == in_tree).iter_rows(named=True):
        child = catalog.metrics[r["child"]]
        indent = "  " * (_depth(catalog, r["child"]) - 1) if in_tree else ""
        followed = r["parent_followed"]
        out.append(
            [
                f"{indent}{child.label} → {_name(catalog, r['parent'])}",
                child.input or ("—" if in_tree else ROLE_LABELS[child.role]),
                child.owner or "—",
                r["label"].replace("_", " "),
                str(r["n_comparisons"]),
                str(r["n_moved"]),
                "—" if followed is None else f"{r['n_parent_followed']} ({followed:.0%})",
                f"{signed(r['corrected_correlation'])} "
                f"{interval(r['correlation_ci_low'], r['correlation_ci_high'])}",
                f"{signed(r['slope'])} {interval(r['slope_ci_low'], r['slope_ci_high'])}",
                "computed" if r["within_covariance"] == "computed" else "assumed 0",
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
    assumed = (
        evidence.edges.filter(pl.col("within_covariance") == "assumed_zero")
        if evidence.edges.height
        else evidence.edges
    )
    if assumed.height:
        notes.append(
            f"Noise covariance 'assumed 0' on {assumed.height} edges: some comparisons have no "
            "unit-level cross sums (summary data without ns_cross_sum / parent_cross_sum), so "
            "the two estimates' shared noise is taken as zero there."
        )
    return notes


NONE = "No valid comparisons: every experiment in the data is invalid, or there are none."


def to_table(evidence: TreeEvidence) -> str:
    """The tree's evidence for a terminal."""
    ns = evidence.catalog.north_star
    out = [PLAIN, "", f"North Star: {ns.label} ({ns.id})", ""]
    if evidence.edges.height == 0:
        return "\n".join([*out, NONE]) + "\n"
    out += [aligned(HEADERS, _rows(evidence, True)), ""]
    outside = _rows(evidence, False)
    if outside:
        out += ["Outside the tree, judged against the North Star:", aligned(HEADERS, outside), ""]
    out += [edge_reason(r, evidence.catalog) for r in evidence.edges.iter_rows(named=True)]
    out += ["", *_notes(evidence)]
    return "\n".join(out) + "\n"


def to_markdown(evidence: TreeEvidence) -> str:
    """The tree's evidence as Markdown for a review doc."""
    ns = evidence.catalog.north_star
    out = [f"# The North Star tree: {ns.label}", "", PLAIN, ""]
    if evidence.edges.height == 0:
        return "\n".join([*out, NONE]) + "\n"
    out += ["## The tree", "", *_outline(evidence), ""]
    out += ["## Evidence on every edge", "", markdown_table(HEADERS, _rows(evidence, True)), ""]
    outside = _rows(evidence, False)
    if outside:
        out += ["## Outside the tree, judged against the North Star", ""]
        out += [markdown_table(HEADERS, outside), ""]
    out += [f"- {edge_reason(r, evidence.catalog)}" for r in evidence.edges.iter_rows(named=True)]
    out += ["", "## Notes", "", *(f"- {n}" for n in _notes(evidence))]
    return "\n".join(out) + "\n"


def _outline(evidence: TreeEvidence) -> list[str]:
    """The tree as a nested Markdown list, each input with its kind, owner and edge label."""
    catalog = evidence.catalog
    lines = [f"- **{catalog.north_star.label}** (North Star)"]
    labels = {(r["child"], r["parent"]): r["label"] for r in evidence.edges.iter_rows(named=True)}
    for child, parent in catalog.edges():
        m = catalog.metrics[child]
        facts = ", ".join(x for x in (m.input, m.owner) if x)
        label = labels.get((child, parent), "no comparisons").replace("_", " ")
        indent = "  " * _depth(catalog, child)
        lines.append(f"{indent}- {m.label}{f' ({facts})' if facts else ''}: {label}")
    return lines


def edges_table(evidence: TreeEvidence) -> pl.DataFrame:
    """Every edge for a page table: the tree's edges first, then the metrics outside it."""
    rows = _rows(evidence, True) + _rows(evidence, False) if evidence.edges.height else []
    return pl.DataFrame(rows, schema={h: pl.String for h in HEADERS}, orient="row")
