"""`nsexp proxies`, the alias of `nsexp tree --north-star-edges`: the tree's North Star edges as
the proxy report has always printed them (JSON, an aligned terminal table and Markdown), with
the cumulative North Star impact of the wins. Its JSON keeps its field names: `metrics` (one
row per edge, named by PROXY_NAMES) and `cumulative_impact`."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import finite
from nsexp.config.catalog import Catalog
from nsexp.learning.proxies import NorthStarWins
from nsexp.learning.tree import (
    LABEL_MEANINGS,
    LABELS,
    MIN_COMPARISONS,
    PREDICTIVE_CORRELATION,
    VANITY_MAX_CORRELATION,
    VANITY_MAX_FOLLOWED,
    VANITY_MIN_MOVED,
    Edge,
    TreeEvidence,
)
from nsexp.report.impact import impact_fields, impact_sentence
from nsexp.report.json import SCHEMA_VERSION
from nsexp.report.tree import NONE, by_correlation, signed, thresholds

# the proxy report's names for an edge's fields (the others keep the Edge's)
PROXY_NAMES = {
    "child": "metric",
    "n_parent_followed": "n_ns_followed",
    "parent_followed": "ns_followed_share",
    "parent_true_sd": "ns_true_sd",
}
HEADERS = (
    "Metric",
    "Role",
    "Label",
    "Comparisons",
    "Moved",
    "NS followed",
    "Same sign",
    "Corrected r",
    "95% CI",
    "Naive r",
)
PLAIN = (
    "An indicator earns its place only if experiments that move it also move the North Star. "
    "nsexp compares each metric's effects with the North Star's across all past experiments, "
    "after removing the part of the agreement that is just measurement noise."
)


def ranked(evidence: TreeEvidence) -> list[Edge]:
    """The North Star edges best first: by label (predictive, weak, vanity, too few), then by
    corrected correlation."""
    edges = sorted(evidence.north_star_edges().edges, key=lambda e: e.child)
    return sorted(by_correlation(edges), key=lambda e: LABELS.index(e.label))


def label_reason(edge: Edge) -> str:
    """One plain sentence on why a metric got its label (against the North Star)."""
    metric, n = edge.child, edge.n_comparisons
    if edge.label == "too_few":
        return (
            f"{metric}: only {n} comparisons; at least {MIN_COMPARISONS} are needed "
            f"({edge.comparisons_needed} more)."
        )
    corr = edge.corrected_correlation
    corr_text = (
        "its true effects do not vary beyond noise, so no correlation can be estimated"
        if corr is None
        else f"corrected correlation with the North Star {corr:+.2f} "
        f"[{edge.correlation_ci_low:+.2f}, {edge.correlation_ci_high:+.2f}]".replace("-", "−")
    )
    return (
        f"{metric}: moved in {edge.n_moved} of {n} comparisons, the North Star followed "
        f"{edge.n_parent_followed} of them; {corr_text}: {edge.label} "
        f"({LABEL_MEANINGS[edge.label]})."
    )


def impact_dict(wins: NorthStarWins) -> dict:
    """The wins' impact as plain data for JSON: `compounded` (shrunk) and `reported_compounded`
    (as measured) are the figures to quote; the sums (`naive_total`, `shrunk_total` with its
    sd, `real_share`) stay because JSON field names only grow, and no page shows them."""
    rows = wins.wins.with_columns(pl.col(pl.Float64).fill_nan(None))
    naive = float(rows["rel_effect"].sum())
    shrunk = float(rows["shrunk_effect"].sum())
    return {
        "metric": wins.metric,
        "n_comparisons": wins.n_comparisons,
        "n_wins": wins.n_wins,
        "naive_total": finite(naive),
        "shrunk_total": finite(shrunk),
        "shrunk_total_sd": finite(math.sqrt(float((rows["shrunk_sd"] ** 2).sum()))),
        "real_share": finite(shrunk / naive) if naive > 0 else None,
        "prior_mean": finite(wins.prior_mean),
        "prior_sd": finite(wins.prior_sd),
        "compounded": impact_fields(wins.impact),
        "reported_compounded": impact_fields(wins.reported),
        "wins": rows.to_dicts(),
    }


def proxy_row(edge: Edge, catalog: Catalog) -> dict[str, Any]:
    """One North Star edge as a row of the proxy report's `metrics`."""
    fields = asdict(edge)
    del fields["parent"], fields["in_tree"], fields["name"], fields["label_words"]
    row = {PROXY_NAMES.get(k, k): finite(v) for k, v in fields.items()}
    return row | {"role": catalog.metrics[edge.child].role, "reason": label_reason(edge)}


