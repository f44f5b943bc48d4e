"""From a Dataset to a Readout: every metric tested, corrected, judged by the North Star rules."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from nsexp.analysis.bootstrap import with_bootstrap
from nsexp.analysis.compute import ENGINES, Engine, analyse, check, extend, planned_n, with_validity
from nsexp.analysis.compute import methods as depth_methods
from nsexp.analysis.verdict import decide, explain
from nsexp.config.catalog import ROLES, Catalog
from nsexp.errors import InputError
from nsexp.io import Dataset, Experiment, totals
from nsexp.io.moments import FLAGS
from nsexp.io.schema import COV_SUMS
from nsexp.learning.history import MetricHistory
from nsexp.stats import ArmSums, Correction, adjust, srm_test, units_needed
from nsexp.stats.equivalence import equivalence_interval
from nsexp.stats.multiplicity import CORRECTION_NAMES, CORRECTIONS
from nsexp.stats.sequential import (
    DEFAULT_N,
    MixtureScale,
    sequential_adjusted_intervals,
    sequential_comparison,
    tuned_eta,
)
from nsexp.stats.validity import without_test

COV_MOMENTS = ("cov_shift", "cov_dev_sum", "cov_dev_sum_sq", "num_cov_dev_sum")
_SUMS = (
    "n",
    *("sum", "sum_sq", "den_sum", "den_sum_sq", "num_den_sum"),
    *("shift", "dev_sum", "dev_sum_sq"),  # ArmSums' order
    *("den_shift", "den_dev_sum", "den_dev_sum_sq", "num_den_dev_sum"),
)


@dataclass(frozen=True)
class Settings:
    """The analysis choices a readout depends on."""

    alpha: float = 0.05
    correction: Correction = "holm"
    sequential: bool = False
    sequential_n: int | None = None
    cuped: bool | None = None
    engine: Engine = "frequentist"
    bootstrap: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(
                f"engine = {self.engine!r} is not known", fix=f"use one of {', '.join(ENGINES)}"
            )
        if (
            isinstance(self.bootstrap, bool)
            or not isinstance(self.bootstrap, int)
            or not (self.bootstrap == 0 or 100 <= self.bootstrap <= 100_000)
        ):
            raise InputError(
                f"bootstrap = {self.bootstrap!r} is not a number of resamples",
                fix="use 0 (off) or between 100 and 100000, e.g. 2000",
            )
        if self.sequential_n is not None and (
            isinstance(self.sequential_n, bool)
            or not isinstance(self.sequential_n, int)
            or self.sequential_n < 2
        ):
            raise InputError(
                f"sequential_n = {self.sequential_n!r} is not a sample size",
                fix="give the planned units of a comparison (both arms), e.g. 20000",
            )
        if not isinstance(self.alpha, float | int) or not 0 < self.alpha < 0.5:
            raise InputError(
                f"alpha = {self.alpha!r} is not a significance level",
                fix="use a number between 0 and 0.5, e.g. 0.05",
            )
        if self.correction not in CORRECTIONS:
            raise InputError(
                f"correction = {self.correction!r} is not known",
                fix=f"use one of {', '.join(CORRECTIONS)}",
            )

    def methods(self) -> list[str]:
        """Which methods produced the figures, so a hand calculation can be reconciled."""
        level = f"{(1 - self.alpha) * 100:g}%"
        return [
            f"Significance level α = {self.alpha:g}; intervals are {level} confidence intervals.",
            "Mean metrics: Welch's t-test (Welch–Satterthwaite df); proportions: z-test with "
            "unpooled standard errors; ratio metrics: z-test with delta-method variance.",
            "Relative lift (treatment ÷ control − 1): delta-method interval.",
            f"Multiple testing: {CORRECTION_NAMES[self.correction]}, within each experiment "
            "for two families: the North Star across treatments, and all other metrics.",
            f"North Star flat: its {(1 - 2 * self.alpha) * 100:g}% interval lies inside "
            "±practical_threshold (two one-sided tests).",
            "Sample ratio mismatch: chi-square goodness of fit, flagged when p < 0.001.",
            *self._sequential_methods(),
            *depth_methods(self.engine, self.cuped, self.alpha, self.bootstrap),
        ]

    def _sequential_methods(self) -> list[str]:
        """The always-valid method, described only when it is on."""
        if not self.sequential:
            return []
        fallback = (
            f"a planned {self.sequential_n:,} units per comparison (--sequential-n)"
            if self.sequential_n
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


@dataclass(frozen=True)
class Srm:
    """Sample ratio mismatch check of one experiment."""

    p_value: float
    mismatch: bool
    counts: dict[str, int]
    expected: dict[str, float]
    assumed: bool = False  # no expected_split declared: equal shares assumed


@dataclass(frozen=True)
class TreatmentReadout:
    """One treatment against the control: its verdict, reasons and every metric's figures."""

    variant: str
    verdict: str
    north_star_status: str
    reasons: tuple[str, ...]
    metrics: pl.DataFrame
    timeline: pl.DataFrame | None = None

    @property
    def north_star(self) -> dict:
        """The North Star's result row."""
        return self.metrics.filter(pl.col("role") == "north_star").row(0, named=True)


