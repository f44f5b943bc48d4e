"""`nsexp readout PATH`: every metric of every experiment tested, judged and printed."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from nsexp.analysis.settings import STATS_ENGINES, Settings
from nsexp.cli.collector import collector_paused, importing
from nsexp.errors import InputError
from nsexp.stats.multiplicity import CORRECTIONS

if TYPE_CHECKING:
    from nsexp.analysis.readout import Readout


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp readout` and its options."""
    p = sub.add_parser(
        "readout",
        help="test every metric of every experiment and print the verdicts",
        description="Read a data directory (or one data file) and print the readout.",
    )
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--experiment", help="only this experiment id")
    p.add_argument(
        "--control",
        metavar="VARIANT",
        help="the control arm, for experiments experiments.toml does not cover "
        "(default: the one variant named like a control, e.g. control or baseline)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument(
        "--sequential",
        action="store_true",
        help="always-valid intervals and p-values, safe to look at every day",
    )
    p.add_argument(
        "--sequential-n",
        type=int,
        default=None,
        help="planned units per comparison (both arms) to tune the sequential boundary to, "
        "fixed before the data; experiments.toml planned_units wins (default 5000)",
    )
    p.add_argument(
        "--segment",
        metavar="COLUMN",
        help="unit-level data: a readout per value of this column, and a heterogeneity test",
    )
    p.add_argument(
        "--cuped",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="CUPED covariate adjustment (default: on where metrics.toml names a covariate)",
    )
    p.add_argument("--engine", choices=STATS_ENGINES, default="frequentist")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="N",
        help="N bootstrap resamples for a robustness CI of unit-level mean metrics",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap random seed")
    p.add_argument(
        "--as-of",
        metavar="DATE",
        help="read out the data up to and including this ISO date (e.g. 2026-08-10) only; "
        "unit rows keep outcomes recorded after it, so only a pin shows what was seen then",
    )
    p.set_defaults(run=run)


def settings_of(args: argparse.Namespace) -> Settings:
    """The analysis Settings the command line asks for (validated)."""
    if args.seed < 0:
        raise InputError(
            f"--seed {args.seed} is negative", fix="give a seed of 0 or more, e.g. --seed 0"
        )
    if args.sequential_n is not None and not args.sequential:
        raise InputError(
            "--sequential-n tunes the sequential boundary, but --sequential is not on",
            fix="add --sequential, or drop --sequential-n",
        )
    return Settings(
        alpha=args.alpha,
        correction=args.correction,
        sequential=args.sequential,
        sequential_n=args.sequential_n,
        cuped=args.cuped,
        engine=args.engine,
        bootstrap=args.bootstrap,
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> str | Iterator[bytes]:
    """The readout as table, JSON or Markdown text (per segment with --segment; of the data up
    to a date with --as-of)."""
    with importing():  # see nsexp.cli.collector
        from nsexp.analysis.asof import as_of, parse_day
        from nsexp.io import load_dataset
        from nsexp.learning.history import learned_readout

    settings = settings_of(args)  # bad options fail before the data is read
    day = None if args.as_of is None else parse_day(args.as_of)
    dataset = load_dataset(args.path, args.metrics, segment=args.segment, control=args.control)
    if day is not None:
        dataset = as_of(dataset, day)
    if args.segment is not None:  # segments and their printing load only when asked for
        from nsexp.analysis.segments import segment_readout
        from nsexp.report.segments import segment_output

        return segment_output(segment_readout(dataset, settings, args.experiment), args.format)
    with collector_paused():  # summary-sized records, freed by reference counting
        readout = learned_readout(dataset, settings, args.experiment)
        if args.format != "json":
            from nsexp.report.markdown import to_markdown, to_table

            return to_markdown(readout) if args.format == "markdown" else to_table(readout)
    path = Path(args.path)
    return _json(readout, path if path.is_dir() else path.parent)


def _json(readout: Readout, directory: Path) -> Iterator[bytes]:
    """The readout's JSON with the decisions recorded in `directory`, one experiment at a time
    as it is printed (nsexp.report.json.dumps_pieces), the collector paused as for the
    readout (a bad log fails before anything is printed)."""
    from nsexp.report.json import dumps_pieces, experiment_dict, readout_head
    from nsexp.store.decisions import latest, with_recorded

    with collector_paused():
        found = latest(directory)
        experiments = (
            with_recorded(experiment_dict(e, plain=False), found)
            for e in readout.experiments.values()
        )
        yield from dumps_pieces(readout_head(readout), "experiments", experiments)
