"""Command line: `nsexp readout PATH` prints a readout as a table, JSON or Markdown."""

from __future__ import annotations

import argparse
import json
import sys

from nsexp.analysis.readout import Settings, build_readout
from nsexp.analysis.segments import print_segments, segment_readout
from nsexp.cli.plan import add_depth_arguments, add_plan_parser, run_plan
from nsexp.cli.proxies import add_proxies_parser, readout_history, run_proxies
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.report.json import readout_dict
from nsexp.report.markdown import to_markdown, to_table
from nsexp.stats.multiplicity import CORRECTIONS

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors follow the house rule: one `error:` line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message}; see `nsexp --help`\n")
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The `nsexp` argument parser."""
    parser = _Parser(prog="nsexp", description="North Star experiment readouts.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    readout = sub.add_parser(
        "readout",
        help="test every metric of every experiment and print the verdicts",
        description="Read a data directory (or one data file) and print the readout.",
    )
    readout.add_argument("path", help="data directory or one CSV/Parquet file")
    readout.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    readout.add_argument("--experiment", help="only this experiment id")
    readout.add_argument("--alpha", type=float, default=0.05, help="significance level")
    readout.add_argument("--correction", choices=CORRECTIONS, default="holm")
    readout.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    readout.add_argument(
        "--sequential",
        action="store_true",
        help="always-valid intervals and p-values, safe to look at every day",
    )
    readout.add_argument(
        "--sequential-n",
        type=int,
        default=None,
        help="planned units per comparison (both arms) to tune the sequential boundary to, "
        "fixed before the data; experiments.toml planned_units wins (default 5000)",
    )
    readout.add_argument(
        "--segment",
        metavar="COLUMN",
        help="unit-level data: a readout per value of this column, and a heterogeneity test",
    )
    add_depth_arguments(readout)
    add_plan_parser(sub)
    add_proxies_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    if args.command == "plan":
        return run_plan(args)
    if args.command == "proxies":
        return run_proxies(args)
    try:
        dataset = load_dataset(args.path, args.metrics, segment=args.segment)
        settings = Settings(
            alpha=args.alpha,
            correction=args.correction,
            sequential=args.sequential,
            sequential_n=args.sequential_n,
            cuped=args.cuped,
            engine=args.engine,
            bootstrap=args.bootstrap,
            seed=args.seed,
        )
        if args.segment is not None:
            return print_segments(segment_readout(dataset, settings, args.experiment), args.format)
        history = readout_history(dataset, settings)
        readout = build_readout(dataset, settings, experiment=args.experiment, history=history)
    except InputError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return EXIT_BAD_INPUT
    if args.format == "json":
        text = json.dumps(readout_dict(readout), indent=2, allow_nan=False) + "\n"
    elif args.format == "markdown":
        text = to_markdown(readout)
    else:
        text = to_table(readout)
    sys.stdout.write(text)
    return 0
