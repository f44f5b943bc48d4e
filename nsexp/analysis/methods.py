"""The Methods section: which methods produced a readout's figures, in sentences, once.

Every surface (JSON `methods`, Markdown, the app's Methods expander, pins) quotes `methods()`,
so a hand calculation can be reconciled with whatever view it started from.
"""

from __future__ import annotations

from nsexp.analysis.intervals import interval_name
from nsexp.analysis.settings import Settings
from nsexp.stats.bayes import PRIOR_SD
from nsexp.stats.evidence import MIN_COMPARISONS
from nsexp.stats.exact import FEW_EVENTS
from nsexp.stats.multiplicity import CORRECTION_NAMES
from nsexp.stats.sequential import DEFAULT_N
from nsexp.stats.validity import MIN_UNITS


def methods(settings: Settings) -> list[str]:
    """Method lines for the settings, in the order the readout applies them."""
    s = settings
    return [
        _intervals(s),
        "Mean metrics: Welch's t-test (Welch–Satterthwaite df); proportions: z-test with "
        "unpooled standard errors; ratio metrics: z-test with delta-method variance.",
        "Relative lift (treatment ÷ control − 1): delta-method interval; the log-ratio "
        "interval where the delta one would reach below −100% or the control mean is poorly "
        "determined (Fieller's g > 0.1). Each metric's method, ci_method and rel_ci_method "
        "say which.",
        f"Proportions with fewer than {FEW_EVENTS} events (or non-events) in an arm: Fisher's "
        "exact test, Newcombe's hybrid-score interval of the difference and the adjusted "
        "log-ratio interval of the lift (near 100%, fewer non-events than events: Newcombe's "
        "interval over the control's rate, the score interval on the non-event rates, and "
        "guardrails by Farrington–Manning's score test); power and units needed at the rates "
        "(x + 1)/(n + 2). Mean and ratio metrics with fewer than "
        f"{MIN_UNITS} units in an arm, and summary rows whose sum and sum_sq cannot hold the "
        "variance, carry a note and cannot decide a verdict (decisive = false).",
        "Skewed mean metrics: where the skewness of the difference of means (from each arm's "
        "third moment; the metric's own with CUPED on, whose adjusted variable's third moment "
        "needs cross sums nsexp does not carry) breaks Kohavi's n > 355·s² rule, Welch's t is "
        "corrected for it: the interval widens on the skewed side to its second-order "
        "Cornish–Fisher quantile (Hall 1992); method welch_t_skew. Ratio metrics keep the "
        f"{MIN_UNITS}-unit minimum only; proportions the few-events rule.",
        f"Multiple testing: {CORRECTION_NAMES[s.correction]}, within each experiment "
        "for two families: the North Star across treatments, and all other metrics.",
        f"North Star flat: its {interval_name(s, 'flat')} lies inside ±practical_threshold"
        + (" (two one-sided tests)." if s.engine != "bayesian" else "."),
        "Sample ratio mismatch: chi-square goodness of fit, flagged when p < 0.001.",
        *_sequential(s),
        *_depth(s),
        *_history(),
    ]


def _intervals(s: Settings) -> str:
    """α, and what each interval of the readout is under these settings (the footer line)."""
    decides = (
        "rel_cred_low/high"
        if s.engine == "bayesian"
        else "rel_ci_adj_low/high, abs_ci_adj_low/high"
    )
    return (
        f"Significance level α = {s.alpha:g}. The interval that decides each metric ({decides}) "
        f"is its {interval_name(s)}; the interval of each test alone (rel_ci_low/high, "
        f"abs_ci_low/high) its {interval_name(s, 'plain')}; the flat test's "
        f"(equivalence_ci_low/high) its {interval_name(s, 'flat')}."
    )


def _history() -> list[str]:
    """What the reasons quote from past experiments, defined once (nsexp.learning)."""
    return [
        "History lines count other experiments only: when the metric moved (adjusted p < α), "
        "how often the North Star moved significantly the same way; the label in brackets is "
        "the metric's edge to the North Star on the North Star page (corrected correlation of "
        "true effects across experiments, Tripuraneni et al. 2023), where the labels are "
        "defined.",
        "Predicted North Star: the posterior of its true lift given this comparison's North "
        "Star and validated inputs (in the tree, predictive edge), with the prior of true "
        "effects learned from the other experiments and the sampling covariance computed within "
        "this one; false-positive risk of a win (Kohavi, Deng & Vermeer 2022) at the one-sided "
        "α/2 (alpha_one_sided), from this test's power and the share of ideas with no effect, a "
        "model estimate from the other experiments' win rate (wins = α/2·π + power·(1 − π) at "
        "their typical power), not a count; Twyman alert beyond the history's 99.9% "
        "predictive range.",
    ]


