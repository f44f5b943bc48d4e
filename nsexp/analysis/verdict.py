"""The North Star rules: one verdict per treatment variant, and the verdict vocabulary."""

from __future__ import annotations

from typing import Literal, get_args

import polars as pl

Verdict = Literal[
    "invalid",
    "north_star_loss",
    "guardrail_breach",
    "north_star_win",
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
    "vanity_only": "Vanity only",
    "flat": "Flat",
    "inconclusive": "Inconclusive",
}
VERDICT_MEANINGS: dict[str, str] = {
    "invalid": "the data cannot be trusted (sample ratio mismatch or a failed data check)",
    "north_star_loss": "the North Star got significantly worse",
    "guardrail_breach": "a guardrail got significantly worse",
    "north_star_win": "the North Star got significantly better",
    "vanity_only": "vanity or leading metrics improved, the North Star did not",
    "flat": "nothing improved and the North Star is shown to be flat",
    "inconclusive": "nothing moved, and the data cannot yet rule out a real North Star effect",
}


def decide(results: pl.DataFrame, invalid: set[str]) -> pl.DataFrame:
    """One row per experiment x treatment: verdict and North Star status, by the precedence
    invalid > north_star_loss > guardrail_breach > north_star_win > vanity_only > flat >
    inconclusive. `results` needs role, significant, better, worse and flat per metric."""
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
