"""CLI pieces for `nsexp proxies` and the history quoted by `nsexp readout`."""

from __future__ import annotations

import argparse
import json
import sys

from nsexp.analysis.readout import Settings, build_readout
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.learning.history import readout_history  # noqa: F401  (re-exported for the CLI)
from nsexp.learning.proxies import cumulative_impact, proxies
from nsexp.report import proxies as report
from nsexp.stats.multiplicity import CORRECTIONS

EXIT_BAD_INPUT = 2


def add_proxies_parser(sub: argparse._SubParsersAction) -> None:
    """`nsexp proxies PATH`: which metrics predict the North Star, from past experiments."""
    p = sub.add_parser(
        "proxies",
        help="which leading indicators really predict the North Star, from past experiments",
        description="Proxy quality of every metric across the valid comparisons in the data, "
        "and the cumulative North Star impact of the wins, naive and winner's-curse corrected.",
    )
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")


def run_proxies(args: argparse.Namespace) -> int:
    """Print the proxy report; 0 on success, 2 with one `error:` line on bad input."""
    try:
        dataset = load_dataset(args.path, args.metrics)
        readout = build_readout(dataset, Settings(alpha=args.alpha, correction=args.correction))
    except InputError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return EXIT_BAD_INPUT
    table, impact = proxies(readout), cumulative_impact(readout)
    if args.format == "json":
        text = json.dumps(report.proxies_dict(table, impact), indent=2, allow_nan=False) + "\n"
    elif args.format == "markdown":
        text = report.to_markdown(table, impact)
    else:
        text = report.to_table(table, impact)
    sys.stdout.write(text)
    return 0
