"""How much of the reported North Star wins is real (which metrics predict the North Star is
the tree's North Star edges: nsexp.learning.tree, `nsexp tree --north-star-edges`).

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
from nsexp.learning.tree import valid_results
from nsexp.stats.meta import shrink


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
