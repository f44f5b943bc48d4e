"""Outcomes over output: the team scoreboard and the North Star's health line (North Star page).

Scoreboard, one row per owner (experiments.toml `owner`), over every experiment the team ran:
- experiments run (invalid ones included: they were run, nothing was learned);
- moved the North Star: the share of experiments with a North Star win in a treatment;
- vanity only: the share whose best verdict is vanity_only (metrics moved, the North Star not);
- shrunk North Star impact: the sum of the wins' North Star lifts after the winner's-curse
  shrinkage (nsexp.learning.proxies.cumulative_impact), so luck does not count;
- learning rate: the share of experiments that ended decisive: a win, a loss, a guardrail
  breach or a flat result (a well-powered "no effect": its interval inside ±threshold).
Experiments are judged by their most serious treatment verdict (the portfolio's order).
"""

from __future__ import annotations

import statistics

import polars as pl

from nsexp import format as fmt
from nsexp.analysis.readout import Readout
from nsexp.analysis.verdict import VERDICTS
from nsexp.learning.proxies import Impact
from nsexp.learning.tree import valid_results

DECISIVE = ("north_star_win", "north_star_loss", "guardrail_breach", "flat")
NO_OWNER = "(no owner)"
COLUMNS = (
    "Team",
    "Experiments",
    "Moved the North Star",
    "Vanity only",
    "Shrunk North Star impact",
    "Learning rate",
)


def scoreboard_frame(readout: Readout, impact: Impact) -> pl.DataFrame:
    """Per owner: counts and shares as numbers (see the module docstring), best impact first."""
    shrunk = dict(impact.wins.group_by("experiment").agg(pl.col("shrunk_effect").sum()).iter_rows())
    rows = []
    for e in readout.experiments.values():
        verdicts = [t.verdict for t in e.treatments]
        rows.append(
            {
                "owner": e.experiment.info.owner or NO_OWNER,
                "win": "north_star_win" in verdicts,
                "vanity": min(verdicts, key=VERDICTS.index) == "vanity_only",
                "decisive": "invalid" not in verdicts and any(v in DECISIVE for v in verdicts),
                "impact": shrunk.get(e.id, 0.0),
            }
        )
    frame = pl.DataFrame(
        rows,
        schema={
            "owner": pl.String,
            "win": pl.Boolean,
            "vanity": pl.Boolean,
            "decisive": pl.Boolean,
            "impact": pl.Float64,
        },
    )
    return (
        frame.group_by("owner")
        .agg(
            pl.len().alias("experiments"),
            pl.col("win").mean().alias("moved_share"),
            pl.col("vanity").mean().alias("vanity_share"),
            pl.col("impact").sum().alias("shrunk_impact"),
            pl.col("decisive").mean().alias("learning_rate"),
        )
        .sort("shrunk_impact", "owner", descending=[True, False])
    )


def scoreboard_table(frame: pl.DataFrame) -> pl.DataFrame:
    """scoreboard_frame for people: shares as percentages, the impact as a signed lift."""
    rows = [
        (
            r["owner"],
            str(r["experiments"]),
            fmt.pct(r["moved_share"], 0, signed=False),
            fmt.pct(r["vanity_share"], 0, signed=False),
            fmt.pct(r["shrunk_impact"]),
            fmt.pct(r["learning_rate"], 0, signed=False),
        )
        for r in frame.iter_rows(named=True)
    ]
    return pl.DataFrame(rows, schema={c: pl.String for c in COLUMNS}, orient="row")


def health_line(readout: Readout, movement: pl.DataFrame, impact: Impact, recent: int = 10) -> str:
    """The North Star's health in one line: how often experiments move it, its median
    detectable effect, and its direction of travel (the shrunk lifts of the latest
    experiments)."""
    ns = readout.catalog.north_star
    row = movement.filter(pl.col("metric") == ns.id).row(0, named=True)
    mdes = (
        valid_results(readout.judgement)
        .filter(pl.col("metric") == ns.id)["mde"]
        .drop_nulls()
        .to_list()
    )
    detectable = fmt.pct(statistics.median(mdes), 1, signed=False) if mdes else "—"
    moved, total = row["comparisons_moved"], row["comparisons"]
    share = f" ({moved / total:.0%})" if total else ""
    travel = _travel(readout, impact, recent)
    return (
        f"{ns.label} moved in {moved} of {total} comparisons{share}: {row['better']} better, "
        f"{row['worse']} worse. Median detectable effect {detectable}. {travel}"
    )


def _travel(readout: Readout, impact: Impact, recent: int) -> str:
    """Direction of travel: the mean shrunk North Star lift of the latest `recent`
    experiments by start (or first exposure) date, and how many pointed up."""
    starts = {
        e.id: e.experiment.info.start or (e.first_date.isoformat() if e.first_date else "")
        for e in readout.experiments.values()
    }
    latest = sorted((s, e) for e, s in starts.items() if s)[-recent:]
    if not latest or impact.shrunk is None or impact.n_comparisons == 0:
        return "Direction of travel: not enough dated experiments yet."
    ids = {e for _, e in latest}
    shrunk = impact.shrunk.filter(pl.col("experiment").is_in(list(ids)))["shrunk_effect"]
    if shrunk.len() == 0:
        return "Direction of travel: not enough dated experiments yet."
    mean = float(shrunk.cast(pl.Float64).to_numpy().mean())
    up = int((shrunk > 0).sum())
    word = "up" if mean > 0 else "down" if mean < 0 else "flat"
    return (
        f"Direction of travel: {word}; the latest {len(ids)} experiments moved it "
        f"{fmt.pct(mean, 2)} on average after shrinkage ({up} of {shrunk.len()} comparisons up)."
    )
