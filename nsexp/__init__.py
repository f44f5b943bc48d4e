"""nsexp: A/B readouts that test every metric and flag wins that never reach the North Star."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The version is declared once, in pyproject.toml; the installed metadata carries it.
    __version__ = version("nsexp")
except PackageNotFoundError:  # a source tree that was never installed (pip install -e .)
    __version__ = "0+unknown"
