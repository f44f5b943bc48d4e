"""From a Dataset to a Readout: every metric tested, corrected, judged by the North Star rules.

The readout model (Readout > ExperimentReadout > TreatmentReadout > MetricResult) is what every
surface renders; a pin freezes one ExperimentReadout and reads it back as the same type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from nsexp.analysis.compute import compute_results
from nsexp.analysis.decision import Recommendation, recommend, time_left
from nsexp.analysis.learned import Edge, Learned
from nsexp.analysis.priors import priors_decide, with_priors
from nsexp.analysis.reasons import MetricHistory, Reason, explain
from nsexp.analysis.results import MetricResult, TimelinePoint, metric_results, timeline_points
from nsexp.analysis.settings import Settings
from nsexp.analysis.srm import Srm, srm_checks
from nsexp.analysis.timeline import north_star_timelines
from nsexp.analysis.verdict import NorthStarStatus, Verdict, decide, validated_inputs
from nsexp.analysis.within import within_covariances
from nsexp.config.catalog import Catalog
from nsexp.config.experiments import Status
from nsexp.errors import InputError
from nsexp.io import Dataset, Experiment

CONCLUDED_AFTER_DAYS = 14  # no exposures for this long before the newest data: it has ended


@dataclass(frozen=True)
class TreatmentReadout:
    """One treatment against the control: its verdict, reasons and every metric's figures."""

    variant: str
    verdict: Verdict
    north_star_status: NorthStarStatus
    reasons: tuple[Reason, ...]
    metrics: tuple[MetricResult, ...]
    timeline: tuple[TimelinePoint, ...] = ()
    learned: Learned | None = None  # what the portfolio's history says (nsexp.learning)
    decision: Recommendation | None = None  # the recommended decision (nsexp.analysis.decision)

    @property
    def north_star(self) -> MetricResult:
        """The North Star's result."""
        return next(m for m in self.metrics if m.role == "north_star")

    def metric(self, metric_id: str) -> MetricResult:
        """One metric's result (KeyError when this comparison did not test it)."""
        found = next((m for m in self.metrics if m.metric == metric_id), None)
        if found is None:
            raise KeyError(metric_id)
        return found


@dataclass(frozen=True)
class ExperimentReadout:
    """One experiment: the SRM check and one TreatmentReadout per treatment variant, with the
    Settings it was computed with (what every rendering of it reads its α and methods from)."""

    experiment: Experiment
    srm: Srm
    treatments: tuple[TreatmentReadout, ...]
    units: int
    settings: Settings
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    notes: tuple[str, ...] = ()
    status: Status = "running"

    @property
    def id(self) -> str:
        """The experiment id."""
        return self.experiment.id

    @property
    def name(self) -> str:
        """The experiment's human name (its id when it has none)."""
        return self.experiment.info.title

    @property
    def control(self) -> str:
        """The control arm."""
        return self.experiment.control

    @property
    def days(self) -> int | None:
        """Days from the first to the last exposure date, both included."""
        if self.first_date is None or self.last_date is None:
            return None
        return (self.last_date - self.first_date).days + 1

    def treatment(self, variant: str) -> TreatmentReadout:
        """The readout of one treatment variant."""
        return next(t for t in self.treatments if t.variant == variant)


@dataclass(frozen=True)
class Judgement:
    """Every metric tested and every treatment judged, before any sentence is written: what
    learning from a portfolio reads (the readout adds the reasons, records and timelines)."""

    settings: Settings
    catalog: Catalog
    results: pl.DataFrame = field(repr=False)
    verdicts: pl.DataFrame = field(repr=False)
    srm: dict[str, Srm] = field(repr=False)
    experiments: dict[str, Experiment] = field(repr=False)
    # per comparison and metric pair: the sampling covariance of the two relative lifts
    within: pl.DataFrame = field(repr=False)

    def only(self, ids: Collection[str]) -> Judgement:
        """The judgement of these experiments only (every figure is per experiment, so the
        rows are those a judgement of them alone would have)."""
        keep = pl.col("experiment").is_in(sorted(ids))
        return replace(
            self,
            results=self.results.filter(keep),
            verdicts=self.verdicts.filter(keep),
            within=self.within.filter(keep),
            srm={k: v for k, v in self.srm.items() if k in ids},
            experiments={k: v for k, v in self.experiments.items() if k in ids},
        )


