"""The `nsexp` entry point: one parser, one dispatch, one rule for bad input.

Every command's `run` returns the text to print (str, or UTF-8 bytes in pieces) and raises
InputError for input a person can fix; `main` turns that into one `error:` line and exit code 2
(a command's pieces are made as they print: one failing late has printed those before). Everything
printed goes through `terminal_safe`, so no label, name or variant in the data can act on the
terminal. Commands import the analysis only when they run, so `nsexp --help` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Iterable

import nsexp
from nsexp.cli.collector import importing
from nsexp.errors import InputError
from nsexp.report.text import terminal_safe, terminal_safe_utf8

EXIT_BAD_INPUT = 2
# Every command name (aliases too) -> the module of nsexp.cli whose add_parser registers it, in
# the order `nsexp --help` lists them.
COMMANDS = {
    "readout": "readout",
    "plan": "plan",
    "tree": "tree",
    "proxies": "tree",
    "review": "review",
    "workspaces": "workspaces",
    "sql": "sql",
}
# The commands that read data import polars, numpy and scipy.special in `main`, before their
# own imports: at the bottom of nsexp's import chain, CPython 3.11 mapped and unmapped a 16 KB
# chunk of its frame stack some 4,000 times while they loaded (~0.1 s CPU of a small readout).
READS_DATA = frozenset(COMMANDS) - {"plan", "sql"}


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


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The `nsexp` argument parser, one sub-command per module of nsexp.cli: only the named
    command's when `argv` starts with one (that command's help and errors read its own parser
    alone), else every command's (for `nsexp --help` and an unknown command's error)."""
    parser = _Parser(prog="nsexp", description="North Star experiment readouts.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    named = argv[0] if argv and argv[0] in COMMANDS else None
    for module in dict.fromkeys(COMMANDS.values() if named is None else [COMMANDS[named]]):
        importlib.import_module(f"nsexp.cli.{module}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input)."""
    os.environ.setdefault(*nsexp.BLAS_THREADS)
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    if args.command in READS_DATA:  # here, from a shallow frame: see READS_DATA
        with importing():  # see nsexp.cli.collector
            import numpy  # noqa: F401
            import polars  # noqa: F401
            import scipy.special  # noqa: F401
    try:
        _print(args.run(args))  # a command's pieces are made as they are printed
    except InputError as exc:
        sys.stderr.write(terminal_safe(f"error: {exc.message}", one_line=True) + "\n")
        return EXIT_BAD_INPUT
    return 0


def _print(text: str | Iterable[bytes]) -> None:
    """Write terminal-safe text to stdout: a command's str, or its UTF-8 text in pieces (the
    readout's JSON, one experiment at a time), each piece checked and written as it comes (the
    escapes are per character, and a piece holds whole characters), as bytes straight to the
    buffer where stdout is UTF-8 (never decoded); the same bytes either way."""
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower()
    buffer = getattr(sys.stdout, "buffer", None)
    for piece in [text] if isinstance(text, str) else text:
        data = terminal_safe_utf8(piece) if encoding in ("utf-8", "utf8") else None
        if data is None or buffer is None:  # a lone surrogate, another encoding, a text stream
            sys.stdout.write(terminal_safe(piece if isinstance(piece, str) else piece.decode()))
            continue
        sys.stdout.flush()
        buffer.write(data)
