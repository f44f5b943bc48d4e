"""The `nsexp` entry point: one parser, one dispatch, one rule for bad input.

Every command's `run` returns the text to print and raises InputError for input a person can
fix; `main` turns that into one `error:` line and exit code 2. Everything printed goes through
`terminal_safe`, so no label, name or variant in the data can act on the terminal. Commands
import the analysis only when they run, so `nsexp --help` starts fast.
"""

from __future__ import annotations

import argparse
import sys

import nsexp
from nsexp.cli import plan, readout, review, sql, tree, workspaces
from nsexp.errors import InputError
from nsexp.report.text import terminal_safe

EXIT_BAD_INPUT = 2


class _Version(argparse.Action):
    """`--version`: the version is looked up only when asked for (see nsexp.__getattr__)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        """Print `nsexp VERSION` and exit 0."""
        sys.stdout.write(f"nsexp {nsexp.__version__}\n")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors follow the house rule: one `error:` line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one `error:` line and exit 2."""
        sys.stderr.write(
            terminal_safe(f"error: {message}; see `nsexp --help`", one_line=True) + "\n"
        )
        sys.exit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The `nsexp` argument parser, one sub-command per module of nsexp.cli."""
    parser = _Parser(prog="nsexp", description="North Star experiment readouts.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in (readout, plan, tree, review, workspaces, sql):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        text = args.run(args)
    except InputError as exc:
        sys.stderr.write(terminal_safe(f"error: {exc.message}", one_line=True) + "\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(terminal_safe(text))
    return 0
