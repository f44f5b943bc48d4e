"""One-line notes for people on CUPED, power, guardrails, Bayesian and bootstrap figures."""

from __future__ import annotations

import math

from nsexp import format as fmt
from nsexp.analysis.readout import TreatmentReadout


def _ok(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def depth_lines(t: TreatmentReadout) -> list[str]:
    """Notes under a treatment's reasons: variance removed by CUPED, the North Star's power,
    each guardrail's non-inferiority status, the Bayesian figures and bootstrap intervals."""
    return row_notes(t.metrics.to_dicts(), t.north_star.get("engine", "frequentist"))


def row_notes(rows: list[dict], engine: str) -> list[str]:
    """depth_lines from one comparison's metric dicts (result rows, or the JSON's metrics, as
    a pin keeps them); `engine` says whether the Bayesian figures are the readout's own."""
    lines = []
    cuped = [r for r in rows if _ok(r.get("variance_reduction"))]
    if cuped:
        lines.append(
            "CUPED: "
            + "; ".join(f"{_name(r)} variance {fmt.pct(-r['variance_reduction'])}" for r in cuped)
            + "."
        )
    ns = next(r for r in rows if r["role"] == "north_star")
    if _ok(ns.get("mde")) and not ns["significant"]:
        text = f"North Star detectable effect today: {fmt.pct(ns['mde'], signed=False)}"
        if _ok(ns.get("days_needed")) and ns["days_needed"] > 0:
            text += (
                f"; about {fmt.count(ns['days_needed'])} more days at current traffic to "
                f"detect {fmt.threshold(ns['practical_threshold'])}"
            )
        lines.append(text + ".")
    if engine == "bayesian" and _ok(ns.get("chance_to_win")):
        lines.append(
            f"North Star chance to beat control {fmt.chance(ns['chance_to_win'])}, "
            f"expected loss if shipped {fmt.pct(ns['expected_loss'], 2, signed=False)}."
        )
    for r in rows:
        if r["role"] != "guardrail" or not r.get("guardrail_status"):
            continue
        margin = r.get("non_inferiority_margin")
        if not _ok(margin):
            continue
        power = r.get("guardrail_power")
        odds = f", power {power * 100:.0f}%" if _ok(power) else ""
        lines.append(
            f"Guardrail {_name(r)}: {r['guardrail_status']} "
            f"(non-inferiority margin {margin * 100:g}%{odds})."
        )
    boot = [r for r in rows if _ok(r.get("rel_ci_boot_low"))]
    if boot:
        lines.append(
            "Bootstrap CI: "
            + "; ".join(
                f"{_name(r)} {fmt.pct_ci(r['rel_ci_boot_low'], r['rel_ci_boot_high'])}"
                for r in boot
            )
            + "."
        )
    return lines


def _name(row: dict) -> str:
    """The metric's label for people, its id when it has none."""
    return row.get("label") or row["metric"]
