"""What an interval is, named once: the Methods lines, the reasons, tables, charts and cards all
name an interval through `interval_name`, so no surface calls an adjusted, always-valid or
credible interval a plain confidence interval (nor a plain one adjusted).

It lives in the analysis layer, not nsexp.report, because the Methods lines and the reasons
(both built here) name intervals too, and the layers point one way.
"""

from __future__ import annotations

from typing import Literal

from nsexp.analysis.settings import Settings

# Which interval of a result: `plain` the (1 − α) interval of each test alone (rel_ci_*,
# abs_ci_*), `unadjusted` the same named beside an adjusted one (as not adjusted for its tests),
# `adjusted` the one that agrees with p_adjusted (*_ci_adj_*), `flat` the (1 − 2α) interval of
# the flat test (equivalence_ci_*), `credible` the posterior's (rel_cred_*), and `decision` the
# one that decides significance: credible under the Bayesian engine, else adjusted.
IntervalKind = Literal["decision", "plain", "unadjusted", "adjusted", "flat", "credible"]
CORRECTION_SHORT = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "no correction"}


def interval_name(
    settings: Settings,
    kind: IntervalKind = "decision",
    tests: int | None = None,
    *,
    short: bool = False,
) -> str:
    """'95% confidence interval, adjusted for 7 tests (Holm)', '95% always-valid interval',
    '95% credible interval', '95% confidence interval, not adjusted for the 7 tests', '90%
    confidence interval', ...: what an interval of a readout under these settings is. `tests`:
    how many tests its correction counts (MetricResult.family_size; None where one name covers
    every metric). `short`: a table header's form ('Adjusted CI (95%, Holm)')."""
    if kind == "decision":
        kind = "credible" if settings.engine == "bayesian" else "adjusted"
    unadjusted = kind == "unadjusted"
    flat = kind == "flat"
    level = f"{(1 - (2 if flat else 1) * settings.alpha) * 100:g}%"
    if kind == "credible" or (flat and settings.engine == "bayesian"):
        return f"Credible interval ({level})" if short else f"{level} credible interval"
    valid = "always-valid " if settings.sequential else ""
    if short:
        if kind == "adjusted":
            name = f"{valid}adjusted CI ({level}, {CORRECTION_SHORT[settings.correction]})"
        else:
            qualifier = "flat-test " if flat else "unadjusted " if unadjusted else ""
            name = f"{qualifier}{valid}CI ({level})"
        return name[0].upper() + name[1:]
    name = f"{level} {valid}interval" if valid else f"{level} confidence interval"
    if unadjusted:
        return name + _not_adjusted(tests)
    return name + (_adjustment(settings, tests) if kind == "adjusted" else "")


def _not_adjusted(tests: int | None) -> str:
    """', not adjusted for the 7 tests'; '' where one test needs no adjustment."""
    if tests is not None and tests < 2:
        return ""
    return (
        ", not adjusted for multiple testing"
        if tests is None
        else f", not adjusted for the {tests} tests"
    )


def _adjustment(settings: Settings, tests: int | None) -> str:
    """', adjusted for 7 tests (Holm)', or that it is not; '' where one test needs none."""
    if tests is not None and tests < 2:
        return ""
    if settings.correction == "none":
        return (
            ", not adjusted for multiple testing"
            if tests is None
            else (f", not adjusted for the {tests} tests")
        )
    many = "multiple testing" if tests is None else f"{tests} tests"
    return f", adjusted for {many} ({CORRECTION_SHORT[settings.correction]})"
