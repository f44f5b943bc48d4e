"""The Portfolio page's table: one row per treatment with its verdict, filters and counts.

Counts and the vanity sentence are computed from the (filtered) table, so the figures on top
always describe the rows below them: the running experiments by default, the history one click
away.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from urllib.parse import urlencode

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.decision import DECISION_LABELS
from nsexp.analysis.readout import Readout
from nsexp.analysis.results import MetricResult
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS

ATTENTION = ("invalid", "north_star_loss", "guardrail_breach")
DECISIVE = ("north_star_win", "north_star_loss", "guardrail_breach", "flat")
STATUS_CHOICES = ("running", "concluded", "all")
_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "experiment": pl.String,
    "name": pl.String,
    "owner": pl.String,
    "status": pl.String,
    "variant": pl.String,
    "verdict": pl.String,
    "badge": pl.String,
    "north_star": pl.String,
    "decision": pl.String,
    "recommended": pl.String,
    "days": pl.Int64,
    "units": pl.Int64,
    "rank": pl.Int64,
}


def portfolio_table(readout: Readout) -> pl.DataFrame:
    """One row per treatment against its control: who, which arm, its verdict and North Star
    figure, how long and how big; the experiments that need attention first."""
    rows = []
    for e in readout.experiments.values():
        worst = min(VERDICTS.index(t.verdict) for t in e.treatments)
        for t in e.treatments:
            rows.append(
                {
                    "experiment": e.id,
                    "name": e.name,
                    "owner": e.experiment.info.owner,
                    "status": e.status,
                    "variant": t.variant,
                    "verdict": t.verdict,
                    "badge": VERDICT_LABELS[t.verdict],
                    "north_star": _ns_text(t.north_star) if t.verdict != "invalid" else "—",
                    "decision": t.decision.decision if t.decision else None,
                    "recommended": DECISION_LABELS[t.decision.decision] if t.decision else "—",
                    "days": e.days,
                    "units": e.units,
                    "rank": worst,
                }
            )
    return pl.DataFrame(rows, schema=_SCHEMA).sort("rank", "name", "variant")


def _ns_text(ns: MetricResult) -> str:
    """The North Star's decision figure and interval, as every other view quotes it."""
    return f"{fmt.pct(ns.decision_effect)} {fmt.pct_ci(*ns.decision_interval)}"


DIFFERS = "differs from the recommendation"
DIFFERS_MARK = "⚠ differs"  # the short form, in a table cell


def with_decided(table: pl.DataFrame, decided: Mapping[tuple[str, str], str]) -> pl.DataFrame:
    """The table with the team's recorded decision per comparison (`decided`: its label, and
    a mark where it differs from today's recommendation; "" where none is recorded)."""
    labels = [
        _decided(decided.get((e, v)), d)
        for e, v, d in table.select("experiment", "variant", "decision").iter_rows()
    ]
    return table.with_columns(pl.Series("decided", labels, dtype=pl.String))


def _decided(value: str | None, recommended: str | None) -> str:
    """'Ship' or 'Stop ⚠ differs' (from the recommendation; '' when nothing is recorded)."""
    if value is None:
        return ""
    label = DECISION_LABELS.get(value, value)
    return f"{label} {DIFFERS_MARK}" if value != recommended else label


def filter_portfolio(
    table: pl.DataFrame,
    verdicts: Sequence[str],
    owner: str | None,
    search: str,
    status: str = "all",
    decisions: Sequence[str] = (),
) -> pl.DataFrame:
    """Rows with any of the verdicts and any of the recommended decisions (all when none
    given), of the owner and the status ('all' for every one), matching the search text in
    name or id (case-insensitive)."""
    keep = pl.lit(True)
    if verdicts:
        keep &= pl.col("verdict").is_in(verdicts)
    if decisions:
        keep &= pl.col("decision").is_in(decisions)
    if owner:
        keep &= pl.col("owner") == owner
    if status != "all":
        keep &= pl.col("status") == status
    needle = search.strip().lower()
    if needle:
        keep &= pl.col("name").str.to_lowercase().str.contains(needle, literal=True) | pl.col(
            "experiment"
        ).str.to_lowercase().str.contains(needle, literal=True)
    return table.filter(keep)


