"""The Portfolio page's table: one row per experiment with its verdicts, filters and counts."""

from __future__ import annotations

from urllib.parse import urlencode

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.readout import Readout
from nsexp.analysis.results import MetricResult
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS

ATTENTION = ("invalid", "north_star_loss", "guardrail_breach")
_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "experiment": pl.String,
    "name": pl.String,
    "owner": pl.String,
    "variants": pl.String,
    "days": pl.Int64,
    "units": pl.Int64,
    "verdicts": pl.List(pl.String),
    "badges": pl.List(pl.String),
    "north_star": pl.String,
    "rank": pl.Int64,
}


def portfolio_table(readout: Readout) -> pl.DataFrame:
    """One row per experiment: who, how big, how long, each treatment's verdict and North Star
    effect, sorted so the experiments that need attention come first."""
    rows = []
    for e in readout.experiments.values():
        many = len(e.treatments) > 1
        verdicts = [t.verdict for t in e.treatments]
        effects = [
            f"{t.variant}: {_ns_text(t.north_star)}" if many else _ns_text(t.north_star)
            for t in e.treatments
        ]
        rows.append(
            {
                "experiment": e.id,
                "name": e.name,
                "owner": e.experiment.info.owner,
                "variants": f"{e.control} vs {', '.join(e.experiment.treatments)}",
                "days": e.days,
                "units": e.units,
                "verdicts": verdicts,
                "badges": [badge_text(t.variant, t.verdict, many) for t in e.treatments],
                "north_star": " · ".join(effects),
                "rank": min(VERDICTS.index(v) for v in verdicts),
            }
        )
    return pl.DataFrame(rows, schema=_SCHEMA).sort("rank", "name")


def _ns_text(ns: MetricResult) -> str:
    """The North Star's decision figure and interval, as every other view quotes it."""
    return f"{fmt.pct(ns.decision_effect)} {fmt.pct_ci(*ns.decision_interval)}"


def badge_text(variant: str, verdict: str, many: bool) -> str:
    """A verdict as a badge reads: the label, prefixed by the variant when there are several."""
    return f"{variant}: {VERDICT_LABELS[verdict]}" if many else VERDICT_LABELS[verdict]


def badge_verdicts(table: pl.DataFrame) -> dict[str, str]:
    """Every badge text of a portfolio table with the verdict it stands for, by text."""
    pairs: dict[str, str] = {}
    for badges, verdicts in zip(table["badges"], table["verdicts"], strict=True):
        pairs.update(zip(badges, verdicts, strict=True))
    return dict(sorted(pairs.items()))


def filter_portfolio(
    table: pl.DataFrame, verdicts: list[str], owner: str | None, search: str
) -> pl.DataFrame:
    """Rows with any of the verdicts (all when none given), of the owner, matching the search
    text in name or id (case-insensitive, literal)."""
    keep = pl.lit(True)
    if verdicts:
        keep &= pl.col("verdicts").list.eval(pl.element().is_in(verdicts)).list.any()
    if owner:
        keep &= pl.col("owner") == owner
    needle = search.strip().lower()
    if needle:
        keep &= pl.col("name").str.to_lowercase().str.contains(needle, literal=True) | pl.col(
            "experiment"
        ).str.to_lowercase().str.contains(needle, literal=True)
    return table.filter(keep)


def portfolio_counts(readout: Readout) -> dict[str, int]:
    """How many experiments there are, and how many have a treatment with a win, a vanity-only
    result or a verdict that needs attention (invalid, North Star loss, guardrail breach)."""
    verdicts = [{t.verdict for t in e.treatments} for e in readout.experiments.values()]
    return {
        "experiments": len(verdicts),
        "north_star_win": sum("north_star_win" in v for v in verdicts),
        "vanity_only": sum("vanity_only" in v for v in verdicts),
        "attention": sum(bool(v & set(ATTENTION)) for v in verdicts),
    }


def readout_url(query: dict[str, str]) -> str:
    """A relative link to the readout page with these query parameters."""
    return "readout?" + urlencode(query)
