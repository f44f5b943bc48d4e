"""The readout as of a date: the data up to and including a day, read out as if it were all.

Dates are ISO, inclusive, on the data's own calendar (the `date` column: the exposure date of
unit rows, the day of summary rows). The North Star timeline (nsexp.analysis.timeline) is this
readout's North Star at every date, computed at once; `nsexp readout --as-of`, the Readout
page's `?as_of=` and the review's "changed" section read out `as_of(dataset, day)` in full.

An as-of readout of unit rows counts every outcome of the units exposed by then, including
outcomes recorded after that date (a unit row holds one value per metric, not its history):
only a pin shows exactly what was seen on the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl

from nsexp.errors import InputError, echo
from nsexp.io import Dataset

# What a person reads about an as-of readout of unit rows, wherever one is shown.
UNIT_ROWS_CAVEAT = (
    "An as-of readout of unit rows counts the units exposed up to that date with every outcome "
    "recorded for them since, so only a pin shows exactly what was seen then."
)


def as_of_sentence(day: dt.date) -> str:
    """What a readout as of `day` is, in a line for its header."""
    return f"As of {day.isoformat()}: the data up to and including that date. {UNIT_ROWS_CAVEAT}"


def parse_day(text: str, what: str = "--as-of") -> dt.date:
    """An ISO date (2026-11-22) given by a person; InputError naming `what` and the form."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{what} {echo(text)} is not a date", fix="give an ISO date such as 2026-11-22"
        ) from None


def date_span(dataset: Dataset) -> tuple[dt.date, dt.date] | None:
    """The first and the last date of the data (None when it has no dates)."""
    dated = dataset.summary["date"].drop_nulls()
    if dated.is_empty():
        return None
    return dated.min(), dated.max()  # type: ignore[return-value]


def as_of(dataset: Dataset, day: dt.date) -> Dataset:
    """The data up to and including `day`: dated summary rows and exposures (so SRM, CUPED's
    covariate sums and the days run are those of the day), experiments that had a control and
    a treatment by then, with the variants seen by then. Undated experiments (a portfolio's past
    experiments as totals) cannot be placed in time and are kept whole, cross statistics
    included; a dated experiment's metric pairs' cross statistics are kept only as totals, so
    they are dropped (the tree then assumes those within-experiment covariances zero). The
    unit checks' problems and the caps of capped metrics stay those of all the data. InputError
    for an undated dataset or a day before its first date."""
    span = date_span(dataset)
    if span is None:
        raise InputError(
            "the data has no dates, so there is no readout as of a date",
            fix="add a date column (the exposure date) to the data, or drop the as-of date",
        )
    first, last = span
    if day < first:
        raise InputError(
            f"{day.isoformat()} is before the data's first date, {first.isoformat()}",
            fix=f"give a date from {first.isoformat()} to {last.isoformat()}",
        )
    dated = set(dataset.summary.filter(pl.col("date").is_not_null())["experiment"].unique())
    by_then = pl.col("date").is_null() | (pl.col("date") <= day)
    summary = dataset.summary.filter(by_then)
    seen = summary.group_by("experiment").agg(pl.col("variant").unique())
    experiments = {
        eid: replace(x, variants=tuple(v for v in x.variants if v in arms))
        for eid, arms in seen.iter_rows()
        if (x := dataset.experiments[eid]).control in arms and len(arms) > 1
    }
    kept = pl.col("experiment").is_in(sorted(experiments))
    return replace(
        dataset,
        experiments=dict(sorted(experiments.items())),
        summary=summary.filter(kept),
        units=dataset.units.filter(by_then & kept),
        cross=dataset.cross.filter(~pl.col("experiment").is_in(sorted(dated))),
        as_of=day,
    )
