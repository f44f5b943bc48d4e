"""`nsexp tree PATH`: the North Star tree with the evidence on every edge."""

from __future__ import annotations

import argparse
import json

from nsexp.stats.multiplicity import CORRECTIONS


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp tree` and its options."""
    p = sub.add_parser(
        "tree",
        help="the North Star tree with the evidence on every edge, from past experiments",
        description="Every edge of the metric catalog's tree (child -> parent, and every metric "
        "-> North Star): how often the child moved and the parent followed, the noise-corrected "
        "correlation and slope of their true effects with intervals, and a label.",
    )
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    """The tree report as table, JSON or Markdown text."""
    from nsexp.analysis.readout import judge
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset
    from nsexp.learning.tree import tree_evidence
    from nsexp.report import tree as report

    dataset = load_dataset(args.path, args.metrics)
    evidence = tree_evidence(judge(dataset, Settings(alpha=args.alpha, correction=args.correction)))
    if args.format == "json":
        return json.dumps(report.tree_dict(evidence), indent=2, allow_nan=False) + "\n"
    if args.format == "markdown":
        return report.to_markdown(evidence)
    return report.to_table(evidence)
