"""Numbers for people: percentages, p-values, counts and metric values, in one place; one
format per kind of number (`figure`), the kind declared with each field of the result model."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, TypeGuard

# The kinds of number (and text) a published figure is: each reads one way wherever it appears.
Kind = Literal[
    "text",  # names, statuses, notes: as they are
    "flag",  # yes / no
    "count",  # units, days: 12,345
    "mean",  # a metric's value in its own unit (proportions as percentages)
    "difference",  # treatment − control in the metric's unit (percentage points for proportions)
    "lift",  # relative change, signed: +8.1%
    "share",  # a size or fraction, unsigned: 3.4%
    "loss",  # an expected loss of lift, small, unsigned: 0.12%
    "chance",  # a probability: 87.4%, never a certain-looking 100.0%
    "p",  # a p-value: < 0.001, 0.034, 0.41
    "threshold",  # a band either side of zero: ±1%
    "number",  # a coefficient or standard error: 3 significant digits
]

MINUS = "−"


def _shown(x: float | None) -> TypeGuard[float]:
    """Whether a figure can be shown: present and finite (NaN and None read as '—')."""
    return x is not None and math.isfinite(x)


def pct(x: float | None, digits: int = 1, signed: bool = True) -> str:
    """0.081 -> '+8.1%'; uses a real minus sign; '—' when missing."""
    if x is None or not math.isfinite(x):  # _shown, inline: a readout formats ~40,000
        return "—"
    scaled = abs(x) * 100
    if signed and round(scaled, digits) != 0:
        return f"{'+' if x > 0 else MINUS}{scaled:.{digits}f}%"
    return f"{scaled:.{digits}f}%"


def pct_ci(low: float | None, high: float | None, digits: int = 1) -> str:
    """'[+5.2%, +11.0%]'; a bound that would round to zero gets the digits that show its sign
    ('[+0.03%, +392.7%]'), so an interval never seems to touch zero when it does not."""
    return f"[{_bound(low, digits)}, {_bound(high, digits)}]"


def _bound(x: float | None, digits: int) -> str:
    if x is None or not math.isfinite(x) or x == 0:
        return pct(x, digits)
    scaled, sign = abs(x) * 100, "+" if x > 0 else MINUS
    for more in range(digits, digits + 4):
        if round(scaled, more) != 0:  # pct(x, more), signed
            return f"{sign}{scaled:.{more}f}%"
    return f"{sign}{0:.{digits + 3}f}%"


def p_value(p: float | None) -> str:
    """'p < 0.001', 'p = 0.034', 'p = 0.41'."""
    if not _shown(p):
        return "p = —"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def p_bare(p: float | None) -> str:
    """p_value without the 'p': '< 0.001', '0.034', '—' (for a column headed p)."""
    return p_value(p).removeprefix("p ").removeprefix("= ")


def chance(x: float | None) -> str:
    """A probability for people: 0.874 -> '87.4%'; never a certain-looking '100.0%' or '0.0%'
    (0.99996 -> '>99.9%', 0.00004 -> '<0.1%'); '—' when missing."""
    if not _shown(x):
        return "—"
    shown = round(x * 100, 1)
    if shown >= 100:
        return ">99.9%"
    if shown <= 0:
        return "<0.1%"
    return f"{shown:.1f}%"


def count(n: float | None) -> str:
    """12345 -> '12,345'."""
    return "—" if not _shown(n) else f"{round(n):,}"


def _decimals(scale: float) -> int:
    """Decimals that show three significant digits of `scale` (none from 100 up)."""
    return max(0, 2 - math.floor(math.log10(abs(scale)))) if scale else 2


def value(x: float | None, kind: str, scale: float | None = None) -> str:
    """A metric value: proportions as percentages to two decimals, others to three significant
    digits of `scale` (the largest value shown beside it, so a row reads with one number of
    decimals: 6.20 beside 6.19, 0.65 beside 1.42; x itself by default), thousands separated."""
    if not _shown(x):
        return "—"
    if kind == "proportion":
        return pct(x, 2, signed=False)
    return f"{x:,.{_decimals(scale if _shown(scale) else x)}f}"


def effect(x: float | None, kind: str, scale: float | None = None) -> str:
    """An absolute difference, signed: percentage points for proportions, others to three
    significant digits of `scale` (x itself by default; trailing zeros kept: +1.80)."""
    if not _shown(x):
        return "—"
    if kind == "proportion":
        text = f"{abs(x) * 100:.2f} pp"
    else:
        text = f"{abs(x):,.{_decimals(scale if _shown(scale) else x)}f}"
    if float(text.removesuffix(" pp").replace(",", "")) == 0:
        return text  # no sign on a figure that reads as zero
    return ("+" if x > 0 else MINUS) + text


def threshold(x: float) -> str:
    """0.01 -> '±1%'."""
    return f"±{x * 100:g}%"


def _number(x: float | None) -> str:
    return f"{x:.3g}" if _shown(x) else "—"


def _flag(x: bool | None) -> str:
    return "—" if x is None else "yes" if x else "no"


_BY_KIND: dict[Kind, Callable[[Any, str], str]] = {  # "mean" and "difference": figure()
    "text": lambda x, _: "" if x is None else str(x),
    "flag": lambda x, _: _flag(x),
    "count": lambda x, _: count(x),
    "lift": lambda x, _: pct(x),
    "share": lambda x, _: pct(x, signed=False),
    "loss": lambda x, _: pct(x, 2, signed=False),
    "chance": lambda x, _: chance(x),
    "p": lambda x, _: p_bare(x),
    "threshold": lambda x, _: threshold(x) if _shown(x) else "—",
    "number": lambda x, _: _number(x),
}


def figure(x: Any, kind: Kind, metric_type: str = "mean", scale: float | None = None) -> str:
    """One figure as people read it, by its kind of number; `metric_type` (proportion, mean,
    ratio) decides how a metric's own values and differences read, and `scale` (the largest
    value shown beside it) their decimals."""
    if kind == "mean":
        return value(x, metric_type, scale)
    if kind == "difference":
        return effect(x, metric_type, scale)
    return _BY_KIND[kind](x, metric_type)


def interval(low: Any, high: Any, kind: Kind, metric_type: str = "mean") -> str:
    """An interval of one kind of number, both bounds to the same decimals: '[+5.2%, +11.0%]'
    (a lift's bounds keep the digits that show their sign: pct_ci)."""
    if kind == "lift":
        return pct_ci(low, high)
    bounds = [abs(b) for b in (low, high) if _shown(b)]
    scale = max(bounds) if bounds else None
    return f"[{figure(low, kind, metric_type, scale)}, {figure(high, kind, metric_type, scale)}]"