@dataclass(frozen=True)
class Readout:
    """Every experiment of a dataset read out: the Judgement it rests on (settings, catalog,
    results, verdicts) and each experiment's readout."""

    judgement: Judgement = field(repr=False)
    experiments: dict[str, ExperimentReadout]
    fingerprint: str = ""
    as_of: dt.date | None = None  # read from the data up to this date (nsexp.analysis.asof)

    @property
    def settings(self) -> Settings:
        """The Settings every figure was computed with."""
        return self.judgement.settings

    @property
    def catalog(self) -> Catalog:
        """The metric catalog read out."""
        return self.judgement.catalog

    @property
    def results(self) -> pl.DataFrame:
        """Every metric of every comparison, one row each (RESULT_SCHEMA)."""
        return self.judgement.results


def judge(
    dataset: Dataset,
    settings: Settings | None = None,
    experiment: str | None = None,
    priors: pl.DataFrame | None = None,
    validated: Collection[str] = (),
) -> Judgement:
    """Test every metric of every treatment against its control, all at once, and judge each
    treatment by the North Star rules (results of invalid experiments claim nothing); `priors`
    are the Bayesian priors learned from the portfolio (nsexp.analysis.priors), `validated` the
    validated inputs' ids (nsexp.analysis.verdict.validated_inputs: none, no leading_win)."""
    settings = settings or Settings()
    experiments = _chosen(dataset, experiment)
    results = compute_results(dataset, settings, list(experiments), priors)
    srm = srm_checks(dataset, experiments)
    invalid = {e for e, x in experiments.items() if srm[e].mismatch or x.problems}
    verdicts = decide(results, invalid, validated)
    controls = {e: x.control for e, x in experiments.items()}
    return Judgement(
        settings,
        dataset.catalog,
        _distrust(results, invalid),
        verdicts,
        srm,
        experiments,
        within_covariances(dataset, results, controls),
    )


def _chosen(dataset: Dataset, experiment: str | None) -> dict[str, Experiment]:
    """The dataset's experiments, or the one asked for (an InputError naming the others when
    the data has no such experiment)."""
    experiments = dataset.experiments
    if experiment is None:
        return experiments
    if experiment not in experiments:
        known = ", ".join(sorted(experiments)) or "none"
        up_to = "" if dataset.as_of is None else f" up to {dataset.as_of.isoformat()}"
        raise InputError(
            f"no experiment {experiment!r} in the data{up_to}", fix=f"use one of: {known}"
        )
    return {experiment: experiments[experiment]}


def rejudge(
    dataset: Dataset,
    base: Judgement,
    experiment: str | None = None,
    priors: pl.DataFrame | None = None,
    validated: Collection[str] = (),
) -> Judgement:
    """`judge(dataset, base.settings, experiment, priors, validated)`, from `base`, the
    dataset's judgement without priors or validated inputs (what learning reads): where the
    priors decide nothing (priors_decide), they change only their own columns, and the
    validated inputs only the verdict (a leading_win; never an invalid one nor the North
    Star's status), so only those are recomputed; else everything is judged again."""
    if priors_decide(base.settings):
        return judge(dataset, base.settings, experiment, priors, validated)
    judged = base.only(_chosen(dataset, experiment)) if experiment is not None else base
    results = with_priors(judged.results, priors, base.settings.alpha)
    verdicts = judged.verdicts
    if validated:
        invalid = {e for e, x in judged.experiments.items() if judged.srm[e].mismatch or x.problems}
        verdicts = verdicts.with_columns(decide(results, invalid, validated)["verdict"])
    return replace(judged, results=results, verdicts=verdicts)