def experiment_flags(verdicts: Collection[str]) -> dict[str, bool]:
    """Which counts one experiment falls under, from its comparisons' verdicts (the Counting
    words of docs/glossary.md): it `north_star_win`s, is `vanity_only` or needs `attention` when
    any of its comparisons has such a verdict, so one experiment can fall under several; it
    `decisive`ly concluded with a result when none is invalid and one is a win, a loss, a
    guardrail breach or flat."""
    found = set(verdicts)
    return {
        "north_star_win": "north_star_win" in found,
        "leading_win": "leading_win" in found,
        "vanity_only": "vanity_only" in found,
        "attention": bool(found & set(ATTENTION)),
        "decisive": "invalid" not in found and bool(found & set(DECISIVE)),
    }


def portfolio_counts(table: pl.DataFrame) -> dict[str, int]:
    """How many experiments the rows cover, and how many of them fall under each of
    experiment_flags' counts (an experiment can fall under several)."""
    per = table.group_by("experiment").agg(pl.col("verdict"))
    flags = [experiment_flags(v) for v in per["verdict"].to_list()]
    return {"experiments": len(flags)} | {
        key: sum(f[key] for f in flags)
        for key in ("north_star_win", "leading_win", "vanity_only", "attention")
    }


def overlaps(table: pl.DataFrame) -> list[tuple[str, list[str]]]:
    """The experiments of the rows that fall under more than one of the Portfolio's counts (a
    win, vanity only, needs attention), by name with the counts' keys."""
    per = table.group_by("experiment", maintain_order=True).agg(
        pl.col("name").first(), pl.col("verdict")
    )
    out = []
    for name, verdicts in per.select("name", "verdict").iter_rows():
        flags = experiment_flags(verdicts)
        under = [k for k in ("north_star_win", "vanity_only", "attention") if flags[k]]
        if len(under) > 1:
            out.append((name, under))
    return sorted(out)


TILE_WORDS = {"north_star_win": "won", "vanity_only": "vanity only", "attention": "needs attention"}


def tiles_note(table: pl.DataFrame) -> str:
    """What the Portfolio's counts count and which experiments count under more than one
    ('Each count takes experiments with a comparison of its kind; push_reminders (Practice
    reminders) counts under two: won, needs attention.')."""
    head = (
        "Each count takes experiments with at least one comparison of its kind, so an "
        "experiment with several treatments can count under several"
    )
    both = overlaps(table)
    named = "; ".join(f"{name} ({', '.join(TILE_WORDS[k] for k in keys)})" for name, keys in both)
    said = f"{head}: {named}." if both else head + "; none does here."
    return said + _leading_note(table)


def _leading_note(table: pl.DataFrame) -> str:
    """' Leading win, counted under none: Streak Society (a validated input improved, the
    North Star cannot tell yet).' ('' when no experiment has one)."""
    per = table.group_by("experiment", maintain_order=True).agg(
        pl.col("name").first(), pl.col("verdict")
    )
    names = [n for n, v in per.select("name", "verdict").iter_rows() if "leading_win" in v]
    if not names:
        return ""
    return (
        f" Leading win, counted under none: {', '.join(names)} (a validated input improved "
        "while the North Star cannot tell yet)."
    )


def vanity_sentence(table: pl.DataFrame, status: str = "all") -> str:
    """'3 of 10 running experiments are vanity only: ...' for the rows of a table."""
    counts = portfolio_counts(table)
    total = counts["experiments"]
    kind = "" if status == "all" else f"{status} "
    noun = "experiment" if total == 1 else "experiments"
    verb = "is" if counts["vanity_only"] == 1 else "are"
    return (
        f"{counts['vanity_only']} of {total} {kind}{noun} {verb} vanity only: metrics improved, "
        "the North Star did not move."
    )


def readout_url(query: dict[str, str]) -> str:
    """A relative link to the readout page with these query parameters."""
    return "readout?" + urlencode(query)