@dataclass(frozen=True)
class ExperimentReadout:
    """One experiment: the SRM check and one TreatmentReadout per treatment variant."""

    experiment: Experiment
    srm: Srm
    treatments: tuple[TreatmentReadout, ...]
    units: int
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    notes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The experiment id."""
        return self.experiment.id

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
class Readout:
    """Every experiment of a dataset read out under one set of Settings."""

    settings: Settings
    catalog: Catalog
    experiments: dict[str, ExperimentReadout]
    results: pl.DataFrame = field(repr=False)
    fingerprint: str = ""


def build_readout(
    dataset: Dataset,
    settings: Settings | None = None,
    experiment: str | None = None,
    history: Mapping[str, MetricHistory] | None = None,
) -> Readout:
    """Test every metric of every treatment against its control, all at once, then judge;
    `history` (nsexp.learning.proxies.history_of) adds what past experiments say to the reasons."""
    settings = settings or Settings()
    experiments = dataset.experiments
    if experiment is not None:
        if experiment not in experiments:
            known = ", ".join(sorted(experiments)) or "none"
            raise InputError(
                f"no experiment {experiment!r} in the data", fix=f"use one of: {known}"
            )
        experiments = {experiment: experiments[experiment]}
    results = compute_results(dataset, settings, list(experiments))
    srm = _srm(dataset, experiments)
    invalid = {e for e, x in experiments.items() if srm[e].mismatch or x.problems}
    verdicts = decide(results, invalid)
    by_pair = results.partition_by("experiment", "variant", as_dict=True)
    timelines = _timelines(dataset, settings, list(experiments))
    dates = _date_range(dataset)
    readouts: dict[str, ExperimentReadout] = {}
    for eid, exp in experiments.items():
        problems = list(exp.problems)
        if srm[eid].mismatch:
            problems.insert(0, _srm_problem(srm[eid], eid))
        treatments = []
        for row in verdicts.filter(pl.col("experiment") == eid).iter_rows(named=True):
            metrics = by_pair[(eid, row["variant"])]
            reasons = explain(row["verdict"], metrics.to_dicts(), settings.alpha, problems, history)
            treatments.append(
                TreatmentReadout(
                    variant=row["variant"],
                    verdict=row["verdict"],
                    north_star_status=row["north_star_status"],
                    reasons=tuple(reasons),
                    metrics=metrics,
                    timeline=timelines.get((eid, row["variant"])),
                )
            )
        first, last = dates.get(eid, (None, None))
        readouts[eid] = ExperimentReadout(
            experiment=exp,
            srm=srm[eid],
            treatments=tuple(treatments),
            units=sum(srm[eid].counts.values()),
            first_date=first,
            last_date=last,
            notes=exp.notes,
        )
    return Readout(
        settings=settings,
        catalog=dataset.catalog,
        experiments=readouts,
        results=results,
        fingerprint=dataset.fingerprint,
    )


def _timelines(
    dataset: Dataset, settings: Settings, experiment_ids: list[str]
) -> dict[tuple[str, str], pl.DataFrame]:
    """The North Star's cumulative timeline per (experiment, treatment), when data has dates."""
    if not dataset.has_dates:
        return {}
    from nsexp.analysis.timeline import north_star_timelines  # timeline builds on this module

    frame = north_star_timelines(dataset, settings, experiment_ids)
    return {k: v for k, v in frame.partition_by("experiment", "variant", as_dict=True).items()}


def metric_frame(catalog: Catalog) -> pl.DataFrame:
    """The catalog as a frame, with sort keys for role (North Star first) and file order."""
    metrics = list(catalog.metrics.values())
    return pl.DataFrame(
        {
            "metric": [m.id for m in metrics],
            "label": [m.label for m in metrics],
            "role": [m.role for m in metrics],
            "type": [m.type for m in metrics],
            "direction": [m.direction for m in metrics],
            "practical_threshold": [m.practical_threshold for m in metrics],
            "role_order": [ROLES.index(m.role) for m in metrics],
            "metric_order": list(range(len(metrics))),
        }
    )


