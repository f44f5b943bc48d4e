"""The Bayesian engine's prior: the weakly informative default on Hillstrom's e-mail test, the
prior learned from the portfolio (leaving the experiment on view out), and the prior travelling
with each result into the JSON, a pin and the sentence on the card."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import write_toml

from nsexp.analysis.priors import prior_sentence
from nsexp.analysis.readout import Judgement, Readout, build_readout, judge
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset, load_dataset
from nsexp.learning.predict import lift_priors
from nsexp.report.json import experiment_dict, experiment_from_dict
from nsexp.report.notes import card_notes
from nsexp.stats.bayes import PRIOR_SD
from nsexp.stats.evidence import MIN_COMPARISONS

# Hillstrom's MineThatData e-mail test (2008), spend in the two weeks after the e-mail: not in
# this repository, so its arms are rebuilt from the published summary figures as sufficient
# statistics (units per arm, mean, SD).
HILLSTROM_N = 21_300
HILLSTROM_ARMS = {"No E-Mail": (0.653, 15.8), "Mens E-Mail": (1.423, 16.7)}


def test_the_default_prior_shrinks_hillstrom_mens_spend_lift_by_less_than_15_percent(
    tmp_path: Path,
) -> None:
    rows = [
        {
            "experiment": "hillstrom",
            "variant": arm,
            "metric": "spend",
            "n": HILLSTROM_N,
            "sum": mean * HILLSTROM_N,
            "sum_sq": (HILLSTROM_N - 1) * sd**2 + HILLSTROM_N * mean**2,
        }
        for arm, (mean, sd) in HILLSTROM_ARMS.items()
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "summary.csv")
    write_toml(
        tmp_path / "metrics.toml",
        {"metrics": {"spend": {"role": "north_star", "type": "mean", "label": "Spend"}}},
    )
    write_toml(
        tmp_path / "experiments.toml", {"experiments": {"hillstrom": {"control": "No E-Mail"}}}
    )
    readout = build_readout(load_dataset(tmp_path), Settings(engine="bayesian"))
    m = readout.experiments["hillstrom"].treatments[0].north_star
    observed = 1.423 / 0.653 - 1  # +117.9%
    assert m.rel_effect == pytest.approx(observed, rel=1e-9)
    assert m.prior_source == "default" and m.prior_comparisons is None
    assert (m.prior_mean, m.prior_sd) == (0.0, PRIOR_SD)
    shrink = 1 - m.rel_post_mean / m.rel_effect
    assert shrink < 0.15
    # the conjugate update by hand: the estimate weighted by prior variance / total variance
    assert m.rel_post_mean == pytest.approx(
        observed * PRIOR_SD**2 / (PRIOR_SD**2 + m.rel_se**2), rel=1e-9
    )
    assert m.better  # the chance to win clears 97.5%


@pytest.fixture(scope="module")
def judged(demo_dataset: Dataset) -> Judgement:
    return judge(demo_dataset)


@pytest.fixture(scope="module")
def priors(judged: Judgement) -> pl.DataFrame:
    return lift_priors(judged)


@pytest.fixture(scope="module")
def bayes(demo_dataset: Dataset, priors: pl.DataFrame) -> Readout:
    return build_readout(demo_dataset, Settings(engine="bayesian"), priors=priors)


def _others(judged: Judgement, experiment: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Direction-oriented lifts and SEs of the metric in the other experiments' valid
    comparisons, read straight off the results frame."""
    valid = judged.verdicts.filter(pl.col("verdict") != "invalid").select("experiment", "variant")
    rows = judged.results.join(valid, on=["experiment", "variant"]).filter(
        (pl.col("experiment") != experiment)
        & (pl.col("metric") == metric)
        & (pl.col("rel_se") > 0)
        & pl.col("rel_effect").is_not_null()
    )
    sign = -1.0 if judged.catalog.metrics[metric].direction == "decrease" else 1.0
    return sign * rows["rel_effect"].to_numpy(), rows["rel_se"].to_numpy()