def proxies_dict(evidence: TreeEvidence, impact: NorthStarWins) -> dict[str, Any]:
    """Proxy quality per metric plus the cumulative North Star impact, as plain data."""
    rows = [proxy_row(e, evidence.catalog) for e in ranked(evidence)]
    return {
        "schema_version": SCHEMA_VERSION,
        "north_star": impact.metric,
        "effects": "relative lift, oriented by each metric's direction",
        "thresholds": thresholds(),
        "metrics": rows,
        "cumulative_impact": impact_dict(impact),
    }


def _rows(evidence: TreeEvidence) -> list[list[str]]:
    out = []
    for e in ranked(evidence):
        out.append(
            [
                e.child,
                evidence.catalog.metrics[e.child].role.replace("_", " "),
                e.label,
                str(e.n_comparisons),
                str(e.n_moved),
                f"{e.n_parent_followed} of {e.n_moved}",
                "—" if e.sign_agreement is None else fmt.pct(e.sign_agreement, 0, False),
                signed(e.corrected_correlation),
                f"[{signed(e.correlation_ci_low)}, {signed(e.correlation_ci_high)}]",
                signed(e.naive_correlation),
            ]
        )
    return out


def wins_sentence(wins: NorthStarWins) -> str:
    """The wins' impact, corrected for the winner's curse and compounded, in one sentence."""
    return impact_sentence(wins.impact, "North Star wins, corrected for the winner's curse")


def _notes(evidence: TreeEvidence) -> list[str]:
    notes = [
        "Effects are relative lifts; metrics whose direction is 'decrease' are flipped, so a "
        "positive correlation always means improving the metric goes with improving the "
        "North Star.",
    ]
    assumed = [e.child for e in ranked(evidence) if e.within_covariance == "assumed_zero"]
    if assumed:
        notes.append(
            "The within-experiment covariance of a metric's and the North Star's estimates is "
            f"assumed zero for {', '.join(assumed)} wherever the data has no unit-level cross "
            "sums (summary rows without ns_cross_sum); elsewhere it is computed. Metrics built "
            "from the same actions as the North Star may look more predictive than they are "
            "where it is assumed zero."
        )
    notes.append(
        f"Labels: predictive = corrected r ≥ {PREDICTIVE_CORRELATION} with the interval above 0; "
        f"vanity = moved ≥ {VANITY_MIN_MOVED} times, the North Star followed under "
        f"{VANITY_MAX_FOLLOWED:.0%} of them and corrected r < {VANITY_MAX_CORRELATION}; "
        f"too_few = under {MIN_COMPARISONS} comparisons; weak = the rest."
    )
    return notes


def to_table(evidence: TreeEvidence, impact: NorthStarWins) -> str:
    """The proxy report for a terminal."""
    if not evidence.north_star_edges().edges:
        return f"{PLAIN}\n\n{NONE}\n"
    body = _rows(evidence)
    widths = [max(len(c) for c in col) for col in zip(HEADERS, *body, strict=True)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [PLAIN, "", line(HEADERS), line(["-" * w for w in widths]), *map(line, body), ""]
    out += [label_reason(e) for e in ranked(evidence)]
    out += ["", wins_sentence(impact), "", *_notes(evidence)]
    return "\n".join(out) + "\n"


def to_markdown(evidence: TreeEvidence, impact: NorthStarWins) -> str:
    """The proxy report as Markdown for a review doc."""
    out = ["# Which leading indicators predict the North Star", "", PLAIN, ""]
    if not evidence.north_star_edges().edges:
        return "\n".join([*out, NONE]) + "\n"
    out.append("| " + " | ".join(HEADERS) + " |")
    out.append("|" + "|".join("---" for _ in HEADERS) + "|")
    out += ["| " + " | ".join(r) + " |" for r in _rows(evidence)]
    out += [""] + [f"- {label_reason(e)}" for e in ranked(evidence)]
    out += ["", "## Cumulative North Star impact", "", wins_sentence(impact), ""]
    out += ["## Notes", ""] + [f"- {n}" for n in _notes(evidence)]
    out += ["", "Label meanings: " + "; ".join(f"{k}: {v}" for k, v in LABEL_MEANINGS.items())]
    return "\n".join(out) + "\n"
