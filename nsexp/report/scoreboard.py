"""Outcomes over output: the team scoreboard and the North Star's health line (North Star page).

Scoreboard, one row per owner (experiments.toml `owner`), over every experiment the team ran,
each counted by the words of docs/glossary.md (nsexp.report.portfolio.experiment_flags):
- experiments run (invalid ones included: they were run, nothing was learned);
- won: experiments with a North Star win in a comparison;
- vanity only: experiments with a vanity-only comparison (an experiment can be both);
- concluded with a result: experiments that ended with a win, a loss, a guardrail breach or a
  flat result (a well-powered "no effect": its interval inside ±threshold), none invalid;
- impact: the wins' North Star lifts after the winner's-curse shrinkage
  (nsexp.learning.proxies.cumulative_impact), per win (the median) and compounded with its
  interval (nsexp.learning.impact.compound), never added up.
"""

from __future__ import annotations

import statistics

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.readout import Readout
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICTS
from nsexp.learning.impact import Impact, impact_of
from nsexp.learning.proxies import NorthStarWins
from nsexp.learning.tree import valid_results
from nsexp.report.impact import combined, per_win
from nsexp.report.portfolio import experiment_flags

NO_OWNER = "(no owner)"
# outcomes first: what the wins did to the North Star shows at 1024 px, the rest may scroll
COLUMNS = (
    "Team",
    "Won",
    "Wins compounded",
    "Per win (median)",
    "Concluded with a result",
    "Vanity only",
    "Experiments",
)
_SCHEMA: dict[str, type[pl.DataType]] = {
    "owner": pl.String,
    "experiments": pl.Int64,
    "won": pl.Int64,
    "vanity_only": pl.Int64,
    "decisive": pl.Int64,
    "won_share": pl.Float64,
    "vanity_share": pl.Float64,
    "learning_rate": pl.Float64,
    "wins": pl.Int64,
    "impact_median": pl.Float64,
    "impact_combined": pl.Float64,
    "impact_low": pl.Float64,
    "impact_high": pl.Float64,
}


def scoreboard_frame(readout: Readout, wins: NorthStarWins) -> pl.DataFrame:
    """Per owner: experiments, how many won, were vanity only and concluded with a result (and
    as shares), and the impact of their North Star wins (see the module docstring), the largest
    compounded impact first."""
    teams: dict[str, list[tuple[str, dict[str, bool]]]] = {}
    for e in readout.experiments.values():
        flags = experiment_flags([t.verdict for t in e.treatments])
        teams.setdefault(e.experiment.info.owner or NO_OWNER, []).append((e.id, flags))
    rows = []
    for owner, members in teams.items():
        ids = [e for e, _ in members]
        chosen = wins.wins.filter(pl.col("experiment").is_in(ids))
        impact = impact_of(chosen)
        n = len(members)
        won, vanity, decisive = (
            sum(f[k] for _, f in members) for k in ("north_star_win", "vanity_only", "decisive")
        )
        rows.append(
            {
                "owner": owner,
                "experiments": n,
                "won": won,
                "vanity_only": vanity,
                "decisive": decisive,
                "won_share": won / n,
                "vanity_share": vanity / n,
                "learning_rate": decisive / n,
                "wins": impact.count,
                "impact_median": impact.median_lift,
                "impact_combined": impact.combined,
                "impact_low": impact.low,
                "impact_high": impact.high,
            }
        )
    frame = pl.DataFrame(rows, schema=_SCHEMA)
    return frame.sort("impact_combined", "owner", descending=[True, False])


def _of(part: int, whole: int) -> str:
    return f"{part} of {whole} ({part / whole:.0%})" if whole else "—"


def scoreboard_table(frame: pl.DataFrame) -> pl.DataFrame:
    """scoreboard_frame for people: counts 'k of n (share)', the impact per win and compounded."""
    rows = []
    for r in frame.iter_rows(named=True):
        impact = impact_row(r)
        rows.append(
            (
                r["owner"],
                _of(r["won"], r["experiments"]),
                combined(impact),
                per_win(impact),
                _of(r["decisive"], r["experiments"]),
                _of(r["vanity_only"], r["experiments"]),
                str(r["experiments"]),
            )
        )
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}, orient="row")


