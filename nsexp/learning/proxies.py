"""Which metrics predict the North Star (the North Star edges of the tree, nsexp.learning.tree),
and how much of the reported North Star wins is real.

Effects are relative lifts (treatment ÷ control − 1) with their delta-method standard errors,
oriented by each metric's direction (×−1 for "decrease" metrics), over the valid comparisons
(verdict not `invalid`). `proxy_quality` is each metric's edge to the North Star, under the
proxy report's column names (`metric`, `n_ns_followed`, `ns_followed_share`, ...): counts,
corrected correlation and slope with intervals, `within_covariance` (computed from cross sums,
or assumed zero) and the label, all defined once in nsexp.learning.tree.

Cumulative North Star impact (`cumulative_impact`): the sum of the North Star's relative effects
over the `north_star_win` comparisons, naive and after empirical-Bayes shrinkage of every
estimate toward the portfolio's distribution of true effects (normal-normal, prior fitted by
the method of moments over all valid comparisons), which corrects the winner's curse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from nsexp.analysis.readout import Judgement
from nsexp.learning.tree import (
    LABEL_MEANINGS,
    LABELS,
    MIN_COMPARISONS,
    PREDICTIVE_CORRELATION,
    RESAMPLING,
    VANITY_MAX_CORRELATION,
    VANITY_MAX_FOLLOWED,
    VANITY_MIN_MOVED,
    Label,
    Resampling,
    edge_comparisons,
    edge_quality,
    oriented_results,
)
from nsexp.stats.meta import shrink

__all__ = [
    "LABELS",
    "LABEL_MEANINGS",
    "MIN_COMPARISONS",
    "PREDICTIVE_CORRELATION",
    "VANITY_MAX_CORRELATION",
    "VANITY_MAX_FOLLOWED",
    "VANITY_MIN_MOVED",
    "Impact",
    "Label",
    "comparisons",
    "cumulative_impact",
    "proxies",
    "proxy_quality",
    "valid_results",
]

COMPARISON_COLUMNS = (
    "experiment",
    "variant",
    "metric",
    "role",
    "effect",
    "se",
    "significant",
    "ns_effect",
    "ns_se",
    "ns_significant",
)
_TO_EDGE = {
    "metric": "child",
    "ns_effect": "parent_effect",
    "ns_se": "parent_se",
    "ns_significant": "parent_significant",
}
_FROM_EDGE = {
    "child": "metric",
    "n_parent_followed": "n_ns_followed",
    "parent_followed": "ns_followed_share",
    "parent_true_sd": "ns_true_sd",
}


@dataclass(frozen=True)
class Impact:
    """Cumulative North Star impact of the wins, naive and shrunk for the winner's curse."""

    metric: str
    n_comparisons: int
    n_wins: int
    naive_total: float
    shrunk_total: float
    shrunk_total_sd: float
    prior_mean: float
    prior_sd: float
    wins: pl.DataFrame
    shrunk: pl.DataFrame | None = None  # every valid comparison's North Star, shrunk

    @property
    def real_share(self) -> float | None:
        """Shrunk total ÷ naive total: how much of the reported lift is likely real."""
        return self.shrunk_total / self.naive_total if self.naive_total > 0 else None


def valid_results(readout: Judgement) -> pl.DataFrame:
    """The readout's result rows of valid comparisons (verdict not `invalid`), with the verdict."""
    return oriented_results(readout).drop("effect", "se", "sign")


def comparisons(readout: Judgement) -> pl.DataFrame:
    """One row per valid comparison x non-North-Star metric, beside the North Star's effect
    (COMPARISON_COLUMNS, plus `within_cov`: their computed sampling covariance, or null)."""
    ns = readout.catalog.north_star.id
    edges = [(m.id, ns, True) for m in readout.catalog.metrics.values() if m.id != ns]
    roles = pl.DataFrame(
        {
            "metric": [m.id for m in readout.catalog.metrics.values()],
            "role": [m.role for m in readout.catalog.metrics.values()],
        }
    )
    frame = edge_comparisons(readout, edges).rename({v: k for k, v in _TO_EDGE.items()})
    return frame.join(roles, on="metric").select(*COMPARISON_COLUMNS, "within_cov")


def proxy_quality(
    frame: pl.DataFrame,
    *,
    within_cov: str | None = None,
    resampling: Resampling = RESAMPLING,
) -> pl.DataFrame:
    """One row per metric from a comparisons frame (see COMPARISON_COLUMNS), ranked by quality:
    the metric's edge to the North Star (nsexp.learning.tree.edge_quality).

    `within_cov` names a column with each comparison's sampling covariance of (effect,
    ns_effect); without it that covariance is assumed zero.
    """
    if frame.height == 0:
        return pl.DataFrame()
    edges = frame.rename(_TO_EDGE).with_columns(
        pl.lit("north_star").alias("parent"),
        pl.lit(True).alias("in_tree"),
        (pl.col(within_cov) if within_cov else pl.lit(None, pl.Float64)).alias("within_cov"),
    )
    roles = frame.group_by("metric").agg(pl.col("role").first())
    table = (
        edge_quality(
            edges.sort("child"),
            within=within_cov is not None,
            resampling=resampling,
        )
        .rename(_FROM_EDGE)
        .join(roles, on="metric")
        .drop("parent", "in_tree")
    )
    return (
        table.with_columns(
            pl.col("label").replace_strict(LABELS, list(range(len(LABELS)))).alias("_order")
        )
        .sort("_order", "corrected_correlation", descending=[False, True], nulls_last=True)
        .drop("_order")
    )


def proxies(readout: Judgement, *, resampling: Resampling = RESAMPLING) -> pl.DataFrame:
    """Proxy quality of every non-North-Star metric over the readout's valid comparisons: the
    North Star edges of the tree, with the computed within-experiment covariances."""
    return proxy_quality(comparisons(readout), within_cov="within_cov", resampling=resampling)


def cumulative_impact(readout: Judgement) -> Impact:
    """Sum of the North Star effects of the wins: naive, and shrunk for the winner's curse."""
    ns = valid_results(readout).filter(pl.col("role") == "north_star")
    ns = ns.drop_nulls(["rel_effect", "rel_se"]).filter(pl.col("rel_se") > 0)
    est, se = ns["rel_effect"].to_numpy(), ns["rel_se"].to_numpy()
    fit = shrink(est, se) if est.size else None
    with_post = ns.select(
        "experiment", "variant", "verdict", "rel_effect", "rel_se", "rel_ci_low", "rel_ci_high"
    ).with_columns(
        pl.Series("shrunk_effect", fit.posterior_mean if fit else [], dtype=pl.Float64),
        pl.Series("shrunk_sd", fit.posterior_sd if fit else [], dtype=pl.Float64),
    )
    wins = with_post.filter(pl.col("verdict") == "north_star_win")
    return Impact(
        metric=readout.catalog.north_star.id,
        n_comparisons=ns.height,
        n_wins=wins.height,
        naive_total=float(wins["rel_effect"].sum()),
        shrunk_total=float(wins["shrunk_effect"].sum()),
        shrunk_total_sd=math.sqrt(float((wins["shrunk_sd"] ** 2).sum())),
        prior_mean=fit.prior_mean if fit else float("nan"),
        prior_sd=float(np.sqrt(fit.prior_var)) if fit else float("nan"),
        wins=wins,
        shrunk=with_post,
    )