@pytest.mark.parametrize(
    ("experiment", "metric"),
    [
        ("ai_tutor_beta", "lessons_completed"),
        ("push_reminders", "notifications_off"),  # lower is better
        ("streak_freeze", "first_day_lesson"),  # too few comparisons
    ],
)
def test_learned_prior_leaves_the_experiment_out(
    judged: Judgement, priors: pl.DataFrame, experiment: str, metric: str
) -> None:
    y, se = _others(judged, experiment, metric)
    row = priors.filter((pl.col("experiment") == experiment) & (pl.col("metric") == metric))
    assert row.height == 1
    k = y.size
    assert row["prior_comparisons"][0] == k
    if k < MIN_COMPARISONS:
        assert row["prior_mean"][0] is None and row["prior_sd"][0] is None
        return
    noise = np.mean(se**2)
    # Var(lifts) − mean(se²), plus one standard error of that correction (Deng 2015;
    # nsexp.stats.prediction.with_estimation_error)
    tau2 = max(np.var(y, ddof=1) - noise, 0.0) + np.sqrt(2 / (k - 1)) * noise
    tau2 += (tau2 + noise) / k  # the error of the prior mean (with_mean_error)
    sign = -1.0 if judged.catalog.metrics[metric].direction == "decrease" else 1.0
    assert row["prior_mean"][0] == pytest.approx(sign * y.mean(), rel=1e-9)
    assert row["prior_sd"][0] == pytest.approx(np.sqrt(tau2), rel=1e-9)


def test_bayesian_readout_uses_the_learned_priors(bayes: Readout, priors: pl.DataFrame) -> None:
    rows = bayes.results.join(priors, on=["experiment", "metric"], suffix="_learned")
    assert rows.height == bayes.results.height
    learned = rows["prior_sd_learned"].is_not_null().to_numpy()
    assert learned.any() and not learned.all()
    assert (rows["prior_source"].to_numpy() == np.where(learned, "history", "default")).all()
    mean = rows["prior_mean_learned"].fill_null(0.0).to_numpy()
    sd = rows["prior_sd_learned"].fill_null(PRIOR_SD).to_numpy()
    rel, se = rows["rel_effect"].to_numpy(), rows["rel_se"].to_numpy()
    ok = np.isfinite(rel) & (se > 0)
    expected = (mean / sd**2 + rel / se**2) / (1 / sd**2 + 1 / se**2)
    np.testing.assert_allclose(rows["rel_post_mean"].to_numpy()[ok], expected[ok], rtol=1e-9)
    assert (rows["prior_comparisons"] == rows["prior_comparisons_learned"]).all()


def test_the_prior_travels_into_the_json_and_a_pin_and_is_named(bayes: Readout) -> None:
    e = bayes.experiments["ai_tutor_beta"]
    back = experiment_from_dict(experiment_dict(e), e.settings)
    for live, pinned in zip(e.treatments[0].metrics, back.treatments[0].metrics, strict=True):
        fields = ("prior_mean", "prior_sd", "prior_source", "prior_comparisons")
        assert [getattr(pinned, f) for f in fields] == [getattr(live, f) for f in fields]
    ns = e.treatments[0].north_star
    said = prior_sentence(ns)
    assert said is not None
    assert said.startswith(
        f"Prior from {ns.prior_comparisons} past comparisons of Lessons completed"
    )
    assert f"typical lift ±{ns.prior_sd * 100:.1f}%" in said
    short = e.treatments[0].metric("first_day_lesson")
    assert prior_sentence(short) == (
        f"Default prior on First lesson on day one: Normal(0, {PRIOR_SD:.0%}²) on the lift, "
        f"weakly informative ({short.prior_comparisons} past comparisons of First lesson on day "
        f"one, {MIN_COMPARISONS} needed to learn one)."
    )
    assert card_notes(e.treatments[0])[0] == said
