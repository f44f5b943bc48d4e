"""Cached calls into nsexp, one per thing a page shows, keyed on the data's stamp and the
Settings (both small and hashable, never a large frame).

Readouts are immutable, so they are cached as resources (shared, not copied per call); small
views (tables, names) as data. A loader that meets bad input shows its message with a link to
the Data page and stops the page: every loader behaves the same, so pages just call them.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import polars as pl
import streamlit as st

from nsexp.analysis import asof
from nsexp.analysis.readout import ExperimentReadout, Readout, build_readout
from nsexp.analysis.segments import (
    SegmentReadout,
    experiment_file,
    segment_readout,
)
from nsexp.analysis.segments import (
    segment_columns as columns_of,
)
from nsexp.analysis.settings import DEFAULT, Settings
from nsexp.analysis.srm import srm_checks
from nsexp.errors import InputError
from nsexp.io import Dataset, default_data_dir, load_dataset
from nsexp.io.engines import source_name
from nsexp.io.limits import UPLOAD_LIMITS, Limits, check_resamples
from nsexp.learning.history import Learning, learned_readout
from nsexp.learning.proxies import NorthStarWins, cumulative_impact
from nsexp.learning.tree import TreeEvidence
from nsexp.report.movement import metric_movement
from nsexp.report.portfolio import portfolio_table
from nsexp.report.preview import experiments_table, metrics_table, split_table, summary_head
from nsexp.report.review import Review, build_review, targets_of
from nsexp.report.review_tables import targets_table
from nsexp.report.scoreboard import health_line, scoreboard_frame
from nsexp.report.text import md_escape
from nsexp.stats.multiplicity import CORRECTIONS
from nsexp.store.decisions import Recorded
from pages.ui import frame, workers
from pages.ui.frame import DataContext
from pages.ui.nav import DATA
from pages.ui.sidebar import ALPHAS

P = ParamSpec("P")
T = TypeVar("T")
TTL = 3600
BOOTSTRAP_RESAMPLES = 2000
# A readout with its learning is the heavy entry, one per data version and settings (each link's
# α, correction, engine...). Entries are weighed by their experiment × arm × metric figures
# (about 3 KB each, tests/analysis/test_readout_memory.py): together at most HEAVY_ENTRIES
# readouts at an upload's arm-metric limit (about 150 MB each), so uploads pin what they did,
# while the 24 settings of a portfolio the demo's size (1,032 figures) all stay cached
# (docs/deployment.md, "Limits"). MOST_ANALYSES bounds the count of small ones; the HEAVY_ENTRIES
# most recently used are kept whatever they weigh (the operator's own data has no limit).
# Every loader is keyed on the data and the settings: Streamlit's hasher walks a DataContext's
# file stamps value by value (0.6 ms, several times a page), while their repr names every field
# exactly in one string.
KEYS: dict[str | type[Any], Callable[[Any], Any]] = {DataContext: repr, Settings: repr}
HEAVY_ENTRIES = 4
HEAVY_FIGURES = HEAVY_ENTRIES * (UPLOAD_LIMITS.arm_metrics or 0)
MOST_ANALYSES = 64


def _or_stop(call: Callable[P, T]) -> Callable[P, T]:
    """Run a loader; bad data shows its message and a way to fix it, then stops the page."""

    @functools.wraps(call)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return call(*args, **kwargs)
        except InputError as exc:
            st.error(
                md_escape(exc.shown_under(default_data_dir()).message), icon=":material/error:"
            )
            st.page_link(DATA, label="Check the data on the Data page", icon=":material/database:")
            st.stop()

    return guarded


def _limits(data: DataContext) -> Limits:
    """An upload's limits for a workspace; the operator's own (NSEXP_MAX_...) for the root."""
    return UPLOAD_LIMITS if data.workspace else Limits.from_env()


class Fetched(NamedTuple):
    """A dataset and when it was read (a warehouse source: when the query ran)."""

    dataset: Dataset
    at: dt.datetime


@st.cache_resource(hash_funcs=KEYS, max_entries=4, ttl=TTL, show_spinner=False)
def _fetched(data: DataContext) -> Fetched:
    """Read the data; a warehouse query (source.toml) shows a spinner with the elapsed time.
    Cached for TTL seconds, or until `refresh`."""
    if source_name(data.path) is None:
        found = load_dataset(data.path, limits=_limits(data))
    else:
        with st.spinner("Querying the warehouse…", show_time=True):
            found = load_dataset(data.path, limits=_limits(data))
    return Fetched(found, dt.datetime.now(dt.UTC))


def _dataset(data: DataContext) -> Dataset:
    return _fetched(data).dataset


def refresh(data: DataContext) -> None:
    """Read this data's source again on the next run (frame.refreshed: its caches are keyed
    anew), dropping its read data and readouts now; other workspaces keep theirs, and pins are
    stored figures that keep theirs."""
    frame.refreshed(data)
    _fetched.clear(data)
    for key in _ledger.drop(data):
        _analysed.clear(*key)


class Analysis(NamedTuple):
    """Every experiment read out under one data version and settings, with what the portfolio
    teaches (the learning its reasons, records and priors quote)."""

    learning: Learning
    readout: Readout


Key = tuple[DataContext, Settings]


class Ledger:
    """The heavy cache's entries with their weights, least recently used first: which to drop
    so that the entries kept stay within a total weight and a count."""

    def __init__(self, budget: int, most: int, least: int) -> None:
        """Keep entries weighing at most `budget` together and at most `most` of them, but
        always the `least` most recently used, whatever they weigh."""
        self.budget, self.most, self.least = budget, most, least
        self._weights: OrderedDict[Key, int] = OrderedDict()
        self._lock = threading.Lock()

    def touch(self, key: Key) -> None:
        """The entry was used: it is the last to be dropped."""
        with self._lock:
            if key in self._weights:
                self._weights.move_to_end(key)

    def add(self, key: Key, weight: int) -> list[Key]:
        """A new entry; the least recently used entries to drop so that the rest fit."""
        with self._lock:
            self._weights[key] = weight
            self._weights.move_to_end(key)
            dropped = []
            while len(self._weights) > self.least and (
                len(self._weights) > self.most or sum(self._weights.values()) > self.budget
            ):
                old = next(iter(self._weights))
                del self._weights[old]
                dropped.append(old)
            return dropped

    def drop(self, data: DataContext) -> list[Key]:
        """Forget the entries of this data; their keys, to drop from the cache."""
        with self._lock:
            keys = [k for k in self._weights if k[0] == data]
            for key in keys:
                del self._weights[key]
            return keys

    def __len__(self) -> int:
        """How many entries are kept."""
        return len(self._weights)


_ledger = Ledger(HEAVY_FIGURES, MOST_ANALYSES, HEAVY_ENTRIES)


@st.cache_resource(
    hash_funcs=KEYS,
    max_entries=MOST_ANALYSES,
    ttl=TTL,
    show_spinner="Reading out every experiment…",
)
def _analysed(data: DataContext, settings: Settings) -> Analysis:
    dataset = _dataset(data)
    found = Analysis(*workers.call(workers.analyse, dataset, settings))  # off the GIL of pages
    for key in _ledger.add((data, settings), dataset.totals.height):
        _analysed.clear(*key)
    return found


def _analysis(data: DataContext, settings: Settings) -> Analysis:
    """The cached analysis of the data under these settings (computed once per data version and
    settings for every session; the least recently used are dropped past the Ledger's budget)."""
    _ledger.touch((data, settings))
    return _analysed(data, settings)


def _learning(data: DataContext, settings: Settings) -> Learning:
    return _analysis(data, settings).learning


def _readout(data: DataContext, settings: Settings) -> Readout:
    return _analysis(data, settings).readout


def _root() -> DataContext:
    """The data directory served (not a workspace), at its current stamp."""
    root = default_data_dir()
    return DataContext.of(root, None, root)


def warm_up() -> None:
    """At server start-up (serve.py), before the first visitor: start the worker processes and
    read the data directory out with the default settings, so that a first deep link finds
    them ready. Bad data is left for the page to report."""
    try:
        workers.start()
        _analysis(_root(), DEFAULT)
    except (InputError, OSError):
        return


def nearby() -> list[Settings]:
    """The settings a link is likely to carry, nearest the default first: each α the sidebar
    offers × each correction × the default methods or one of them changed (the Bayesian engine,
    safe peeking, CUPED off)."""
    methods: tuple[dict[str, Any], ...] = (
        {},
        {"engine": "bayesian"},
        {"sequential": True},
        {"cuped": False},
    )
    found = {
        replace(DEFAULT, alpha=float(alpha), correction=correction, **changed)
        for alpha in ALPHAS
        for correction in CORRECTIONS
        for changed in methods
    }
    return sorted(found - {DEFAULT}, key=lambda s: (len(s.to_query()), repr(s)))


def warm_nearby() -> None:
    """At server start-up after warm_up (serve.py, before it answers; the rest in the
    background once it does): read the data directory out under the nearby settings, one per
    worker process at a time, each started only while no visitor's work is running
    (workers.background), so that a first visit to them finds them cached. Only while they all
    fit the heavy cache beside the default readout without dropping an entry (a large portfolio
    is not warmed); bad data is left for the page to report."""
    data, todo = _root(), nearby()
    try:
        weight = _dataset(data).totals.height
    except (InputError, OSError):
        return
    if (len(todo) + 1) * weight > _ledger.budget or len(todo) + 1 > _ledger.most:
        return
    queue = iter(todo)
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                settings = next(queue, None)
            if settings is None:
                return
            try:
                with workers.background():  # after the visitors' readouts and charts
                    _analysis(data, settings)
            except (InputError, OSError):
                return

    name = threading.current_thread().name
    threads = [
        threading.Thread(target=work, name=f"{name}-{i}", daemon=True)
        for i in range(max(1, workers.size()))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


dataset = _or_stop(_dataset)
dataset.__doc__ = "The validated dataset of the data on view."
readout = _or_stop(_readout)
readout.__doc__ = "Every experiment read out as the CLI does, with the history in the reasons."


def quiet_dataset(data: DataContext) -> Dataset | None:
    """The dataset, or None when it cannot be read (for chrome that must not fail the page)."""
    try:
        return _dataset(data)
    except (InputError, OSError):
        return None


@_or_stop
def experiment(data: DataContext, settings: Settings, experiment_id: str) -> ExperimentReadout:
    """One experiment's readout (from the cached readout of every experiment)."""
    return _readout(data, settings).experiments[experiment_id]


@_or_stop
def date_span(data: DataContext) -> tuple[dt.date, dt.date] | None:
    """The first and last date of the data on view (None when it has no dates)."""
    return asof.date_span(_dataset(data))


@_or_stop
@st.cache_resource(
    hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Reading out the data up to that date…"
)
def experiment_as_of(
    data: DataContext, settings: Settings, experiment_id: str, day: dt.date
) -> ExperimentReadout | None:
    """One experiment read out from the data up to and including `day` (nsexp.analysis.asof),
    with what the whole portfolio teaches (the live readout's learning, so its North Star is the
    live timeline's point at that day); None when it had no control and treatment data yet."""
    dataset = asof.as_of(_dataset(data), day)
    if experiment_id not in dataset.experiments:
        return None
    learning = _learning(data, settings)
    readout = learned_readout(dataset, settings, experiment_id, learning=learning)
    return readout.experiments[experiment_id]


@_or_stop
def experiment_names(data: DataContext) -> dict[str, str]:
    """Experiment id -> its human name, in id order."""
    return {e.id: e.info.title for e in _dataset(data).experiments.values()}


@_or_stop
@st.cache_data(hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner=False)
def portfolio(data: DataContext, settings: Settings) -> tuple[pl.DataFrame, str]:
    """The portfolio table (a row per treatment) and the North Star's label."""
    result = _readout(data, settings)
    return portfolio_table(result), result.catalog.north_star.label


@_or_stop
@st.cache_data(
    hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Learning from past experiments…"
)
def insights(data: DataContext, settings: Settings) -> tuple[TreeEvidence, NorthStarWins]:
    """The tree's evidence on every edge and the cumulative North Star impact of the wins."""
    return _learning(data, settings).evidence, cumulative_impact(_readout(data, settings).judgement)


class TreeView(NamedTuple):
    """What the North Star page shows: the tree's evidence, each metric's movement, the team
    scoreboard, the North Star's health line and how many experiments they cover."""

    evidence: TreeEvidence
    movement: pl.DataFrame
    scoreboard: pl.DataFrame
    health: str
    experiments: int


@_or_stop
@st.cache_data(
    hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Learning from past experiments…"
)
def tree_view(data: DataContext, settings: Settings) -> TreeView:
    """The North Star tree with its evidence, each metric's movement, the team scoreboard and
    the North Star's health line."""
    result = _readout(data, settings)
    movement = metric_movement(result)
    impact = cumulative_impact(result.judgement)
    return TreeView(
        evidence=_learning(data, settings).evidence,
        movement=movement,
        scoreboard=scoreboard_frame(result, impact),
        health=health_line(result, movement, impact),
        experiments=len(result.experiments),
    )


@_or_stop
@st.cache_resource(hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Preparing the review…")
def review(
    data: DataContext, settings: Settings, since: dt.date | None, recorded: tuple[Recorded, ...]
) -> Review:
    """The sprint review since a date (None: the default) with the recorded decisions (the
    log's latest entries, passed in so a new entry is a new cache key)."""
    return build_review(
        _dataset(data),
        settings,
        since,
        {(r.experiment, r.variant): r for r in recorded},
        now=_readout(data, settings),
        evidence=_learning(data, settings).evidence,
    )


@_or_stop
@st.cache_data(hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner=False)
def targets(data: DataContext, settings: Settings, recorded: tuple[Recorded, ...]) -> pl.DataFrame:
    """The targets on the tree (nsexp.report.review_tables.targets_table), counting what was
    shipped by the recorded decisions where there are some."""
    found = {(r.experiment, r.variant): r for r in recorded}
    return targets_table(targets_of(_readout(data, settings), found))


@st.cache_data(hash_funcs=KEYS, max_entries=64, ttl=TTL, show_spinner=False)
def _segment_file(data: DataContext, experiment_id: str) -> tuple[str | None, list[str]]:
    dataset = _dataset(data)
    found = experiment_file(dataset, experiment_id)
    if found is None:
        return None, []
    return str(found), columns_of(found, dataset.catalog)


@_or_stop
def segment_columns(data: DataContext, experiment_id: str) -> list[str]:
    """The columns that can split an experiment's unit-level data into segments."""
    return _segment_file(data, experiment_id)[1]


@_or_stop
def has_units(data: DataContext, experiment_id: str) -> bool:
    """Whether the experiment's rows come from one unit-level file."""
    return _segment_file(data, experiment_id)[0] is not None


@_or_stop
@st.cache_resource(
    hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Reading out every segment…"
)
def segment_view(
    data: DataContext, settings: Settings, experiment_id: str, column: str
) -> SegmentReadout:
    """One experiment read out per value of a segment column (its file alone)."""
    file, _ = _segment_file(data, experiment_id)
    if file is None:
        raise InputError(f"experiment {experiment_id} has no unit-level file to split")
    dataset = load_dataset(
        file, Path(data.path) / "metrics.toml", segment=column, limits=_limits(data)
    )
    return segment_readout(dataset, settings, experiment_id)


@_or_stop
def bootstrap_refusal(data: DataContext, experiment_id: str, resamples: int) -> str | None:
    """Why the app will not resample this experiment's units in one request (too many units for
    the resamples: nsexp.io.limits), or None."""
    units = _dataset(data).units.filter(pl.col("experiment") == experiment_id)["units"].sum()
    try:
        check_resamples(int(units), resamples, _limits(data))
    except InputError as exc:
        return exc.message
    return None


@_or_stop
@st.cache_resource(hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Resampling the units…")
def bootstrap(
    data: DataContext, settings: Settings, experiment_id: str, resamples: int
) -> ExperimentReadout:
    """One experiment read out with bootstrap intervals of its unit-level mean metrics: the one
    place the resamples asked for (app.py keeps them off the settings every other view is
    cached on) join the settings, which the readout then carries."""
    resampled = replace(settings, bootstrap=resamples)
    learning = _learning(data, settings)  # the Bayesian priors and the tree of the readout on view
    readout = workers.call(  # resampling is seconds of CPU: off the GIL of the pages drawn
        build_readout,
        _dataset(data),
        resampled,
        experiment=experiment_id,
        priors=learning.priors,
        edges=learning.evidence.edges,
    )
    return readout.experiments[experiment_id]


class Overview(NamedTuple):
    """What a data directory holds, as the Data page shows it: its experiments and their units,
    metric catalog, first summary rows and arm splits, the North Star's label, the file count
    and the data fingerprint; where the rows come from, when they were read and the newest
    date in them (None: undated)."""

    experiments: pl.DataFrame
    units: int
    metrics: pl.DataFrame
    summary: pl.DataFrame
    north_star: str
    files: int
    fingerprint: str
    splits: pl.DataFrame
    source: str
    fetched: dt.datetime
    newest: dt.date | None


@st.cache_data(hash_funcs=KEYS, max_entries=16, ttl=TTL, show_spinner="Reading the data…")
def overview(data: DataContext) -> Overview:
    """What a data directory holds, for the Data page (raises InputError: the page shows it
    and goes on to the upload form)."""
    fetched = _fetched(data)
    found = fetched.dataset
    experiments = experiments_table(found)
    return Overview(
        experiments=experiments,
        units=int(experiments["units"].sum()),
        metrics=metrics_table(found.catalog),
        summary=summary_head(found),
        north_star=found.catalog.north_star.label,
        files=len(found.files),
        fingerprint=found.fingerprint,
        splits=split_table(srm_checks(found)),
        source=source_name(data.path) or "the data directory's files",
        fetched=fetched.at,
        newest=found.summary["date"].max(),  # type: ignore[arg-type]
    )
