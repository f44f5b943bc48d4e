"""`nsexp tree PATH`: the North Star tree with the evidence on every edge; and its alias
`nsexp proxies PATH`, the tree's North Star edges as the proxy report (which leading indicators
really predict the North Star) with the cumulative North Star impact of the wins."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from nsexp.stats.multiplicity import CORRECTIONS

if TYPE_CHECKING:
    from nsexp.analysis.readout import Judgement


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp tree` and its alias `nsexp proxies`, with their options."""
    tree = sub.add_parser(
        "tree",
        help="the North Star tree with the evidence on every edge, from past experiments",
        description="Every edge of the metric catalog's tree (child -> parent, and every metric "
        "-> North Star): how often the child moved and the parent followed, the noise-corrected "
        "correlation and slope of their true effects with intervals, and a label.",
    )
    _options(tree)
    tree.add_argument(
        "--north-star-edges",
        action="store_true",
        help="only the edges into the North Star (what `nsexp proxies` reports)",
    )
    tree.set_defaults(run=run)
    proxies = sub.add_parser(
        "proxies",
        help="alias of `nsexp tree --north-star-edges` as the proxy report, with the "
        "winner's-curse-corrected impact of the wins",
        description="The tree's edges into the North Star, one row per metric (JSON: `metrics`), "
        "and the cumulative North Star impact of the wins, naive and winner's-curse corrected "
        "(JSON: `cumulative_impact`). The same evidence as `nsexp tree --north-star-edges`.",
    )
    _options(proxies)
    proxies.set_defaults(run=run_proxies)


def _options(p: argparse.ArgumentParser) -> None:
    """The options `tree` and `proxies` share."""
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--control", metavar="VARIANT", help="the control arm (as for readout)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")


def _judged(args: argparse.Namespace) -> Judgement:
    """Every experiment judged under the command's options (the tree needs no sentences)."""
    from nsexp.analysis.readout import judge
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset

    dataset = load_dataset(args.path, args.metrics, control=args.control)
    return judge(dataset, Settings(alpha=args.alpha, correction=args.correction))


def run(args: argparse.Namespace) -> str:
    """The tree report (or only its North Star edges) as table, JSON or Markdown text."""
    from nsexp.learning.tree import tree_evidence
    from nsexp.report import tree as report

    evidence = tree_evidence(_judged(args))
    if args.north_star_edges:
        evidence = evidence.north_star_edges()
    if args.format == "json":
        return json.dumps(report.tree_dict(evidence), indent=2, allow_nan=False) + "\n"
    if args.format == "markdown":
        return report.to_markdown(evidence)
    return report.to_table(evidence)


def run_proxies(args: argparse.Namespace) -> str:
    """The proxy report (the tree's North Star edges) as table, JSON or Markdown text."""
    from nsexp.learning.proxies import cumulative_impact
    from nsexp.learning.tree import tree_evidence
    from nsexp.report import proxies as report
    from nsexp.report.json import dumps

    judged = _judged(args)
    evidence, impact = tree_evidence(judged).north_star_edges(), cumulative_impact(judged)
    if args.format == "json":
        return dumps(report.proxies_dict(evidence, impact))
    if args.format == "markdown":
        return report.to_markdown(evidence, impact)
    return report.to_table(evidence, impact)
