"""The proxy-quality report for people: JSON data, an aligned terminal table and Markdown."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.results import finite
from nsexp.learning.proxies import (
    LABEL_MEANINGS,
    MIN_COMPARISONS,
    PREDICTIVE_CORRELATION,
    VANITY_MAX_CORRELATION,
    VANITY_MAX_FOLLOWED,
    VANITY_MIN_MOVED,
    Impact,
)
from nsexp.report.json import SCHEMA_VERSION

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


def thresholds() -> dict[str, float | int]:
    """The label thresholds, for the JSON and the docs."""
    return {
        "min_comparisons": MIN_COMPARISONS,
        "predictive_correlation": PREDICTIVE_CORRELATION,
        "vanity_min_moved": VANITY_MIN_MOVED,
        "vanity_max_followed_share": VANITY_MAX_FOLLOWED,
        "vanity_max_correlation": VANITY_MAX_CORRELATION,
    }


def label_reason(row: dict) -> str:
    """One plain sentence on why a metric got its label."""
    metric, n = row["metric"], row["n_comparisons"]
    if row["label"] == "too_few":
        return (
            f"{metric}: only {n} comparisons; at least {MIN_COMPARISONS} are needed "
            f"({row['comparisons_needed']} more)."
        )
    corr = row["corrected_correlation"]
    corr_text = (
        "its true effects do not vary beyond noise, so no correlation can be estimated"
        if corr is None
        else f"corrected correlation with the North Star {corr:+.2f} "
        f"[{row['correlation_ci_low']:+.2f}, {row['correlation_ci_high']:+.2f}]".replace("-", "−")
    )
    return (
        f"{metric}: moved in {row['n_moved']} of {n} comparisons, the North Star followed "
        f"{row['n_ns_followed']} of them; {corr_text}: {row['label']} "
        f"({LABEL_MEANINGS[row['label']]})."
    )


def impact_dict(impact: Impact) -> dict:
    """The cumulative impact as plain data for JSON."""
    wins = impact.wins.with_columns(pl.col(pl.Float64).fill_nan(None)).to_dicts()
    return {
        "metric": impact.metric,
        "n_comparisons": impact.n_comparisons,
        "n_wins": impact.n_wins,
        "naive_total": finite(impact.naive_total),
        "shrunk_total": finite(impact.shrunk_total),
        "shrunk_total_sd": finite(impact.shrunk_total_sd),
        "real_share": finite(impact.real_share),
        "prior_mean": finite(impact.prior_mean),
        "prior_sd": finite(impact.prior_sd),
        "wins": wins,
    }


def proxies_dict(table: pl.DataFrame, impact: Impact) -> dict[str, Any]:
    """Proxy quality per metric plus the cumulative North Star impact, as plain data."""
    rows = [{k: finite(v) for k, v in r.items()} for r in table.iter_rows(named=True)]
    for r in rows:
        r["reason"] = label_reason(r)
    return {
        "schema_version": SCHEMA_VERSION,
        "north_star": impact.metric,
        "effects": "relative lift, oriented by each metric's direction",
        "thresholds": thresholds(),
        "metrics": rows,
        "cumulative_impact": impact_dict(impact),
    }


def signed_r(x: float | None) -> str:
    """A correlation for people: '+0.81', '−0.30' (a real minus), '—' when missing."""
    return "—" if x is None or not math.isfinite(x) else f"{x:+.2f}".replace("-", fmt.MINUS)


def _rows(table: pl.DataFrame) -> list[list[str]]:
    out = []
    for r in table.iter_rows(named=True):
        out.append(
            [
                r["metric"],
                r["role"].replace("_", " "),
                r["label"],
                str(r["n_comparisons"]),
                str(r["n_moved"]),
                f"{r['n_ns_followed']} of {r['n_moved']}",
                "—" if r["sign_agreement"] is None else fmt.pct(r["sign_agreement"], 0, False),
                signed_r(r["corrected_correlation"]),
                f"[{signed_r(r['correlation_ci_low'])}, {signed_r(r['correlation_ci_high'])}]",
                signed_r(r["naive_correlation"]),
            ]
        )
    return out


def impact_sentence(impact: Impact) -> str:
    """The wins' total lift, naive and shrunk: '3 North Star wins add up to +11.0% (...)'."""
    if impact.n_wins == 0:
        return "No comparison is a North Star win yet."
    wins = "win adds" if impact.n_wins == 1 else "wins add"
    return (
        f"{impact.n_wins} North Star {wins} up to {fmt.pct(impact.naive_total)} "
        f"({impact.metric}, sum of relative lifts); corrected for the winner's curse, "
        f"{fmt.pct(impact.shrunk_total)} ± {fmt.pct(impact.shrunk_total_sd, signed=False)} "
        "is likely real."
    )


def _notes(table: pl.DataFrame) -> list[str]:
    notes = [
        "Effects are relative lifts; metrics whose direction is 'decrease' are flipped, so a "
        "positive correlation always means improving the metric goes with improving the "
        "North Star.",
    ]
    assumed = (
        table.filter(pl.col("within_covariance") == "assumed_zero")["metric"].to_list()
        if table.height
        else []
    )
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


NONE = "No valid comparisons: every experiment in the data is invalid, or there are none."


def to_table(table: pl.DataFrame, impact: Impact) -> str:
    """The proxy report for a terminal."""
    if table.height == 0:
        return f"{PLAIN}\n\n{NONE}\n"
    body = _rows(table)
    widths = [max(len(c) for c in col) for col in zip(HEADERS, *body, strict=True)]

    def line(cells: list[str] | tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [PLAIN, "", line(HEADERS), line(["-" * w for w in widths]), *map(line, body), ""]
    out += [label_reason(r) for r in table.iter_rows(named=True)]
    out += ["", impact_sentence(impact), "", *_notes(table)]
    return "\n".join(out) + "\n"


def to_markdown(table: pl.DataFrame, impact: Impact) -> str:
    """The proxy report as Markdown for a review doc."""
    out = ["# Which leading indicators predict the North Star", "", PLAIN, ""]
    if table.height == 0:
        return "\n".join([*out, NONE]) + "\n"
    out.append("| " + " | ".join(HEADERS) + " |")
    out.append("|" + "|".join("---" for _ in HEADERS) + "|")
    out += ["| " + " | ".join(r) + " |" for r in _rows(table)]
    out += [""] + [f"- {label_reason(r)}" for r in table.iter_rows(named=True)]
    out += ["", "## Cumulative North Star impact", "", impact_sentence(impact), ""]
    out += ["## Notes", ""] + [f"- {n}" for n in _notes(table)]
    out += ["", "Label meanings: " + "; ".join(f"{k}: {v}" for k, v in LABEL_MEANINGS.items())]
    return "\n".join(out) + "\n"
