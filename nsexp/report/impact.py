"""Compounded impact (nsexp.learning.impact.Impact) in words every surface shares: per
comparison (the median lift and how many) and combined (the compounded lift, its interval and
the assumptions), never a sum of relative lifts."""

from __future__ import annotations

from nsexp import format as fmt
from nsexp.analysis.results import finite
from nsexp.learning.impact import Impact


def per_win(impact: Impact, noun: str = "win") -> str:
    """'+2.7% (17 wins)': the median lift and how many; '—' when there is none."""
    if impact.count == 0 or impact.median_lift is None:
        return "—"
    nouns = noun if impact.count == 1 else f"{noun}s"
    return f"{fmt.pct(impact.median_lift)} ({impact.count} {nouns})"


def combined(impact: Impact) -> str:
    """'+55.3% [+49.0%, +61.9%]': the compounded lift with its interval; '—' when none."""
    if impact.count == 0:
        return "—"
    return f"{fmt.pct(impact.combined)} {fmt.pct_ci(impact.low, impact.high)}"


def impact_sentence(impact: Impact, what: str) -> str:
    """One sentence a person can say aloud: per comparison, combined with its interval, and the
    assumptions ('17 North Star wins: +2.7% per win (median); compounded, +55.3% [...] ...')."""
    if impact.count == 0:
        return f"No {what} yet, so no impact to combine."
    level = f"{impact.level * 100:g}%"
    return (
        f"{impact.count} {what}: {fmt.pct(impact.median_lift)} for the median one; compounded "
        f"(∏(1 + lift) − 1, not a sum), {fmt.pct(impact.combined)} with a {level} interval "
        f"{fmt.pct_ci(impact.low, impact.high)}. {impact.assumptions}"
    )


def impact_fields(impact: Impact) -> dict[str, float | int | str | None]:
    """The Impact as plain data for JSON."""
    return {
        "count": impact.count,
        "median_lift": finite(impact.median_lift),
        "combined": finite(impact.combined),
        "low": finite(impact.low),
        "high": finite(impact.high),
        "level": impact.level,
        "assumptions": impact.assumptions,
    }
