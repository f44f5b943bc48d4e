"""The readout judges once (nsexp.analysis.readout.rejudge): re-reading the learning pass's
judgement under the learned priors and validated inputs gives exactly what judging the data again
with them gives, the reference being that second `judge` itself."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import DEMO_DATA
from polars.testing import assert_frame_equal

from nsexp.analysis.readout import Judgement, build_readout, judge, rejudge
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import validated_inputs
from nsexp.errors import InputError
from nsexp.io import Dataset, load_dataset
from nsexp.learning.history import Learning, learned_readout, readout_learning
from nsexp.report.json import dumps, readout_dict

SETTINGS = (Settings(), Settings(sequential=True, correction="bh", alpha=0.1))


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return load_dataset(DEMO_DATA)


@pytest.fixture(scope="module", params=SETTINGS, ids=("default", "sequential-bh"))
def learned(request: pytest.FixtureRequest, demo: Dataset) -> Learning:
    return readout_learning(demo, request.param)


def assert_same(a: Judgement, b: Judgement) -> None:
    """Equal judgements: `within`'s rows come in no set order (a group_by), so sorted."""
    assert a.settings == b.settings and a.experiments == b.experiments and a.srm == b.srm
    for name in ("results", "verdicts"):
        assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    keys = ["experiment", "variant", "metric", "other"]
    assert_frame_equal(a.within.sort(keys), b.within.sort(keys), check_exact=True)


def test_rejudge_equals_judging_again_with_the_priors(demo: Dataset, learned: Learning) -> None:
    paths = validated_inputs(demo.catalog, learned.evidence.edges)
    assert learned.judgement is not None and paths  # the demo has validated inputs
    again = judge(demo, learned.judgement.settings, None, learned.priors, validated=paths)
    once = rejudge(demo, learned.judgement, None, learned.priors, paths)
    assert_same(once, again)
    # what the priors and inputs change is there to recompute: learned priors, a leading_win
    assert "history" in set(once.results["prior_source"])
    assert "leading_win" in set(once.verdicts["verdict"])
    assert "leading_win" not in set(learned.judgement.verdicts["verdict"])


@pytest.mark.parametrize(
    "experiment", ["referral_banner", "streak_society", "dark_mode", "past_26_dark_icons"]
)
def test_rejudge_of_one_experiment_equals_judging_it_alone(
    demo: Dataset, learned: Learning, experiment: str
) -> None:
    """An invalid experiment (referral_banner's SRM), leading_wins, a summary-only file."""
    assert learned.judgement is not None
    paths = validated_inputs(demo.catalog, learned.evidence.edges)
    settings = learned.judgement.settings
    alone = judge(demo, settings, experiment, learned.priors, validated=paths)
    assert_same(rejudge(demo, learned.judgement, experiment, learned.priors, paths), alone)


def test_rejudge_refuses_an_unknown_experiment_as_judge_does(
    demo: Dataset, learned: Learning
) -> None:
    assert learned.judgement is not None
    with pytest.raises(InputError, match="no experiment 'nope' in the data"):
        rejudge(demo, learned.judgement, "nope", learned.priors)


def test_learned_readout_is_the_two_pass_readout(demo: Dataset, learned: Learning) -> None:
    """The readout from the learning's judgement is byte for byte the one judged twice."""
    settings = learned.judgement.settings if learned.judgement is not None else Settings()
    twice = build_readout(
        demo,
        settings,
        history=learned.history,
        learned=learned.learned,
        priors=learned.priors,
        edges=learned.evidence.edges,
    )
    once = learned_readout(demo, settings, learning=learned)
    assert dumps(readout_dict(once)) == dumps(readout_dict(twice))


def test_bayesian_priors_decide_so_it_judges_again(demo: Dataset) -> None:
    """Under the Bayesian engine the priors move decisions: the readout judges with them."""
    settings = Settings(engine="bayesian")
    learning = readout_learning(demo, settings)
    assert learning.judgement is not None
    paths = validated_inputs(demo.catalog, learning.evidence.edges)
    again = judge(demo, settings, None, learning.priors, validated=paths)
    assert_same(rejudge(demo, learning.judgement, None, learning.priors, paths), again)
    changed = again.results["significant"] != learning.judgement.results["significant"]
    assert changed.any()  # a prior-free reuse would have been wrong here


def test_another_datasets_learning_is_not_reused(demo: Dataset, learned: Learning) -> None:
    """A learning passed in from another dataset (the app's as-of readouts) judges afresh."""
    other = load_dataset(DEMO_DATA)
    settings = learned.judgement.settings if learned.judgement is not None else Settings()
    readout = learned_readout(other, settings, "dark_mode", learning=learned)
    assert readout.judgement is not learned.judgement
    assert readout.judgement.results.height > 0


def test_a_readout_without_timelines_differs_only_by_them(demo: Dataset, learned: Learning) -> None:
    """What the review's readout as of `since` uses: verdicts and decisions, no timeline."""
    settings = learned.judgement.settings if learned.judgement is not None else Settings()
    full = learned_readout(demo, settings, learning=learned)
    lean = learned_readout(demo, settings, learning=learned, timelines=False)
    assert any(t.timeline for e in full.experiments.values() for t in e.treatments)
    stripped = replace(
        full,
        experiments={
            k: replace(e, treatments=tuple(replace(t, timeline=()) for t in e.treatments))
            for k, e in full.experiments.items()
        },
    )
    assert dumps(readout_dict(lean)) == dumps(readout_dict(stripped))
