"""Where a metric's test cannot be trusted: a note, and no say in the verdict.

- A variance the input could not hold: plain sum/sum_sq summary rows lose the variance to
  Σy² − (Σy)²/n when the mean is large against the spread. Where the rounding-error bound of
  that subtraction (nsexp.stats.arms.rounding_error) exceeds LOSSY (0.1% of the variance), the
  metric gets no test at all: no p-value and no interval, rather than p = 0 and a zero-width
  interval.
- Too few units for the normal approximation behind Welch's t and the delta-method z-test:
  fewer than MIN_UNITS in an arm of a mean or ratio metric (the rule of thumb of 30 for the
  central limit theorem; heavy-tailed metrics need more, Kohavi et al. 2020, ch. 17). The test
  is shown, with a note, but cannot decide the verdict on its own.
- No variation within either arm (every unit of an arm has the same value, e.g. 40 × 3.00 against
  40 × 3.01): a data problem or a constant metric, not evidence; Welch's standard error is 0, so
  the test would call any difference certain with a zero-width interval. No test, no say in the
  verdict. (Proportions are exempt: an arm at 0% or 100% has few events or non-events, and the
  exact methods hold there.)
- Proportions with few events use exact methods (nsexp.stats.exact), valid at any size; only
  the always-valid boundary and the Bayesian posterior, which rest on the normal
  approximation, make such a metric non-decisive.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nsexp.stats.compare import Comparison
from nsexp.stats.exact import FEW_EVENTS
from nsexp.stats.skew import RULE, SKEW_TEST, Skew, difference_skewness, units_for_rule

FloatArray = np.ndarray
LOSSY = 1e-3
MIN_UNITS = 30

LOST = (
    "the summary rows' sum and sum_sq cannot hold this metric's variance (its mean is too "
    "large against its spread for Σy² − (Σy)²/n): no test; give mean and variance, or "
    "unit-level rows"
)
TINY = (
    f"fewer than {MIN_UNITS} units in an arm: the normal approximation behind the test may "
    "not hold, so this metric cannot decide the verdict on its own"
)
EXACT = (
    f"fewer than {FEW_EVENTS} events (or non-events) in an arm: Fisher's exact test, "
    "Newcombe's interval and the adjusted log ratio instead of the z-test"
)
CONSTANT = (
    "the metric does not vary within either arm (every unit of an arm has the same value): a "
    "data problem or a constant metric; no test, and it decides nothing"
)
FEW = (
    f"fewer than {FEW_EVENTS} events (or non-events) in an arm: the always-valid boundary and "
    "the Bayesian posterior rest on the normal approximation, so this metric cannot decide the "
    "verdict on its own"
)


SKEWED = (
    "the smaller arm is too skewed for the normal approximation (Kohavi's n > 355·s² rule, "
    "judged on the difference of means): Welch's t corrected for the skewness decides"
)
EXPONENTIAL = 2.0  # the skewness of an exponential metric, mild for spend or time
UNCHECKED = "skewness not checked: the summary rows carry no third moment (sum_cu or skewness)"


HELD = "cannot decide yet"


def skew_blocked(n_units: float) -> str:
    """Why a skewed metric cannot decide under the normal-only engines, with the units that
    would let it."""
    return (
        f"{HELD}: the smaller arm is too skewed for the normal approximation the "
        f"always-valid boundary and the Bayesian posterior rest on; about {n_units:,.0f} units "
        "in the smaller arm would"
    )


class Validity(NamedTuple):
    """Per entry: may it decide the verdict, does it get no test at all (its variance lost, or
    none within either arm), and the note (or ""; an object array of str: a fixed-width copy
    of 20,000 notes is a 15 MB array, and the caller's Polars column is built from a list)."""

    decisive: np.ndarray
    lost: np.ndarray
    note: np.ndarray


def validity(
    kind: np.ndarray,
    result: Comparison,
    error: FloatArray,
    normal_only: bool,
    skew: Skew | None = None,
) -> Validity:
    """Check every entry; `error` is the larger of the arms' relative rounding-error bounds on
    their variances (0 where aggregated stably: nsexp.stats.arms.rounding_error),
    `normal_only` whether the readout's inference rests on the normal approximation alone
    (sequential or Bayesian), so that exact tests cannot stand in."""
    moments = np.isin(kind, ("mean", "ratio"))
    with np.errstate(invalid="ignore"):
        lost = moments & (np.nan_to_num(error, nan=0.0) > LOSSY)
        tiny = moments & (np.minimum(result.n_control, result.n_treatment) < MIN_UNITS) & ~lost
        constant = (
            moments & (result.control_unit_var == 0) & (result.treatment_unit_var == 0) & ~lost
        )
    few = result.ci_method == "newcombe"
    blocked = few & normal_only
    # notes are picked as codes into object arrays and joined where two apply: fixed-width
    # string arrays of these sentences cost more than the statistics for 1,000 experiments
    note = np.array(["", LOST, CONSTANT, TINY, FEW, EXACT], dtype=object)[
        np.select([lost, constant, tiny, blocked, few], [1, 2, 3, 4, 5], default=0)
    ]
    untestable = lost | constant
    if skew is None:
        return Validity(decisive=~(untestable | tiny | blocked), lost=untestable, note=note)
    skewed = skew.skewed & ~untestable & ~tiny
    small = np.minimum(result.n_control, result.n_treatment)
    needed = units_for_rule(skew.a, small)
    # unchecked, and unequal enough for an exponential metric's skewness to break the rule
    plausible = np.abs(difference_skewness(EXPONENTIAL, result.n_control, result.n_treatment))
    unchecked = (kind == "mean") & ~skew.checked & (plausible > RULE) & ~untestable
    extra = np.array(["", SKEWED, UNCHECKED], dtype=object)[
        np.where(result.method == SKEW_TEST, 1, np.where(unchecked, 2, 0))
    ]
    held = np.flatnonzero(skewed & normal_only)
    extra[held] = [skew_blocked(n) for n in needed[held]]
    both = (note != "") & (extra != "")
    note = np.where(note == "", extra, note)
    note[both] = note[both] + "; " + extra[both]
    decisive = ~(untestable | tiny | blocked | (skewed & normal_only))
    return Validity(decisive=decisive, lost=untestable, note=note)


def without_test(result: Comparison, lost: np.ndarray) -> Comparison:
    """The comparison with no standard error, interval or p-value where the variance is lost
    (the estimates stay: the means are exact, only the spread is not)."""
    nan = np.full(np.shape(lost), np.nan)
    fields = (
        "abs_se",
        "abs_ci_low",
        "abs_ci_high",
        "rel_se",
        "rel_ci_low",
        "rel_ci_high",
        "statistic",
        "p_value",
        "control_unit_var",
        "treatment_unit_var",
    )
    return result._replace(**{f: np.where(lost, nan, getattr(result, f)) for f in fields})
