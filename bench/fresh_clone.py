"""A newcomer's first `make run`: from `git clone` to the app answering /_stcore/health.

Clones this repository's committed HEAD into a temporary directory, runs `make run PORT=<free>`
there (which creates .venv and installs the core dependencies only), polls
http://127.0.0.1:PORT/_stcore/health until it answers "ok", then stops the server (its process
group, which this benchmark started) and measures the .venv. The package cache is pip's usual one
(warm when this machine has installed the project before: the issue's condition). Run alone:
`python -m bench.run --only fresh_clone`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench._measure import REPO

SECTION = "Set-up: first `make run` from a fresh clone"
TARGET_S, TARGET_MB = 90.0, 600.0
TIMEOUT_S = 600


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(port: int) -> bool:
    """Whether the app answers its health check."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False


def size_mb(path: Path) -> float:
    """Bytes of every file under path (symlinks not followed), in MB."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total / 1e6


def first_run(clone: Path) -> tuple[float, float]:
    """Seconds from `make run` to a healthy app, and the .venv's size in MB."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "NSEXP_DATA_DIR")}
    start = time.perf_counter()
    with open(clone / "make-run.log", "wb") as log:
        server = subprocess.Popen(
            ["make", "run", f"PORT={port}", "PYTHON=python3"],
            cwd=clone,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            while not healthy(port):
                if server.poll() is not None:
                    raise RuntimeError(f"make run exited {server.returncode}; see {log.name}")
                if time.perf_counter() - start > TIMEOUT_S:
                    raise RuntimeError(f"no health answer in {TIMEOUT_S} s")
                time.sleep(0.25)
            elapsed = time.perf_counter() - start
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return elapsed, size_mb(clone / ".venv")


def run(argv: list[str] | None = None) -> str:
    """Clone, time the first `make run`, return Markdown."""
    with tempfile.TemporaryDirectory(prefix="nsexp-clone-") as tmp:
        clone = Path(tmp) / "nsexp"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip()
        seconds, venv_mb = first_run(clone)
    time_ok = "met" if seconds < TARGET_S else "**missed**"
    size_ok = "met" if venv_mb < TARGET_MB else "**missed**"
    return "\n".join(
        [
            f"`git clone` of commit {head}, then `time make run` until /_stcore/health answers "
            '"ok" (pip\'s package cache warm, python3 '
            f"{sys.version.split()[0]}). Command: `python -m bench.run --only fresh_clone`.",
            "",
            "| what | figure | target |",
            "|---|---:|---|",
            f"| first `make run` to a serving app | {seconds:.1f} s | < {TARGET_S:.0f} s: "
            f"{time_ok} |",
            f"| .venv size | {venv_mb:,.0f} MB | < {TARGET_MB:.0f} MB: {size_ok} |",
            "",
            "`make run` installs the core dependencies only (streamlit, polars, altair, scipy, "
            "numpy and what they need); `make test` adds the dev tools and the duckdb, postgres "
            "and spark extras (pyspark alone is about 400 MB).",
        ]
    )


if __name__ == "__main__":
    print(run(sys.argv[1:]))