def pair_arms(summary: pl.DataFrame, controls: dict[str, str], keys: list[str]) -> pl.DataFrame:
    """Put each treatment's sums beside its control's (control columns get a `_c` suffix)."""
    frame = summary.join(
        pl.DataFrame({"experiment": list(controls), "control": list(controls.values())}),
        on="experiment",
    )
    is_control = pl.col("variant") == pl.col("control")
    control = frame.filter(is_control).select(
        *keys, *_SUMS, *COV_SUMS, *COV_MOMENTS, *FLAGS.values()
    )
    treatment = frame.filter(~is_control).drop("control")
    return treatment.join(control, on=keys, suffix="_c")


def arm_sums(frame: pl.DataFrame, suffix: str = "") -> ArmSums:
    """Numpy arrays of one arm's sums from a paired frame."""
    return ArmSums(
        *(frame[f"{c}{suffix}"].cast(pl.Float64).fill_null(np.nan).to_numpy() for c in _SUMS)
    )


def compute_results(
    dataset: Dataset, settings: Settings, experiment_ids: list[str]
) -> pl.DataFrame:
    """One row per experiment x treatment x metric with every figure, vectorised."""
    summary = totals(dataset.summary.filter(pl.col("experiment").is_in(experiment_ids)))
    controls = {e: dataset.experiments[e].control for e in experiment_ids}
    pairs = (
        pair_arms(summary, controls, ["experiment", "metric"])
        .join(metric_frame(dataset.catalog), on="metric")
        .sort("experiment", "variant", "role_order", "metric_order")
    )
    kind = pairs["type"].to_numpy()
    arms = arm_sums(pairs, "_c"), arm_sums(pairs)
    result, variance_reduction, theta = analyse(pairs, kind, *arms, settings.alpha, settings.cuped)
    n_both = (pairs["n"] + pairs["n_c"]).cast(pl.Float64).to_numpy()
    n_star, scale = None, None
    if settings.sequential:  # tuned once, to a sample fixed before the data (planned_n)
        n_star = planned_n(dataset, pairs["experiment"], settings.sequential_n)
        result = sequential_comparison(result, n_both, settings.alpha, n_star)
        scale = MixtureScale(n_both, tuned_eta(n_star, settings.alpha))
    normal_only = settings.sequential or settings.engine == "bayesian"
    checks = check(pairs, kind, result, normal_only, arms)
    result = without_test(result, checks.lost)
    threshold = pairs["practical_threshold"].to_numpy()
    # the flat test's (1 − 2α) interval, always valid too under --sequential
    equivalence_low, equivalence_high = equivalence_interval(result, settings.alpha, scale)
    with np.errstate(invalid="ignore"):
        flat = (equivalence_low > -threshold) & (equivalence_high < threshold)
    needed = units_needed(
        result.control_unit_var,
        result.treatment_unit_var,
        result.control_mean,
        threshold,
        settings.alpha,
    )
    is_ns = pairs["role"].to_numpy() == "north_star"
    family = pairs["experiment"].to_numpy().astype(object) + np.where(is_ns, "|ns", "|other")
    p_adj = adjust(result.p_value, family, settings.correction)
    sign = np.where(pairs["direction"].to_numpy() == "increase", 1.0, -1.0)
    with np.errstate(invalid="ignore"):
        significant = p_adj < settings.alpha
        goodness = np.sign(result.abs_effect) * sign
    frame = pairs.select(
        "experiment",
        "variant",
        "metric",
        "label",
        "role",
        "type",
        "direction",
        "practical_threshold",
        pl.col("n_c").alias("n_control"),
        pl.col("n").alias("n_treatment"),
    ).with_columns(
        pl.Series("control_mean", result.control_mean),
        pl.Series("treatment_mean", result.treatment_mean),
        pl.Series("abs_effect", result.abs_effect),
        pl.Series("abs_se", result.abs_se),
        pl.Series("abs_ci_low", result.abs_ci_low),
        pl.Series("abs_ci_high", result.abs_ci_high),
        pl.Series("rel_effect", result.rel_effect),
        pl.Series("rel_se", result.rel_se),
        pl.Series("rel_ci_low", result.rel_ci_low),
        pl.Series("rel_ci_high", result.rel_ci_high),
        pl.Series("equivalence_ci_low", equivalence_low),
        pl.Series("equivalence_ci_high", equivalence_high),
        pl.Series("p_value", result.p_value),
        pl.Series("p_adjusted", p_adj),
        pl.Series("significant", significant),
        pl.Series("better", significant & (goodness > 0)),
        pl.Series("worse", significant & (goodness < 0)),
        pl.Series("flat", flat & ~significant),
        pl.Series("units_needed", np.where(np.isfinite(needed), needed, np.nan)),
    )
    frame = extend(
        frame,
        result,
        dataset,
        dataset.catalog,
        settings.alpha,
        settings.engine,
        variance_reduction,
        theta,
    )
    if settings.sequential and n_star is not None:  # intervals agreeing with p_adjusted
        adj = sequential_adjusted_intervals(
            result,
            result.p_value,
            frame["p_adjusted"].cast(pl.Float64).fill_null(np.nan).to_numpy(),
            n_both,
            settings.alpha,
            n_star,
        )
        frame = frame.with_columns(
            pl.Series("abs_ci_adj_low", adj.abs_low),
            pl.Series("abs_ci_adj_high", adj.abs_high),
            pl.Series("rel_ci_adj_low", adj.rel_low),
            pl.Series("rel_ci_adj_high", adj.rel_high),
        )
    frame = with_validity(frame, result, checks, n_star)
    frame = with_bootstrap(frame, dataset, settings.bootstrap, settings.alpha, settings.seed)
    note = pl.concat_str([_note_expr(), pl.col("__note")], separator="; ", ignore_nulls=True)
    return frame.with_columns(
        pl.col(pl.Float64).fill_nan(None),
        pl.when(_note_expr().is_null() & pl.col("__note").is_null())
        .then(None)
        .otherwise(note)
        .alias("note"),
    ).drop("__note")