def _sequential(s: Settings) -> list[str]:
    """The always-valid method, described only when it is on."""
    if not s.sequential:
        return []
    fallback = (
        f"a planned {s.sequential_n:,} units per comparison (--sequential-n)"
        if s.sequential_n
        else f"{DEFAULT_N:,} units per comparison (GrowthBook's default)"
    )
    return [
        "Sequential testing: intervals and p-values (absolute and relative) are always "
        "valid, from the two-sided normal-mixture confidence sequence (Howard et al. 2021), "
        "its mixing parameter tuned once to a planned sample fixed before the data: the "
        f"experiment's planned_units (experiments.toml), else {fallback}; each metric's "
        "sequential_n says which. Looking every day keeps the false-positive rate at α. The "
        "North Star's flat test uses the always-valid (1 − 2α) interval."
    ]


def _depth(s: Settings) -> list[str]:
    """CUPED, power, adjusted intervals, guardrails, bootstrap and the Bayesian engine."""
    lines = [
        "CUPED (Deng et al. 2013) by Lin's (2013) interacted estimator: each arm's mean is "
        "adjusted by its own slope on the pre-experiment covariate, centred at both arms' "
        "pooled covariate mean (the treatment coefficient of y ~ T * (x − x̄)), which is never "
        "less precise than no adjustment in large samples; classical per-arm variance. Means "
        "and effects shown are adjusted, variance_reduction is the share of variance removed; "
        "where the adjusted interval would be wider than the unadjusted, the unadjusted "
        "figures decide and cuped_variance_increase says by how much. Ratio metrics are not "
        "adjusted."
        if s.cuped is not False
        else "CUPED off: no covariate adjustment.",
        f"Power: mde is the relative effect detectable with 80% power at α = {s.alpha:g} at "
        "today's sample; days_needed extrapolates the daily traffic of dated data.",
        "Adjusted intervals (rel_ci_adj_low/high, abs_ci_adj_low/high) use per-test levels "
        "α·p/p_adjusted, so they exclude zero exactly when p_adjusted < α.",
        "Guardrails with a non_inferiority_margin: safe when a one-sided test at α on the log "
        "ratio treatment ÷ control shows them no worse than the margin (Schultzberg et al. "
        "2024), breached when significantly worse, else unproven; guardrail_power is that "
        "test's power if the true effect is 0.",
    ]
    if s.bootstrap:
        lines.append(
            f"Bootstrap: {s.bootstrap:,} Poisson resamples of unit-level mean metrics (capped and "
            "CUPED-adjusted like the analytic figures); percentile interval of the relative lift."
        )
    if s.engine == "bayesian":
        lines.append(
            "Bayesian engine: each metric's prior on its true relative lift is learned from "
            "the portfolio where the other experiments hold at least "
            f"{MIN_COMPARISONS} valid comparisons of it (empirical Bayes, Deng 2015): Normal(mean, "
            "tau²) with mean the average of their lifts and tau² the variance of their lifts "
            "less their mean squared standard error, plus one standard error of that "
            "correction and the squared error of the mean; otherwise the weakly informative "
            f"default Normal(0, {PRIOR_SD:g}²); each metric's prior_mean, prior_sd, prior_source "
            "(history or default) and prior_comparisons say which. Normal likelihood from the "
            "delta method; every decision comes from the posterior: "
            f"better when the chance to win is at least {1 - s.alpha / 2:g} (worse when at most "
            f"{s.alpha / 2:g}), which is when its {(1 - s.alpha) * 100:g}% credible interval "
            f"excludes zero; flat when its {(1 - 2 * s.alpha) * 100:g}% credible interval lies "
            "inside ±practical_threshold; the lift shown is the posterior mean, inside its "
            "interval; units needed are those at which the posterior would tell the threshold "
            "from zero with 80% power; no multiplicity correction."
        )
    return lines
