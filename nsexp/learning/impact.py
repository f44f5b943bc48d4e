"""Impact that can be said aloud: the winner's-curse-shrunk relative lifts of chosen
comparisons, per comparison (their median) and combined as a compounded product, never a sum.

Relative lifts multiply: two changes of +3% each, both shipped, give 1.03 × 1.03 − 1 = +6.09%.
`compound` combines lifts as ∏(1 + lift) − 1 with an interval from their shrinkage posteriors
(each lift ~ N(mean, sd²), independent): on the log scale the sum of log(1 + lift) is close to
normal with mean Σ [log(1 + m) − s²/(2(1 + m)²)] and variance Σ s²/(1 + m)² (delta method), so
the interval is exp(mean ± z·sd) − 1. The point is ∏(1 + m) − 1, the posterior mean of the
product of independent lifts. tests/learning/test_impact.py checks both against a Monte Carlo
of the posterior.

`shrinkage` fits the shrinkage (nsexp.stats.meta.shrink: a normal prior of true effects
fitted over every valid comparison of one metric) and `impact_of` compounds a selection of its
rows; the North Star's wins (nsexp.learning.proxies), the team scoreboard and the sprint
review's targets all call these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from nsexp.analysis.readout import Judgement
from nsexp.learning.tree import valid_results
from nsexp.stats.dist import norm_ppf
from nsexp.stats.meta import Shrinkage, shrink

ASSUMPTIONS = (
    "Combined as if every change were shipped to everyone, with effects independent of each "
    "other and lasting."
)
LEVEL = 0.95
SHRUNK_COLUMNS = (
    "experiment",
    "variant",
    "verdict",
    "rel_effect",
    "rel_se",
    "rel_ci_low",
    "rel_ci_high",
    "shrunk_effect",
    "shrunk_sd",
)


@dataclass(frozen=True)
class Impact:
    """What `count` comparisons' lifts amount to: the median lift of one, the `combined`
    compounded lift ∏(1 + lift) − 1 with its `level` interval [`low`, `high`], and the
    `assumptions` under which the combination holds (one line, to be shown beside it).
    With no comparison, `median_lift` is None and the combination is exactly 0."""

    count: int
    median_lift: float | None
    combined: float
    low: float
    high: float
    assumptions: str = ASSUMPTIONS
    level: float = LEVEL


def compound(
    lifts: Sequence[float] | np.ndarray, sds: Sequence[float] | np.ndarray, level: float = LEVEL
) -> Impact:
    """Compound relative lifts (posterior means, e.g. `shrunk_effect`) with their posterior sds
    (`shrunk_sd`) into one Impact: ∏(1 + lift) − 1 with a log-normal interval at `level`.

    The lifts are relative changes of one metric in independent comparisons (fractions: 0.03 is
    +3%), each above −1; sds are ≥ 0, one per lift. Raises ValueError otherwise."""
    m, s = np.asarray(lifts, float).ravel(), np.asarray(sds, float).ravel()
    if m.shape != s.shape:
        raise ValueError(f"compound: {m.size} lifts but {s.size} sds")
    if not (np.isfinite(m).all() and np.isfinite(s).all()) or (m <= -1).any() or (s < 0).any():
        raise ValueError("compound: lifts must be finite and above −1, sds finite and ≥ 0")
    if m.size == 0:
        return Impact(0, None, 0.0, 0.0, 0.0, level=level)
    log_sd2 = (s / (1.0 + m)) ** 2
    centre = float(np.log1p(m).sum() - 0.5 * log_sd2.sum())
    spread = float(norm_ppf(0.5 + level / 2)) * float(np.sqrt(log_sd2.sum()))
    return Impact(
        count=int(m.size),
        median_lift=float(np.median(m)),
        combined=float(np.expm1(np.log1p(m).sum())),
        low=float(np.expm1(centre - spread)),
        high=float(np.expm1(centre + spread)),
        level=level,
    )


def shrinkage(readout: Judgement, metric: str) -> tuple[pl.DataFrame, Shrinkage | None]:
    """Every valid comparison of `metric` (SHRUNK_COLUMNS) with its relative lift shrunk for the
    winner's curse (`shrunk_effect`, posterior sd `shrunk_sd`): a normal prior of true lifts
    fitted over all those comparisons (returned beside them; None without any), each estimate
    pulled toward it, more so the noisier."""
    rows = (
        valid_results(readout)
        .filter(pl.col("metric") == metric)
        .drop_nulls(["rel_effect", "rel_se"])
        .filter(pl.col("rel_se") > 0)
    )
    fit = shrink(rows["rel_effect"].to_numpy(), rows["rel_se"].to_numpy()) if rows.height else None
    frame = rows.select(*SHRUNK_COLUMNS[:7]).with_columns(
        pl.Series("shrunk_effect", fit.posterior_mean if fit else [], dtype=pl.Float64),
        pl.Series("shrunk_sd", fit.posterior_sd if fit else [], dtype=pl.Float64),
    )
    return frame, fit


def impact_of(
    shrunk: pl.DataFrame,
    selection: Iterable[tuple[str, str]] | None = None,
    level: float = LEVEL,
) -> Impact:
    """The compounded impact of the chosen comparisons, (experiment, variant) pairs, of a
    `shrinkage` frame (all its rows when `selection` is None); pairs not in it are ignored."""
    if selection is not None:
        keys = pl.DataFrame(
            list(selection), schema={"experiment": pl.String, "variant": pl.String}, orient="row"
        )
        shrunk = shrunk.join(keys.unique(), on=["experiment", "variant"], how="semi")
    return compound(shrunk["shrunk_effect"].to_numpy(), shrunk["shrunk_sd"].to_numpy(), level)
