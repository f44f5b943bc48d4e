"""The `nsexp` command line: readout, plan, tree (and its alias proxies)."""

from nsexp.cli.main import main

__all__ = ["main"]
