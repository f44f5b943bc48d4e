"""The `nsexp` command line: readout, plan and proxies."""

from nsexp.cli.main import main

__all__ = ["main"]
