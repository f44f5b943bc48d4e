"""`nsexp sql PATH --dialect ENGINE`: the query nsexp would run, for a data team to schedule.

Written for the catalog's columns without connecting: it returns the long rows of a summary
file (experiment, variant, [date], metric, n and the sums), which nsexp reads when dropped
into a data directory. The unit-id checks need the units themselves and are not in it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nsexp.config.source import SOURCE_ENGINES
from nsexp.errors import InputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp sql` and its options."""
    p = sub.add_parser(
        "sql",
        help="print the warehouse query that returns this catalog's summary rows",
        description="Print, without connecting, the SQL that aggregates unit-level rows into "
        "the summary rows nsexp reads (docs/warehouses.md).",
    )
    p.add_argument("path", help="data directory with metrics.toml (and optionally source.toml)")
    p.add_argument("--dialect", required=True, metavar="ENGINE", help=", ".join(SOURCE_ENGINES[1:]))
    p.add_argument(
        "--table",
        help="the table (or view) to read (default: source.toml's table or query, else events)",
    )
    p.add_argument(
        "--dates",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one row per day (the catalog's date column) or one per arm",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    """The query, in the dialect asked for, ending in a newline."""
    try:
        from nsexp.io.engines.query import catalog_query
    except ImportError as exc:
        raise InputError(
            "nsexp sql needs the sqlglot package", fix="pip install 'nsexp[sql]'"
        ) from exc
    if args.dialect not in SOURCE_ENGINES or args.dialect == "polars":
        raise InputError(
            f"--dialect {args.dialect} is not a SQL engine",
            fix=f"use one of {', '.join(SOURCE_ENGINES[1:])}",
        )
    return catalog_query(Path(args.path), args.dialect, args.table, args.dates) + "\n"
