"""The North Star rules: one verdict per treatment variant, with reasons a person can read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import polars as pl

from nsexp import format as fmt
from nsexp.learning.history import MetricHistory, history_reason

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


def describe(row: dict) -> str:
    """'Page views +8.1% [+5.2%, +11.0%], p < 0.001' for one metric's result row.

    The interval is the one that agrees with the adjusted p-value (or the credible interval
    under the Bayesian engine), so a quoted figure never contradicts its verdict.
    """
    name = row.get("label") or row["metric"]
    if row.get("engine") == "bayesian":
        return (
            f"{name} {fmt.pct(row['rel_effect'])} "
            f"{fmt.pct_ci(row['rel_cred_low'], row['rel_cred_high'])}, "
            f"chance to win {fmt.chance(row['chance_to_win'])}"
        )
    if row["rel_effect"] is None and row.get("abs_effect") is not None:
        # control at 0: no relative lift, so give the absolute change and its interval
        kind = row.get("type", "mean")
        low = row.get("abs_ci_adj_low", row["abs_ci_low"])
        high = row.get("abs_ci_adj_high", row["abs_ci_high"])
        return (
            f"{name} {fmt.effect(row['abs_effect'], kind)} "
            f"[{fmt.effect(low, kind)}, {fmt.effect(high, kind)}], "
            f"{fmt.p_value(row['p_adjusted'])}"
        )
    low = row.get("rel_ci_adj_low", row["rel_ci_low"])
    high = row.get("rel_ci_adj_high", row["rel_ci_high"])
    p = fmt.p_value(row["p_adjusted"])
    return f"{name} {fmt.pct(row['rel_effect'])} {fmt.pct_ci(low, high)}, {p}"


def north_star_clause(ns: dict, alpha: float) -> str:
    """How the North Star moved and what that means: moved, flat or inconclusive."""
    label = ns.get("label") or ns["metric"]
    name = f"the North Star {label}"
    limit = fmt.threshold(ns["practical_threshold"])
    if ns["significant"]:
        return f"{name} moved {describe(ns).removeprefix(label + ' ')}"
    band = fmt.pct_ci(ns["equivalence_ci_low"], ns["equivalence_ci_high"])
    level = f"{(1 - 2 * alpha) * 100:g}% CI"
    if ns["flat"]:
        return (
            f"{name} moved {fmt.pct(ns['rel_effect'])} {band} ({level}), "
            f"inside its {limit} threshold: flat"
        )
    need, have = ns["units_needed"], min(ns["n_control"], ns["n_treatment"])
    tail = (
        f"; about {fmt.count(need)} units per arm (now {fmt.count(have)}) "
        f"would tell a {limit} effect from zero"
        if need is not None and need == need
        else ""
    )
    return (
        f"{name} moved {fmt.pct(ns['rel_effect'])} {band} ({level}), "
        f"too uncertain to rule out a {limit} effect: inconclusive{tail}"
    )


def guardrail_caveats(metrics: list[dict]) -> list[str]:
    """Risk-aware shipping (Schultzberg et al. 2024): name guardrails not shown safe."""
    out = []
    for m in metrics:
        status = m.get("guardrail_status")
        if m["role"] != "guardrail" or status in (None, "safe", "breached"):
            continue
        margin = m.get("non_inferiority_margin")
        name = m.get("label") or m["metric"]
        if margin is None or margin != margin:
            out.append(f"Guardrail {name} is not shown safe: it has no non_inferiority_margin.")
            continue
        power = m.get("guardrail_power")
        odds = f" (the test had {power * 100:.0f}% power)" if power == power and power else ""
        out.append(
            f"Guardrail {name} is not shown safe: the data cannot yet rule out it being "
            f"more than {margin * 100:g}% worse{odds}; ship with care."
        )
    return out


def explain(
    verdict: str,
    metrics: list[dict],
    alpha: float,
    problems: list[str],
    history: Mapping[str, MetricHistory] | None = None,
) -> list[str]:
    """Plain-English reasons for one treatment's verdict, naming metrics and their figures.

    `metrics` are the result rows of that treatment (one dict per metric), `problems` the
    experiment's failed data checks (SRM included), `history` optional per-metric records of
    past experiments (nsexp.learning.proxies.history_of) quoted for the metrics that improved.
    """
    ns = next(m for m in metrics if m["role"] == "north_star")
    better = [m for m in metrics if m["better"] and m["role"] != "north_star"]
    worse = [m for m in metrics if m["worse"] and m["role"] != "north_star"]
    guard_worse = [m for m in worse if m["role"] == "guardrail"]
    reasons: list[str] = []
    if verdict == "invalid":
        reasons += [
            f"{p[0].upper()}{p[1:]}: no effect in this experiment can be trusted." for p in problems
        ]
    elif verdict == "north_star_loss":
        reasons.append(f"The North Star got worse: {describe(ns)}.")
    elif verdict == "guardrail_breach":
        reasons += [f"Guardrail got worse: {describe(m)}." for m in guard_worse]
    elif verdict == "north_star_win":
        reasons.append(f"The North Star improved: {describe(ns)}.")
        reasons += guardrail_caveats(metrics)
        rel = ns["rel_effect"]  # None when the control is 0: no relative size to judge
        if rel is not None and abs(rel) < ns["practical_threshold"]:
            reasons.append(
                f"The lift is real but smaller than the {fmt.threshold(ns['practical_threshold'])} "
                "the team set as worth acting on."
            )
    elif verdict == "vanity_only":
        moved = "; ".join(describe(m) for m in better)
        reasons.append(f"{moved}, but {north_star_clause(ns, alpha)}.")
    elif verdict == "flat":
        reasons.append(f"No metric improved, and {north_star_clause(ns, alpha)}.")
    else:
        reasons.append(f"No metric moved significantly, and {north_star_clause(ns, alpha)}.")
    if verdict in ("north_star_win", "north_star_loss", "guardrail_breach"):
        if verdict != "guardrail_breach" and guard_worse:
            reasons += [f"A guardrail also got worse: {describe(m)}." for m in guard_worse]
        if verdict != "vanity_only" and better:
            reasons.append("Also better: " + "; ".join(describe(m) for m in better) + ".")
    others_worse = [m for m in worse if m["role"] != "guardrail"]
    if others_worse and verdict != "invalid":
        reasons.append("Worse: " + "; ".join(describe(m) for m in others_worse) + ".")
    if history and verdict != "invalid":
        reasons += [
            history_reason(m, history[m["metric"]]) for m in better if m["metric"] in history
        ]
    return reasons
