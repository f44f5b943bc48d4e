"""Short notes for people on CUPED, power, guardrails, the Bayesian figures and the bootstrap.

`readout_notes` go under a treatment's reasons in the Markdown and terminal readouts;
`card_notes` are the shorter set on the app's verdict card. Both read the result model.
"""

from __future__ import annotations

from nsexp import format as fmt
from nsexp.analysis.learned import prediction_sentence
from nsexp.analysis.priors import prior_sentence
from nsexp.analysis.readout import TreatmentReadout
from nsexp.analysis.reasons import deciding_reason, leading_win_on_card
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.config.catalog import Metric


def guardrail_text(m: MetricResult) -> str:
    """'safe (margin 10%, power 96%)', 'unproven (no margin set)', 'breached (...)'; '' for
    metrics that are not guardrails."""
    status = m.guardrail_status
    if not status:
        return ""
    if m.non_inferiority_margin is None:
        return status if status == "breached" else f"{status} (no margin set)"
    margin = f"margin {m.non_inferiority_margin * 100:g}%"
    power = m.guardrail_power
    return f"{status} ({margin})" if power is None else f"{status} ({margin}, power {power:.0%})"


def prediction_note(t: TreatmentReadout) -> str | None:
    """The predicted North Star effect in one plain sentence (nsexp.analysis.learned.
    prediction_sentence), or why there is none; None without history records."""
    if t.learned is None or t.learned.prediction is None or t.verdict == "invalid":
        return None
    effects = {m.metric: (m.name, m.rel_effect) for m in t.metrics if m.role != "north_star"}
    return prediction_sentence(t.learned.prediction, t.north_star.rel_effect, effects)


def readout_notes(t: TreatmentReadout) -> list[str]:
    """Notes under a treatment's reasons: the predicted North Star, variance removed by CUPED,
    the North Star's power, each guardrail's non-inferiority status, the Bayesian figures and
    bootstrap intervals; none for an invalid comparison, whose figures claim nothing."""
    if t.verdict == "invalid":
        return []
    predicted = prediction_note(t)
    return [
        *([f"Predicted North Star: {predicted}"] if predicted else []),
        *_cuped_note(t.metrics),
        *_power_note(t.north_star),
        *_bayesian_note(t.north_star),
        *_prior_note(t.north_star),
        *_guardrail_notes(t.metrics),
        *_bootstrap_note(t.metrics),
    ]


def _cuped_note(metrics: tuple[MetricResult, ...]) -> list[str]:
    """The variance CUPED removed from each adjusted metric, in one line."""
    cuped = [(m.name, m.variance_reduction) for m in metrics if m.variance_reduction is not None]
    if not cuped:
        return []
    return ["CUPED: " + "; ".join(f"{name} variance {fmt.pct(-cut)}" for name, cut in cuped) + "."]


def _power_note(ns: MetricResult) -> list[str]:
    """What a North Star that has not moved can detect today, and the days still needed."""
    if ns.mde is None or ns.significant:
        return []
    return [f"North Star detectable effect today: {fmt.pct(ns.mde, signed=False)}{_days(ns)}."]


def _days(ns: MetricResult) -> str:
    """'; about N more days at current traffic to detect ±x%', or '' when none are needed."""
    if ns.days_needed is None or not ns.days_needed > 0:
        return ""
    return (
        f"; about {fmt.count(ns.days_needed)} more days at current traffic to detect "
        f"{fmt.threshold(ns.practical_threshold)}"
    )


def _bayesian_note(ns: MetricResult) -> list[str]:
    """The North Star's chance to win and expected loss under the Bayesian engine."""
    if ns.engine != "bayesian" or ns.chance_to_win is None:
        return []
    return [
        f"North Star chance to beat control {fmt.chance(ns.chance_to_win)}, "
        f"expected loss if shipped {fmt.pct(ns.expected_loss, 2, signed=False)}."
    ]


def _prior_note(ns: MetricResult) -> list[str]:
    """Under the Bayesian engine, the prior the North Star's posterior rests on, in a sentence."""
    said = prior_sentence(ns) if ns.engine == "bayesian" else None
    return [said] if said else []


