"""The North Star rules: one verdict per treatment variant, and the verdict vocabulary.

`leading_win` needs the tree's evidence: a validated input is a metric of role `leading` every
edge of whose path up the tree to the North Star is labelled predictive (nsexp.learning.tree
labels them; the readout's second pass hands the Edge records down, as it does the history).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from itertools import pairwise
from typing import Literal, get_args

import polars as pl

from nsexp.analysis.learned import Edge
from nsexp.config.catalog import Catalog

Verdict = Literal[
    "invalid",
    "north_star_loss",
    "guardrail_breach",
    "north_star_win",
    "leading_win",
    "vanity_only",
    "flat",
    "inconclusive",
]
NorthStarStatus = Literal["moved", "flat", "inconclusive"]

VERDICTS: tuple[Verdict, ...] = get_args(Verdict)  # in order of precedence
VERDICT_LABELS: dict[str, str] = {
    "invalid": "Invalid",
    "north_star_loss": "North Star loss",
    "guardrail_breach": "Guardrail breach",
    "north_star_win": "North Star win",
    "leading_win": "Leading win",
    "vanity_only": "Vanity only",
    "flat": "Flat",
    "inconclusive": "Inconclusive",
}
VERDICT_MEANINGS: dict[str, str] = {
    "invalid": "the data cannot be trusted (sample ratio mismatch or a failed data check)",
    "north_star_loss": "the North Star got significantly worse",
    "guardrail_breach": "a guardrail got significantly worse",
    "north_star_win": "the North Star got significantly better",
    "leading_win": "a validated input (every edge of its path to the North Star predictive) got "
    "significantly better; the North Star cannot tell yet (neither significant nor flat)",
    "vanity_only": "vanity or leading metrics improved, the North Star did not (or is shown flat)",
    "flat": "nothing improved and the North Star is shown to be flat",
    "inconclusive": "nothing moved, and the data cannot yet rule out a real North Star effect",
}


def validated_inputs(catalog: Catalog, edges: Iterable[Edge]) -> dict[str, tuple[Edge, ...]]:
    """Every validated input with the Edge records of its path to the North Star, its own edge
    first: role `leading`, every declared edge up the tree labelled predictive (an input of an
    input is judged by its path, never by its direct edge to the North Star)."""
    by_pair = {(e.child, e.parent): e for e in edges if e.in_tree}
    out = {}
    for m in catalog.metrics.values():
        path = [m.id, *catalog.ancestors(m.id)]
        found = [by_pair.get(pair) for pair in pairwise(path)]
        if (
            m.role == "leading"
            and len(path) > 1
            and all(e is not None and e.label == "predictive" for e in found)
        ):
            out[m.id] = tuple(e for e in found if e is not None)
    return out


def decide(
    results: pl.DataFrame, invalid: set[str], validated: Collection[str] = ()
) -> pl.DataFrame:
    """One row per experiment x treatment: verdict and North Star status, by the precedence
    invalid > north_star_loss > guardrail_breach > north_star_win > leading_win > vanity_only >
    flat > inconclusive. `results` needs role, significant, better, worse and flat per metric;
    `validated` are the validated inputs' ids (none: no comparison is a leading_win)."""
    ns = pl.col("role") == "north_star"
    per = results.group_by("experiment", "variant", maintain_order=True).agg(
        (ns & pl.col("significant")).any().alias("ns_significant"),
        (ns & pl.col("better")).any().alias("ns_better"),
        (ns & pl.col("worse")).any().alias("ns_worse"),
        (ns & pl.col("flat")).any().alias("ns_flat"),
        ((pl.col("role") == "guardrail") & pl.col("worse")).any().alias("guardrail_worse"),
        (pl.col("role").is_in(["leading", "vanity"]) & pl.col("better"))
        .any()
        .alias("other_better"),
        (
            (pl.col("metric").is_in(sorted(validated)) & pl.col("better")).any()
            if validated
            else pl.lit(False)
        ).alias("validated_better"),
    )
    verdict = (
        pl.when(pl.col("experiment").is_in(sorted(invalid)))
        .then(pl.lit("invalid"))
        .when(pl.col("ns_worse"))
        .then(pl.lit("north_star_loss"))
        .when(pl.col("guardrail_worse"))
        .then(pl.lit("guardrail_breach"))
        .when(pl.col("ns_better"))
        .then(pl.lit("north_star_win"))
        .when(pl.col("validated_better") & ~pl.col("ns_significant") & ~pl.col("ns_flat"))
        .then(pl.lit("leading_win"))
        .when(pl.col("other_better"))
        .then(pl.lit("vanity_only"))
        .when(pl.col("ns_flat"))
        .then(pl.lit("flat"))
        .otherwise(pl.lit("inconclusive"))
    )
    status = (
        pl.when(pl.col("ns_significant"))
        .then(pl.lit("moved"))
        .when(pl.col("ns_flat"))
        .then(pl.lit("flat"))
        .otherwise(pl.lit("inconclusive"))
    )
    return per.select(
        "experiment", "variant", verdict.alias("verdict"), status.alias("north_star_status")
    )
