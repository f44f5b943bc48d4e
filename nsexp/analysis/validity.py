"""Which metrics may decide a verdict, and the sample the always-valid boundary is tuned to.

nsexp.stats.validity says, per metric, where a test cannot be trusted (a variance the summary
rows could not hold, too few units for the normal approximation); this module applies it to the
results frame: the method columns, `decisive`, the planned sample of --sequential, and no
significance, flatness or guardrail claim for a metric that is not decisive.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.analysis.pairs import column, text_series
from nsexp.io import Dataset
from nsexp.io.moments import FLAGS
from nsexp.stats.arms import ArmSums, rounding_error
from nsexp.stats.compare import Comparison
from nsexp.stats.cuped import CovSums, cov_moments
from nsexp.stats.sequential import DEFAULT_N
from nsexp.stats.skew import Skew
from nsexp.stats.validity import Validity, validity

COV_COLUMNS = (
    *("cov_sum", "cov_sum_sq", "num_cov_sum"),
    *("cov_shift", "cov_dev_sum", "cov_dev_sum_sq", "num_cov_dev_sum"),
)


def cov_sums(frame: pl.DataFrame, suffix: str = "") -> CovSums:
    """One arm's covariate sums from a paired frame (NaN where absent)."""
    return CovSums(*(column(frame, f"{c}{suffix}") for c in COV_COLUMNS))


def planned_n(dataset: Dataset, experiments: pl.Series, sequential_n: int | None) -> np.ndarray:
    """The sample each row's always-valid boundary is tuned to, fixed before the data: the
    experiment's planned_units (experiments.toml), else `sequential_n` (--sequential-n), else
    DEFAULT_N (GrowthBook's default)."""
    fallback = sequential_n or DEFAULT_N
    planned = {eid: x.info.planned_units or fallback for eid, x in dataset.experiments.items()}
    return experiments.replace_strict(planned, return_dtype=pl.Float64).to_numpy()


def check(
    pairs: pl.DataFrame,
    kind: np.ndarray,
    result: Comparison,
    normal_only: bool,
    arms: tuple[ArmSums, ArmSums],
    skew: Skew,
) -> Validity:
    """nsexp.stats.validity on a paired frame: an arm whose summary came from raw sums gets the
    rounding-error bound of its variances (nsexp.stats.arms.rounding_error)."""
    errors = []
    for arm, suffix in zip(arms, ("_c", ""), strict=True):
        cov = cov_sums(pairs, suffix)
        _, cov_m2, _ = cov_moments(arm, cov)
        raw = [pairs[f"{f}{suffix}"].fill_null(False).to_numpy() for f in FLAGS.values()]
        errors.append(rounding_error(arm, cov.cov_sum_sq, cov_m2, raw))
    return validity(kind, result, np.fmax(*errors), normal_only, skew)


def with_validity(
    frame: pl.DataFrame, result: Comparison, checks: Validity, n_star: np.ndarray | None
) -> pl.DataFrame:
    """Add the method columns, `decisive` and `sequential_n`; a metric that is not decisive is
    neither significant, better, worse nor flat, no guardrail is called safe or breached by it,
    and `__note` says why (merged into `note` by the caller)."""
    decisive = pl.col("decisive")
    note = text_series("__note", checks.note).replace("", None)
    planned = (
        pl.Series("sequential_n", n_star, dtype=pl.Float64)
        if n_star is not None
        else pl.lit(None, dtype=pl.Float64).alias("sequential_n")
    )
    return frame.with_columns(
        text_series("method", result.method),
        text_series("ci_method", result.ci_method),
        text_series("rel_ci_method", result.rel_ci_method),
        pl.Series("decisive", checks.decisive),
        planned,
        note,
    ).with_columns(
        *(pl.col(c) & decisive for c in ("significant", "better", "worse", "flat")),
        pl.when(pl.col("guardrail_status").is_in(["breached", "safe"]) & ~decisive)
        .then(pl.lit("unproven"))
        .otherwise(pl.col("guardrail_status"))
        .alias("guardrail_status"),
    )
