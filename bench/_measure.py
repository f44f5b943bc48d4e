"""Run one command as a child process and measure it: wall, CPU and peak RSS from the kernel.

`os.wait4` returns the child's own resource usage (user + system CPU of all its threads, and its
peak resident set, ru_maxrss), so nothing polls and the figures include interpreter start and
imports: what a user waiting on the command sees.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    """One measured run of a command."""

    wall: float
    cpu: float
    peak_mb: float
    code: int
    stderr: str = ""


@dataclass
class Runs:
    """Several runs of one command, and their medians."""

    label: str
    runs: list[Run] = field(default_factory=list)

    @property
    def wall(self) -> float:
        """Median wall seconds."""
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> float:
        """Median CPU seconds (user + system)."""
        return statistics.median(r.cpu for r in self.runs)

    @property
    def peak_mb(self) -> float:
        """Highest peak RSS of any run, MB."""
        return max(r.peak_mb for r in self.runs)


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def measure(argv: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> Run:
    """Run argv to completion (output to /dev/null, stderr kept) and measure it."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        child = subprocess.Popen(
            argv, cwd=cwd, stdout=null, stderr=subprocess.PIPE, env={**os.environ, **(env or {})}
        )
        assert child.stderr is not None
        err = child.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,
        code=child.returncode,
        stderr=err[-2000:],
    )


def python(*args: str) -> list[str]:
    """argv for this interpreter."""
    return [sys.executable, *args]


def rounds(commands: dict[str, list[str]], repeats: int, **kwargs: object) -> dict[str, Runs]:
    """Every command once per round, in turn, for `repeats` rounds: they share the machine's
    load. A failing command stops the benchmark with its stderr."""
    out = {label: Runs(label) for label in commands}
    for round_ in range(repeats):
        for label, argv in commands.items():
            print(f"[bench] round {round_ + 1}: {label}", file=sys.stderr, flush=True)
            run = measure(argv, **kwargs)  # type: ignore[arg-type]
            if run.code:
                raise RuntimeError(f"{label} failed ({run.code}):\n{run.stderr}")
            out[label].runs.append(run)
    return out


def paired(a: Runs, b: Runs) -> float:
    """Median over rounds of a's wall / b's wall in the same round (robust to load); the ratio
    of the medians when a was not run in every round."""
    if len(a.runs) != len(b.runs):
        return a.wall / b.wall
    return statistics.median(x.wall / y.wall for x, y in zip(a.runs, b.runs, strict=True))
