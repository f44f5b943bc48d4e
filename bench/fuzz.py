"""Fuzz section: the seeded hypothesis fuzz of the loaders (bench/_fuzz.py) for a bounded time.

Every example is a data directory of hostile pieces read by `nsexp readout` in-process and saved
as a workspace; the run fails (and the section says so) on any exit code other than 0 and 2, on
an `error:` message of more than one line, or on a save raising anything but InputError.
Run alone with `python -m bench.run --only fuzz [--fuzz-examples N]`.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench._fuzz import SEED, Tally, describe, run_fuzz

SECTION = "Fuzz: hostile data directories through the CLI and a workspace save"
DEFAULT_EXAMPLES = 3000  # about three minutes on the 2-core machine
BATCH = 250


def run(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(prog="bench.fuzz")
    parser.add_argument("--fuzz-examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--fuzz-seconds", type=float, default=300.0, help="stop after this")
    args, _ = parser.parse_known_args(argv)
    tally, start = Tally(), time.perf_counter()
    batch = 0
    while tally.examples < args.fuzz_examples and time.perf_counter() - start < args.fuzz_seconds:
        # one seed draws one fixed sequence: a new seed per batch, so batches differ
        run_fuzz(min(BATCH, args.fuzz_examples - tally.examples), tally, start=SEED + batch)
        batch += 1
    seconds = time.perf_counter() - start
    summary = describe(tally, seconds)()
    print(f"[fuzz] {summary}", file=sys.stderr)
    codes = ", ".join(f"{code}: {n:,}" for code, n in sorted(tally.codes.items()))
    lines = [
        f"{tally.examples:,} seeded examples (seeds {SEED}..{SEED + batch - 1}, {BATCH} each) in "
        f"{seconds:.0f} s. Command: `python -m bench.run --only fuzz`.",
        "",
        "| check | result |",
        "|---|---|",
        f"| exit codes of `nsexp readout` | {codes} |",
        f"| workspace saves | {', '.join(f'{k}: {v:,}' for k, v in sorted(tally.saves.items()))} |",
        f"| breaches (exit 1, traceback, multi-line error, save raising) | {len(tally.failures)} |",
        "",
        "Most frequent refusals (paths and values cut):",
        "",
        "| refusals | message |",
        "|---:|---|",
        *(f"| {n:,} | {msg.strip()} |" for msg, n in tally.errors.most_common(12)),
    ]
    if tally.failures:
        lines += ["", "First breach:", "", "```", tally.failures[0][-2000:], "```"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