def impact_row(row: dict) -> Impact:
    """A scoreboard row's impact columns back as an Impact."""
    return Impact(
        count=row["wins"],
        median_lift=row["impact_median"],
        combined=row["impact_combined"],
        low=row["impact_low"],
        high=row["impact_high"],
    )


def health_line(
    readout: Readout, movement: pl.DataFrame, wins: NorthStarWins, recent: int = 10
) -> str:
    """The North Star's health in one line: how often it moved (significant, better or worse)
    in the valid comparisons and which verdicts the better ones got (a guardrail breach can hide
    a better North Star, so "better" and "wins" differ), its median detectable effect, and its
    direction of travel (the shrunk lifts of the latest experiments)."""
    ns = readout.catalog.north_star
    row = movement.filter(pl.col("metric") == ns.id).row(0, named=True)
    results = valid_results(readout.judgement).filter(pl.col("metric") == ns.id)
    mdes = results["mde"].drop_nulls().to_list()
    detectable = fmt.pct(statistics.median(mdes), 1, signed=False) if mdes else "—"
    moved, total = row["comparisons_moved"], row["comparisons"]
    share = f" ({moved / total:.0%})" if total else ""
    return (
        f"{ns.label} moved (significant, better or worse) in {moved} of {total} valid "
        f"comparisons{share}: {row['better']} better, {row['worse']} worse."
        f"{_better_split(results, row['better'])} Median detectable effect {detectable}. "
        f"{_travel(readout, wins, recent)}"
    )


def _plural(verdict: str, n: int) -> str:
    label = VERDICT_LABELS[verdict]
    label = label if label.startswith("North Star") else label.lower()
    return f"{n} {label}" if n == 1 else f"{n} {label}{'es' if label.endswith('h') else 's'}"


def _better_split(results: pl.DataFrame, better: int) -> str:
    """' The 19 better are 17 North Star wins and 2 guardrail breaches (...).' ('' when
    every better comparison is a win)."""
    placed = results.filter(pl.col("better") & pl.col("rel_effect").is_not_null())
    counts = dict(placed.group_by("verdict").len().iter_rows())
    if set(counts) <= {"north_star_win"}:
        return ""
    order = sorted(counts, key=lambda v: (v != "north_star_win", VERDICTS.index(v)))
    parts = [_plural(v, counts[v]) for v in order]
    joined = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    verb = "is" if better == 1 else "are"
    why = (
        " (a guardrail got worse while the North Star improved)"
        if "guardrail_breach" in counts
        else ""
    )
    return f" The {better} better {verb} {joined}{why}."


def _travel(readout: Readout, wins: NorthStarWins, recent: int) -> str:
    """Direction of travel: the mean shrunk North Star lift over the comparisons of the latest
    `recent` experiments by start (or first exposure) date, and how many were above zero."""
    starts = {
        e.id: e.experiment.info.start or (e.first_date.isoformat() if e.first_date else "")
        for e in readout.experiments.values()
    }
    latest = sorted((s, e) for e, s in starts.items() if s)[-recent:]
    if not latest or wins.n_comparisons == 0:
        return "Direction of travel: not enough dated experiments yet."
    ids = {e for _, e in latest}
    shrunk = wins.shrunk.filter(pl.col("experiment").is_in(list(ids)))["shrunk_effect"]
    if shrunk.len() == 0:
        return "Direction of travel: not enough dated experiments yet."
    mean = float(shrunk.cast(pl.Float64).to_numpy().mean())
    up = int((shrunk > 0).sum())
    word = "up" if mean > 0 else "down" if mean < 0 else "flat"
    return (
        f"Direction of travel: {word}; over the latest {len(ids)} experiments "
        f"({shrunk.len()} comparisons) its lift averages {fmt.pct(mean, 2)} after the "
        f"winner's-curse shrinkage, {up} of {shrunk.len()} above zero."
    )
