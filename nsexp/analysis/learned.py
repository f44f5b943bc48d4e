"""What the portfolio's history says about one comparison, as records a readout carries.

nsexp.learning builds them from past experiments (the analysis layer never imports learning)
and passes them to `build_readout(learned=...)`, keyed by (experiment, variant), the way the
per-metric history records are passed; reasons quote them and every surface renders them.

- NorthStarPrediction: the posterior of the North Star's true relative effect given this
  comparison's own North Star estimate and its validated inputs (`sources`), under the
  portfolio's prior of true effects and the within-experiment sampling covariance.
- FalsePositiveRisk: P(no real effect, or a harmful one | a significant win), from the
  portfolio's success rate and the test's power (Kohavi, Deng & Vermeer 2022).
- TwymanAlert: a metric whose observed effect lies outside the range the history makes
  plausible (Twyman's law: a figure that looks interesting or different is usually wrong).
- Edge: one edge of the North Star tree with its evidence (nsexp.learning.tree builds them);
  the tree page, Insights, the history lines, `nsexp tree` / `nsexp proxies` and their JSON
  render this one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from nsexp import format as fmt


class NorthStarPrediction(NamedTuple):
    """The predicted North Star effect (relative, in the metric's own direction) at `level`;
    `rel_effect` None when unavailable, with the `reason` and `comparisons_needed`."""

    rel_effect: float | None
    rel_ci_low: float | None
    rel_ci_high: float | None
    level: float
    sources: tuple[str, ...]
    n_history: int
    reason: str = ""
    comparisons_needed: int = 0

    @property
    def available(self) -> bool:
        """Whether there is a prediction to show."""
        return self.rel_effect is not None


class FalsePositiveRisk(NamedTuple):
    """The false-positive risk of a win with the figures it comes from (`risk` None: `reason`)."""

    risk: float | None
    alpha: float
    power: float | None
    success_rate: float | None
    prior_null: float | None
    n_history: int
    n_wins: int
    reason: str = ""
    comparisons_needed: int = 0

    @property
    def alpha_one_sided(self) -> float:
        """The α the risk uses: α/2, because a win is significant in one direction (Kohavi,
        Deng & Vermeer 2022, Table 2)."""
        return self.alpha / 2


class TwymanAlert(NamedTuple):
    """A metric far outside the portfolio's predictive range (relative effects, own direction)."""

    metric: str
    label: str
    rel_effect: float
    range_low: float
    range_high: float
    level: float
    better: bool


@dataclass(frozen=True)
class Edge:
    """Does moving `child` move `parent`? Counted over the valid comparisons measuring both
    (nsexp.learning.tree: `n_moved` the child significant, `n_parent_followed` of those the
    parent significant the same way), the noise-corrected correlation and slope of their true
    effects with intervals, and the label they earn. Field names are the JSON's (they only grow)."""

    child: str
    parent: str
    label: str
    in_tree: bool = True
    n_comparisons: int = 0
    n_experiments: int = 0
    n_moved: int = 0
    n_same_sign: int = 0
    n_parent_followed: int = 0
    n_within_computed: int = 0
    comparisons_needed: int = 0
    parent_followed: float | None = None  # n_parent_followed / n_moved
    sign_agreement: float | None = None  # n_same_sign / n_moved
    within_covariance: Literal["computed", "assumed_zero"] = "assumed_zero"
    naive_correlation: float | None = None
    corrected_correlation: float | None = None
    correlation_ci_low: float | None = None
    correlation_ci_high: float | None = None
    slope: float | None = None
    slope_ci_low: float | None = None
    slope_ci_high: float | None = None
    intercept: float | None = None
    true_sd: float | None = None
    parent_true_sd: float | None = None
    name: str = ""  # 'Minutes per session → Lessons completed': child → parent, by their labels
    label_words: str = ""  # the label as every surface shows it (a guardrail's in its terms)

    @property
    def title(self) -> str:
        """The edge's name as every surface shows it (its ids where it was not named)."""
        return self.name or f"{self.child} → {self.parent}"

    @property
    def words(self) -> str:
        """The label as every surface shows it ('too few' where it was not named)."""
        return self.label_words or self.label.replace("_", " ")

    @property
    def heading(self) -> str:
        """'Minutes per session → Lessons completed: vanity': the edge and its label."""
        return f"{self.title}: {self.words}"


class Learned(NamedTuple):
    """Everything the history says about one comparison."""

    prediction: NorthStarPrediction | None = None
    false_positive_risk: FalsePositiveRisk | None = None
    alerts: tuple[TwymanAlert, ...] = ()


def prediction_sentence(
    p: NorthStarPrediction, north_star: float | None, effects: dict[str, tuple[str, float | None]]
) -> str:
    """The prediction in one plain sentence ("Day-7 retention +3.1%, with the North Star's own
    +0.9%: from 48 past comparisons that predicts the North Star +1.2% [+0.4%, +2.0%] (95%)");
    `north_star` is the North Star's own relative effect, `effects` maps the other metric ids to
    (label, relative effect) of this comparison. The inputs' figures are estimates, significant
    or not ("moved" means significant everywhere else, so it is not said here)."""
    if not p.available:
        return f"No North Star prediction yet: {p.reason}."
    level = f"{p.level * 100:g}%"
    inputs = [m for m in p.sources if m in effects]
    predicted = f"{fmt.pct(p.rel_effect)} {fmt.pct_ci(p.rel_ci_low, p.rel_ci_high)} ({level})"
    history = f"from {p.n_history} past comparisons"
    if not inputs:
        return (
            f"The North Star's own {fmt.pct(north_star)}, {history} and with no validated "
            f"leading indicator to borrow from, predicts {predicted}."
        )
    seen = ", ".join(f"{effects[m][0]} {fmt.pct(effects[m][1])}" for m in inputs)
    return (
        f"{seen}, with the North Star's own {fmt.pct(north_star)}: {history} that predicts the "
        f"North Star {predicted}."
    )


def predicts_win(p: NorthStarPrediction | None, direction_sign: int) -> bool:
    """Whether validated inputs informed the prediction and its interval lies clear of zero in
    the North Star's better direction."""
    if p is None or not p.available or len(p.sources) < 2:
        return False
    low, high = p.rel_ci_low, p.rel_ci_high
    if low is None or high is None:
        return False
    return low > 0 if direction_sign > 0 else high < 0


def risk_sentence(r: FalsePositiveRisk) -> str:
    """The false-positive risk of a win with the figures it comes from, in one sentence."""
    if r.risk is None:
        need = f"; {r.comparisons_needed} more comparisons would do" if r.comparisons_needed else ""
        return (
            f"False-positive risk: too little history ({r.n_history} comparisons in other "
            f"experiments{need})."
        )
    odds = round(1 / r.risk) if r.risk > 0 else None
    share = f"about 1 in {odds}" if odds and odds > 1 else fmt.pct(r.risk, 0, signed=False)
    return (
        f"False-positive risk {fmt.pct(r.risk, 0, signed=False)} (Kohavi, Deng & Vermeer "
        f"2022), a model estimate from this portfolio's history: the North Star got better in "
        f"{r.n_wins} of {r.n_history} comparisons in other experiments, which the model (better = "
        "α/2 × the share of ideas with no effect + power × the rest, at their typical power) "
        f"reads as about {fmt.pct(r.prior_null, 0, signed=False)} of ideas changing nothing; "
        f"at one-sided α/2 = {r.alpha_one_sided:g} and this test's "
        f"{fmt.pct(r.power, 0, signed=False)} power at the practical threshold, {share} wins "
        "like this would not be real."
    )


def alert_sentence(a: TwymanAlert) -> str:
    """Twyman's law on one metric: 'Too good to be true? Check the instrumentation: ...'."""
    head = (
        "Too good to be true? Check the instrumentation"
        if a.better
        else "Worse than anything on record: check the instrumentation"
    )
    return (
        f"{head}: {a.label} moved {fmt.pct(a.rel_effect)}, outside the "
        f"{a.level * 100:g}% range the history makes plausible "
        f"{fmt.pct_ci(a.range_low, a.range_high)}."
    )