def _note_expr() -> pl.Expr:
    few = (pl.col("n_control") < 2) | (pl.col("n_treatment") < 2)
    return (
        pl.when(few)
        .then(pl.lit("fewer than 2 units in an arm: not testable"))
        .when(pl.col("control_mean") == 0)
        .then(pl.lit("control value is 0: relative effect undefined"))
        .when(pl.col("p_value").is_null())
        .then(pl.lit("not testable"))
        .when((pl.col("abs_ci_high") - pl.col("abs_ci_low")) == 0)
        .then(pl.lit("no variation in either arm"))
    )


def _srm(dataset: Dataset, experiments: dict[str, Experiment]) -> dict[str, Srm]:
    counts = (
        dataset.units.filter(pl.col("experiment").is_in(list(experiments)))
        .group_by("experiment", "variant")
        .agg(pl.col("units").sum())
        .sort("experiment", "variant")
    )
    shares = [
        experiments[e].info.expected_split.get(v, 1.0)
        for e, v in counts.select("experiment", "variant").iter_rows()
    ]
    tested = srm_test(counts.with_columns(pl.Series("share", shares, dtype=pl.Float64)))
    out = {}
    for row in tested.iter_rows(named=True):
        eid = row["experiment"]
        exp_counts = counts.filter(pl.col("experiment") == eid)
        split = experiments[eid].info.expected_split
        total = sum(split.values()) if split else len(exp_counts)
        out[eid] = Srm(
            p_value=float(row["p_value"]),
            mismatch=bool(row["mismatch"]),
            counts=dict(exp_counts.select("variant", "units").iter_rows()),
            expected={v: split.get(v, 1.0) / total for v in exp_counts["variant"]},
            assumed=not split,
        )
    return out


def _srm_problem(srm: Srm, experiment: str) -> str:
    observed = " / ".join(f"{v} {n:,}" for v, n in srm.counts.items())
    planned = " / ".join(f"{s * 100:g}%" for s in srm.expected.values())
    p = "p < 0.001" if srm.p_value < 0.001 else f"p = {srm.p_value:.3f}"
    if not srm.assumed:
        return f"sample ratio mismatch: {observed} units against a planned {planned} split ({p})"
    shares = ", ".join(f'"{v}" = <share>' for v in srm.counts)
    return (
        f"sample ratio mismatch: {observed} units against an equal {planned} split ({p}), "
        "assumed because no expected_split is declared; if the split was unequal by design, "
        f'declare it in experiments.toml: [experiments."{experiment}"] expected_split = '
        f"{{ {shares} }}"
    )


def _date_range(dataset: Dataset) -> dict[str, tuple[dt.date, dt.date]]:
    dated = dataset.units.drop_nulls("date")
    if dated.height == 0:
        return {}
    span = dated.group_by("experiment").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    )
    return {e: (a, b) for e, a, b in span.iter_rows()}


def finite(x: float | None) -> float | None:
    """None for NaN or missing, so JSON and tables show a gap rather than a wrong number."""
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x
