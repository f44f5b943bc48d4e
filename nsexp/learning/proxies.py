"""How much of the reported North Star wins is real (which metrics predict the North Star is
the tree's North Star edges: nsexp.learning.tree, `nsexp tree --north-star-edges`).

The wins' North Star impact (`cumulative_impact`): the North Star's relative lifts of the
`north_star_win` comparisons after empirical-Bayes shrinkage of every estimate toward the
portfolio's distribution of true effects (nsexp.learning.impact.shrinkage), which corrects
the winner's curse, compounded (nsexp.learning.impact.compound), never added up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from nsexp.analysis.readout import Judgement
from nsexp.learning.impact import Impact, compound, impact_of, shrinkage


@dataclass(frozen=True)
class NorthStarWins:
    """The North Star wins as reported and shrunk for the winner's curse: their compounded
    `impact` (shrunk) and `reported` impact (as measured), with the fitted prior; `wins` and
    `shrunk` (every valid comparison) are nsexp.learning.impact.shrinkage rows."""

    metric: str
    n_comparisons: int
    prior_mean: float
    prior_sd: float
    impact: Impact
    reported: Impact
    wins: pl.DataFrame
    shrunk: pl.DataFrame

    @property
    def n_wins(self) -> int:
        """How many comparisons are North Star wins."""
        return self.wins.height


def cumulative_impact(readout: Judgement) -> NorthStarWins:
    """The North Star wins' compounded impact: as reported, and shrunk for the winner's curse."""
    ns = readout.catalog.north_star.id
    shrunk, fit = shrinkage(readout, ns)
    wins = shrunk.filter(pl.col("verdict") == "north_star_win")
    return NorthStarWins(
        metric=ns,
        n_comparisons=shrunk.height,
        prior_mean=fit.prior_mean if fit else float("nan"),
        prior_sd=math.sqrt(fit.prior_var) if fit else float("nan"),
        impact=impact_of(wins),
        reported=compound(wins["rel_effect"].to_numpy(), wins["rel_se"].to_numpy()),
        wins=wins,
        shrunk=shrunk,
    )
