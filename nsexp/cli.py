"""Command line: `nsexp readout PATH` prints a readout as a table, JSON or Markdown."""

from __future__ import annotations

import argparse
import json
import sys

from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.readout import Settings, build_readout
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        dataset = load_dataset(args.path, args.metrics)
        settings = Settings(alpha=args.alpha, correction=args.correction)
        readout = build_readout(dataset, settings, experiment=args.experiment)
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