def build_readout(
    dataset: Dataset,
    settings: Settings | None = None,
    experiment: str | None = None,
    history: Mapping[str, MetricHistory] | None = None,
    learned: Mapping[tuple[str, str], Learned] | None = None,
    priors: pl.DataFrame | None = None,
    edges: Sequence[Edge] = (),
    *,
    base: Judgement | None = None,
    timelines: bool = True,
) -> Readout:
    """The readout of every experiment (or one): judged, explained in reasons, with each
    metric's record and the North Star's timeline; `history`, `learned`, `priors` and `edges`
    (nsexp.learning.history) add what past experiments say: per metric to the reasons, per
    comparison (prediction, false-positive risk, alerts) to the treatment and its reasons, per
    experiment and metric the Bayesian prior, and the tree's labelled edges, whose validated
    inputs make a leading_win. `base`: the dataset's judgement under these settings without
    priors, already made (`rejudge` starts from it); `timelines` False leaves the North Star's
    timeline out (for a caller that reads only verdicts and decisions)."""
    settings = settings or Settings()
    paths = validated_inputs(dataset.catalog, edges)
    if base is not None and base.settings == settings:
        judged = rejudge(dataset, base, experiment, priors, paths)
    else:
        judged = judge(dataset, settings, experiment, priors, validated=paths)
    experiments, srm = judged.experiments, judged.srm
    ids = list(experiments)
    by_pair: dict[tuple[str, str], list[MetricResult]] = {}
    for m in metric_results(judged.results):  # one pass over the frame, then bucket
        by_pair.setdefault((m.experiment, m.variant), []).append(m)
    series = _timelines(dataset, settings, ids, priors) if timelines else {}
    dates = _date_range(dataset)
    newest = max((last for _, last in dates.values()), default=None)
    statuses = {
        e: _status(x, dates.get(e, (None, None))[1], newest, dataset.as_of)
        for e, x in experiments.items()
    }
    treatments: dict[str, list[TreatmentReadout]] = {e: [] for e in ids}
    for row in judged.verdicts.iter_rows(named=True):
        eid, variant = row["experiment"], row["variant"]
        problems = [srm[eid].problem(eid)] if srm[eid].mismatch else []
        problems += experiments[eid].problems
        metrics = tuple(by_pair[(eid, variant)])
        record = (learned or {}).get((eid, variant))
        reasons = explain(row["verdict"], metrics, settings, problems, history, record, paths)
        info, (first, last) = experiments[eid].info, dates.get(eid, (None, None))
        ns = next(m for m in metrics if m.role == "north_star")
        units = ns.n_control + ns.n_treatment
        time = time_left(info, statuses[eid], units, first, last, dataset.decision)
        prediction = record.prediction if record is not None else None
        decided = recommend(row["verdict"], metrics, time, info, dataset.decision, prediction)
        treatments[eid].append(
            TreatmentReadout(
                variant=variant,
                verdict=row["verdict"],
                north_star_status=row["north_star_status"],
                reasons=tuple(reasons),
                metrics=metrics,
                timeline=series.get((eid, variant), ()),
                learned=record,
                decision=decided,
            )
        )
    readouts = {
        eid: ExperimentReadout(
            experiment=exp,
            srm=srm[eid],
            treatments=tuple(treatments[eid]),
            units=sum(srm[eid].counts.values()),
            settings=settings,
            first_date=dates.get(eid, (None, None))[0],
            last_date=dates.get(eid, (None, None))[1],
            notes=exp.notes,
            status=statuses[eid],
        )
        for eid, exp in experiments.items()
    }
    return Readout(
        judgement=judged,
        experiments=readouts,
        fingerprint=dataset.fingerprint,
        as_of=dataset.as_of,
    )


def _distrust(results: pl.DataFrame, invalid: set[str]) -> pl.DataFrame:
    """Results of invalid experiments claim nothing: not better, worse, flat or safe."""
    if not invalid:
        return results
    bad = pl.col("experiment").is_in(sorted(invalid))
    claims = [
        pl.when(bad).then(pl.lit(False)).otherwise(pl.col(c)).alias(c)
        for c in ("better", "worse", "flat")
    ]
    return results.with_columns(
        *claims,
        pl.when(bad).then(None).otherwise(pl.col("guardrail_status")).alias("guardrail_status"),
        (~bad).alias("trusted"),
    )


def _timelines(
    dataset: Dataset, settings: Settings, experiment_ids: list[str], priors: pl.DataFrame | None
) -> dict[tuple[str, str], tuple[TimelinePoint, ...]]:
    """The North Star per date of each (experiment, treatment), as the readout of the data up
    to each date under these settings and priors would quote it, when the data has dates."""
    if not dataset.has_dates:
        return {}
    return timeline_points(north_star_timelines(dataset, settings, experiment_ids, priors=priors))


def _status(
    exp: Experiment, last: dt.date | None, newest: dt.date | None, as_of: dt.date | None = None
) -> Status:
    """experiments.toml's status, else concluded when the experiment's last exposure is more
    than CONCLUDED_AFTER_DAYS before the newest date in the data, else running. As of a date
    before its `end`, a concluded experiment was still running."""
    end = exp.info.end
    if as_of is not None and end and as_of < dt.date.fromisoformat(end):
        return "running"
    if exp.info.status is not None:
        return exp.info.status
    if last is not None and newest is not None and (newest - last).days > CONCLUDED_AFTER_DAYS:
        return "concluded"
    return "running"


def _date_range(dataset: Dataset) -> dict[str, tuple[dt.date, dt.date]]:
    """First and last exposure date per dated experiment."""
    dated = dataset.units.drop_nulls("date")
    if dated.height == 0:
        return {}
    span = dated.group_by("experiment").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    )
    return {e: (a, b) for e, a, b in span.iter_rows()}
