"""nsexp: A/B readouts that test every metric and flag wins that never reach the North Star."""

from __future__ import annotations

# OpenBLAS (numpy's and scipy's) starts a worker thread per core that spins between calls:
# ~15% of the CPU of importing numpy and scipy, and nsexp's matrices are small. The CLI and the
# server set it (os.environ.setdefault: the user's environment wins) before numpy loads, since
# OpenBLAS reads it once.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "1")


def __getattr__(name: str) -> str:
    """`nsexp.__version__`, read on first use: importlib.metadata costs a CLI run ~5% of its
    imports, and only `--version` needs it."""
    if name != "__version__":
        raise AttributeError(f"module 'nsexp' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        # The version is declared once, in pyproject.toml; the installed metadata carries it.
        found = version("nsexp")
    except PackageNotFoundError:  # a source tree that was never installed (pip install -e .)
        found = "0+unknown"
    globals()["__version__"] = found
    return found
