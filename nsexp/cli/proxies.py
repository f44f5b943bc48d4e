"""`nsexp proxies PATH`: which leading indicators really predict the North Star."""

from __future__ import annotations

import argparse

from nsexp.stats.multiplicity import CORRECTIONS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp proxies` and its options."""
    p = sub.add_parser(
        "proxies",
        help="which leading indicators really predict the North Star, from past experiments",
        description="Proxy quality of every metric across the valid comparisons in the data, "
        "and the cumulative North Star impact of the wins, naive and winner's-curse corrected.",
    )
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--control", metavar="VARIANT", help="the control arm (as for readout)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    """The proxy report as table, JSON or Markdown text."""
    from nsexp.analysis.readout import judge
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset
    from nsexp.learning.proxies import cumulative_impact, proxies
    from nsexp.report import proxies as report
    from nsexp.report.json import dumps

    dataset = load_dataset(args.path, args.metrics, control=args.control)
    judged = judge(dataset, Settings(alpha=args.alpha, correction=args.correction))
    table, impact = proxies(judged), cumulative_impact(judged)
    if args.format == "json":
        return dumps(report.proxies_dict(table, impact))
    if args.format == "markdown":
        return report.to_markdown(table, impact)
    return report.to_table(table, impact)