def _guardrail_notes(metrics: tuple[MetricResult, ...]) -> list[str]:
    """Each guardrail with a margin: its non-inferiority status and the test's power."""
    lines = []
    for m in metrics:
        if m.role != "guardrail" or not m.guardrail_status or m.non_inferiority_margin is None:
            continue
        odds = f", power {m.guardrail_power * 100:.0f}%" if m.guardrail_power is not None else ""
        lines.append(
            f"Guardrail {m.name}: {m.guardrail_status} "
            f"(non-inferiority margin {m.non_inferiority_margin * 100:g}%{odds})."
        )
    return lines


def _bootstrap_note(metrics: tuple[MetricResult, ...]) -> list[str]:
    """The bootstrap intervals of the relative lift, in one line."""
    boot = [m for m in metrics if m.rel_ci_boot_low is not None]
    if not boot:
        return []
    cis = "; ".join(f"{m.name} {fmt.pct_ci(m.rel_ci_boot_low, m.rel_ci_boot_high)}" for m in boot)
    return [f"Bootstrap CI (percentile, unadjusted): {cis}."]


def deciding_text(t: TreatmentReadout, settings: Settings) -> str:
    """The one reason that decided a treatment's verdict, as its card states it under the
    verdict: the first failed data check of an invalid comparison, else the verdict's sentence
    without the North Star figure the card shows beside it (nsexp.analysis.reasons); a
    leading_win's own sentence, which names the validated input and its edges up the tree."""
    if t.verdict == "invalid":
        return t.reasons[0].text if t.reasons else ""
    if t.verdict == "leading_win":
        said = next((r.text for r in t.reasons if r.kind == "verdict"), "")
        return leading_win_on_card(said, t.north_star, settings)
    return deciding_reason(t.verdict, t.metrics, settings).text


def further_reasons(t: TreatmentReadout) -> list[str]:
    """The reasons a verdict card keeps one click away: all but the alerts (shown above the
    verdict), the one deciding_text words (an invalid comparison's first, else the verdict's
    sentence) and the prediction (model_estimate)."""
    invalid = t.verdict == "invalid" and bool(t.reasons)
    stated = t.reasons[0] if invalid else next((r for r in t.reasons if r.kind == "verdict"), None)
    return [r.text for r in t.reasons if r is not stated and r.kind not in ("alert", "prediction")]


def model_estimate(t: TreatmentReadout) -> str | None:
    """The predicted North Star as the model estimate it is, with its basis (the validated
    inputs' figures and how many past comparisons): None when there is none to show."""
    p = t.learned.prediction if t.learned is not None else None
    if p is None or not p.available or t.verdict == "invalid":
        return None
    return prediction_note(t)


def card_notes(t: TreatmentReadout) -> list[str]:
    """Short notes for a treatment's verdict card: why there is no North Star prediction, the
    Bayesian prior, the variance CUPED removed from the North Star and each guardrail's
    non-inferiority status with its power; none for an invalid comparison (what it can detect
    today is detectable_note, beside the card's decision)."""
    if t.verdict == "invalid":
        return []
    ns = t.north_star
    missing = prediction_note(t) if model_estimate(t) is None else None
    notes = [*([missing] if missing else []), *_prior_note(ns)]
    if ns.variance_reduction is not None:
        notes.append(
            f"CUPED removed {fmt.pct(ns.variance_reduction, 0, signed=False)} of the North "
            "Star's variance."
        )
    guards = [m for m in t.metrics if m.role == "guardrail" and m.guardrail_status]
    if guards:
        notes.append(
            "Guardrails: " + "; ".join(f"{m.name} {guardrail_text(m)}" for m in guards) + "."
        )
    return notes


def detectable_note(t: TreatmentReadout, *, running: bool = True) -> str | None:
    """What an inconclusive North Star can detect today and, while the experiment runs, the days
    still needed at current traffic ('Detectable today: 3.1%; about 12 more days ...'); None
    otherwise."""
    ns = t.north_star
    if t.verdict == "invalid" or t.north_star_status != "inconclusive" or ns.mde is None:
        return None
    return f"Detectable today: {fmt.pct(ns.mde, signed=False)}{_days(ns) if running else ''}."


def threshold_note(metric: Metric) -> str | None:
    """That the metric's practical threshold is the default nobody chose (None when someone set
    it): it decides flat against too early to tell, so a reader should know where it came from."""
    if metric.threshold_set:
        return None
    return (
        f"The {fmt.threshold(metric.practical_threshold)} threshold worth acting on for "
        f"{metric.label} is the default: nobody set one. It separates flat from too early to "
        "tell; set it in the Data page's set-up or as practical_threshold in metrics.toml."
    )
