"""The North Star tree as Graphviz source for the North Star page: the North Star on top, each
input under its parent with its input kind and owner team, every edge labelled with its evidence
and drawn by it (solid and bold: predictive; thin: weak; dashed: vanity or too few).

Metrics outside the tree (vanity metrics and guardrails without a parent) get a graph of their
own (`outside_graph`), each with its edge to the North Star carrying its evidence.
Pure: frames in, DOT text out (pages/north_star.py hands it to st.graphviz_chart).
"""

from __future__ import annotations

import polars as pl

from nsexp.config.catalog import ROLE_LABELS, Catalog
from nsexp.learning.tree import Edge, TreeEvidence
from nsexp.report.charts import HEX
from nsexp.report.tree import interval, signed

EDGE_STYLES: dict[str | None, str] = {
    "predictive": f'color="{HEX["green"]}", penwidth=3, style="solid"',
    "weak": f'color="{HEX["gray"]}", penwidth=1, style="solid"',
    "vanity": f'color="{HEX["orange"]}", penwidth=1.5, style="dashed"',
    "too_few": f'color="{HEX["band"]}", penwidth=1.2, style="dashed"',
    None: f'color="{HEX["band"]}", penwidth=1, style="dotted"',
}
# a guardrail's edge is not judged as an input: drawn in its own style, whatever its label
GUARDRAIL_STYLE = f'color="{HEX["blue"]}", penwidth=1.2, style="dotted"'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _node_id(metric: str) -> str:
    return "m_" + "".join(c if c.isalnum() else "_" for c in metric)


def _node(
    catalog: Catalog, metric: str, moved: dict[str, tuple[int, int]], selected: str | None
) -> str:
    m = catalog.metrics[metric]
    is_ns = m.role == "north_star"
    kind = "North Star" if is_ns else (m.input or ROLE_LABELS[m.role].lower())
    facts = " · ".join(x for x in (kind, m.owner) if x)
    count = moved.get(metric)
    lines = [f"★ {m.label}" if is_ns else m.label, facts]
    if count is not None:
        lines.append(f"moved in {count[0]} of {count[1]} comparisons")
    fill = HEX["light_green"] if is_ns else "#ffffff" if m.parent else HEX["light_gray"]
    border = HEX["blue"] if metric == selected else ("#2b8a3e" if is_ns else "#adb5bd")
    width = 3 if metric == selected else (2 if is_ns else 1)
    text = "\\n".join(_escape(x) for x in lines if x)
    size = 13 if is_ns else 11
    return (
        f'  {_node_id(metric)} [label="{text}", fillcolor="{fill}", color="{border}", '
        f"penwidth={width}, fontsize={size}];"
    )


def _edge(edge: Edge | None, child: str, parent: str, guardrail: bool = False) -> str:
    """An edge drawn from parent down to child, its arrow pointing up to what it drives,
    labelled with the Edge record's label words."""
    label = edge.label if edge else None
    style = GUARDRAIL_STYLE if guardrail and edge else EDGE_STYLES[label]
    if edge is None:
        parts = ["no comparisons yet"]
    else:
        parts = [
            edge.words,
            f"r {signed(edge.corrected_correlation)} "
            f"{interval(edge.correlation_ci_low, edge.correlation_ci_high)}",
            f"{edge.n_comparisons} comparisons",
        ]
    text = "\\n".join(_escape(p) for p in parts)
    return f'  {_node_id(parent)} -> {_node_id(child)} [dir=back, label="{text}", {style}];'


def _header(name: str) -> list[str]:
    return [
        f"digraph {name} {{",
        '  graph [rankdir=TB, bgcolor="transparent", nodesep=0.3, ranksep=0.7, fontname="sans"];',
        '  node [shape=box, style="rounded,filled", fontname="sans", margin="0.12,0.06"];',
        '  edge [fontname="sans", fontsize=10, fontcolor="#495057", arrowsize=0.7];',
    ]


def _moved(movement: pl.DataFrame | None) -> dict[str, tuple[int, int]]:
    if movement is None:
        return {}
    return {
        r["metric"]: (r["comparisons_moved"], r["comparisons"])
        for r in movement.iter_rows(named=True)
    }


def tree_graph(
    evidence: TreeEvidence, movement: pl.DataFrame | None = None, selected: str | None = None
) -> str:
    """The tree as DOT; `movement` (nsexp.report.movement.metric_movement) adds each metric's
    "moved in k of n comparisons", `selected` outlines one metric."""
    catalog = evidence.catalog
    moved = _moved(movement)
    lines = [*_header("tree"), _node(catalog, catalog.north_star.id, moved, selected)]
    for child, parent in catalog.edges():
        lines.append(_node(catalog, child, moved, selected))
        guardrail = catalog.metrics[child].role == "guardrail"
        lines.append(_edge(evidence.edge(child, parent), child, parent, guardrail))
    lines.append("}")
    return "\n".join(lines)


def outside_graph(
    evidence: TreeEvidence, movement: pl.DataFrame | None = None, selected: str | None = None
) -> str | None:
    """The metrics outside the tree (no parent: vanity metrics and guardrails), each with its
    evidence against the North Star; None when every metric is in the tree."""
    catalog = evidence.catalog
    ns = catalog.north_star.id
    outside = [m.id for m in catalog.metrics.values() if m.id != ns and m.parent is None]
    if not outside:
        return None
    moved = _moved(movement)
    lines = [*_header("outside"), _node(catalog, ns, moved, None)]
    for metric in outside:
        lines.append(_node(catalog, metric, moved, selected))
        guardrail = catalog.metrics[metric].role == "guardrail"
        lines.append(_edge(evidence.edge(metric, ns), metric, ns, guardrail))
    lines.append("}")
    return "\n".join(lines)
