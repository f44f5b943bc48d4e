"""Load section: twenty people opening readout links at once, as raw websocket sessions.

A real `streamlit run serve.py` (app.py warmed at start-up) on loopback serves a copy of the demo
data. Each simulated person
opens a fresh session on Streamlit's websocket (`/_stcore/stream`, the protobuf BackMsg /
ForwardMsg protocol the browser speaks), asks for a deep link (`page_name` + query string) and
waits until the run has finished successfully with the experiment's heading drawn: "a complete
readout" (the data and charts are in the messages; the browser's own drawing is not timed).
Then it closes and opens the next link. Bounded: SESSIONS clients, each phase PHASE_S seconds,
every wait capped at TIMEOUT_S, loopback only.

Two mixes of links: distinct (336 links = 14 experiments x 24 settings of alpha, correction and
the methods, in a fixed shuffled order, so the sessions in flight ask for different settings)
and repeated (the 14 experiments at the default settings). Phases on one server: distinct on the
server just started (cold), distinct again (warm), repeated, and an upload: one client keeps
rendering readouts while headless Chromium saves a maximal (50 MB) upload on the Data page. The
baseline (BASELINE, main before issue 23's load work, checked out with `git archive`), or each
tree given with --before, is served the same way in the same run, first, for the three link
phases. Server CPU seconds and resident memory (the server's process and its children: a worker
pool) come from /proc, beside each server's time to answer its health check (its warm-up). Run
alone with `python -m bench.run --only load [--before TREE ... --load-sessions N
--load-seconds S --profile-phase cold|warm|repeated --no-profile --no-baseline]` (py-spy, when
on PATH, samples one phase of this tree's server and its workers, the cold one by default; it
is not a dependency: `pip install py-spy`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from bench._measure import REPO
from bench.fresh_clone import free_port, healthy

SECTION = "Load: 20 sessions on deep links at once (websocket clients, loopback)"
SESSIONS = 20
PHASE_S = 60.0
TIMEOUT_S = 90.0
# main before issue 23's load work (docs/benchmarks.md keeps it beside every after figure)
BASELINE = "6ea05c3"
ALPHAS = ("0.05", "0.1")
CORRECTIONS = ("holm", "bh", "none")
# the methods a link may choose beside α and the correction (pages/ui/sidebar.py)
METHODS = ("", "&engine=bayesian", "&sequential=true", "&cuped=false")
TARGET_P95_S, TARGET_RUNS_PER_S = 4.0, 6.0
PROFILED = ("cold", "warm", "repeated")  # the link phases, in order, as --profile-phase names them


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    links: int
    seconds: float = 0.0
    times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    rss_mb: list[float] = field(default_factory=list)
    load: float = float("nan")  # the machine's 1-minute load average at the phase's end

    def quantile(self, q: float) -> float:
        """The q-quantile of the times to a complete readout (nan when none finished)."""
        if not self.times:
            return float("nan")
        ordered = sorted(self.times)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Start(NamedTuple):
    """A server's start: seconds until it answered its health check (serve.py warms up first)
    and the CPU seconds it (and its workers) had used by then."""

    seconds: float
    cpu_s: float


STARTS: list[Start] = []  # each server's start, in the order they were started


@dataclass(frozen=True)
class Link:
    """A deep link to one readout and the heading that shows it is drawn."""

    query: str
    heading: str


def links(data: Path) -> tuple[list[Link], list[Link]]:
    """The distinct mix: 336 links (14 experiments x 24 settings) in a fixed shuffled order, so
    the twenty sessions in flight ask for different settings at once; and the repeated mix: the
    14 experiments at the default settings."""
    import random

    from nsexp.io import load_dataset
    from nsexp.report.text import md_escape

    dataset = load_dataset(data)
    chosen = sorted(dataset.experiments.values(), key=lambda e: e.id.startswith("past_"))[:14]
    # the heading as the page sends it: user text escaped as Markdown ("Hearts\\: lose ...")
    repeated = [Link(f"experiment={e.id}", md_escape(e.info.title)) for e in chosen]
    distinct = [
        Link(f"experiment={e.id}&alpha={a}&correction={c}{m}", md_escape(e.info.title))
        for a in ALPHAS
        for c in CORRECTIONS
        for m in METHODS
        for e in chosen
    ]
    random.Random(23).shuffle(distinct)
    return distinct, repeated


def baseline_tree(folder: Path) -> Path:
    """The app as it was at BASELINE, exported from this repository's history into folder."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


@contextmanager
def server(
    data: Path, log: Any = subprocess.DEVNULL, tree: Path = REPO
) -> Iterator[tuple[int, int]]:
    """`streamlit run serve.py` of `tree` (`app.py` in a tree without it, as the baseline) on a
    free loopback port; yields (port, pid) once healthy (its output goes to `log`, a file: the
    tracebacks behind any error a client saw), after noting in STARTS how long that took."""
    port, start = free_port(), time.perf_counter()
    entry = "serve.py" if (tree / "serve.py").exists() else "app.py"
    argv = [sys.executable, "-m", "streamlit", "run", entry, "--server.headless", "true"]
    argv += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    argv += ["--server.fileWatcherType", "none"]
    env = {**os.environ, "NSEXP_DATA_DIR": str(data), "PYTHONPATH": str(tree)}
    process = subprocess.Popen(
        argv, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180  # serve.py warms up before it answers
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("streamlit did not start")
            time.sleep(0.1)
        STARTS.append(Start(time.perf_counter() - start, cpu_seconds(process.pid)))
        yield port, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _group(pid: int) -> list[Path]:
    """/proc entries of the server's process group (it and any worker processes it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == pid:
                    found.append(entry)
            except (OSError, IndexError, ValueError):
                continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its workers so far (all their threads, and the
    workers that have ended)."""
    total = 0
    for entry in _group(pid):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its workers, MB (summed: pages they share count once
    per process, so this is an upper bound)."""
    total = 0
    for entry in _group(pid):
        try:
            text = (entry / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024 if total else float("nan")


async def open_link(port: int, link: Link, page: str = "readout") -> tuple[float, str | None]:
    """Seconds from connecting to a complete readout of `link`, and an error (or None)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    start = time.perf_counter()
    heading, error = False, None
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    async with connect(url, subprotocols=["streamlit"], max_size=None) as ws:  # type: ignore[list-item]
        back = BackMsg()
        back.rerun_script.query_string = link.query
        back.rerun_script.page_name = page
        await ws.send(back.SerializeToString())
        async for raw in ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                what = element.WhichOneof("type")
                if what == "heading" and element.heading.body == link.heading:
                    heading = True
                elif what == "exception":
                    error = f"exception: {element.exception.message[:120]}"
                elif what == "alert" and element.alert.icon == ":material/error:" and not heading:
                    error = f"error element: {element.alert.body[:120]}"  # a loader's message
            if kind == "script_finished" and msg.script_finished == 0:  # FINISHED_SUCCESSFULLY
                break
    if error is None and not heading:
        error = f"no heading {link.heading!r}"
    return time.perf_counter() - start, error


async def run_phase(port: int, pid: int, phase: Phase, todo: list[Link], sessions: int) -> None:
    """`sessions` people, each opening the next link until the phase's time is up."""
    deadline = time.perf_counter() + phase.seconds
    counter = iter(range(10**9))

    async def person() -> None:
        while time.perf_counter() < deadline:
            link = todo[next(counter) % len(todo)]
            try:
                seconds, error = await asyncio.wait_for(open_link(port, link), TIMEOUT_S)
            except (TimeoutError, OSError) as exc:
                phase.errors.append(f"{type(exc).__name__} on {link.query}")
                continue
            if error:
                phase.errors.append(f"{error} on {link.query}")
            else:
                phase.times.append(seconds)

    async def sample() -> None:
        while time.perf_counter() < deadline:
            phase.rss_mb.append(rss_mb(pid))
            await asyncio.sleep(1.0)

    before, start = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(sample(), *(person() for _ in range(sessions)))
    phase.seconds = time.perf_counter() - start  # until the last person's readout finished
    phase.cpu_s = cpu_seconds(pid) - before
    phase.load = os.getloadavg()[0]


def write_upload(folder: Path) -> list[Path]:
    """A maximal upload: a unit-level CSV and its catalog, 50,000,000 bytes together."""
    from nsexp.store.workspaces import MAX_UPLOAD_BYTES

    catalog = folder / "metrics.toml"
    catalog.write_text('[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n')
    csv = folder / "big_upload.csv"
    header = b"variant,lessons\n"
    room = MAX_UPLOAD_BYTES - catalog.stat().st_size - len(header)
    row = b"control,1\ntreat_a,2\n"  # 20 bytes: two units
    with csv.open("wb") as handle:
        handle.write(header + row * (room // len(row)) + b"c,1\n"[: room % len(row)])
    return [csv, catalog]


def save_in_browser(port: int, files: list[Path], out: dict[str, float | str]) -> None:
    """Headless Chromium puts the files in the Data page's uploader and saves them."""
    from playwright.sync_api import sync_playwright

    from bench._chromium import ARGS, CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_S * 1000)
        page.goto(f"http://127.0.0.1:{port}/data")
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        start = time.perf_counter()
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            [str(f) for f in files]
        )
        save = page.get_by_role("button", name="Save as workspace")
        page.wait_for_function(
            "() => [...document.querySelectorAll('button')].some(b => "
            "b.innerText.includes('Save as workspace') && !b.disabled)"
        )
        out["uploaded_s"] = time.perf_counter() - start
        save.click()
        page.get_by_text("Saved as workspace").first.wait_for()
        out["saved_s"] = time.perf_counter() - start
        browser.close()


async def upload_phase(port: int, pid: int, warm: list[Link], folder: Path) -> tuple[Phase, dict]:
    """One client rendering readouts while a maximal upload is saved in the browser."""
    phase = Phase("one client during a 50 MB save", len(warm), seconds=TIMEOUT_S)
    out: dict[str, float | str] = {}
    files = write_upload(folder)

    def save() -> None:
        try:
            save_in_browser(port, files, out)
        except Exception as exc:  # reported in the section, not raised
            out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"

    thread = threading.Thread(target=save)
    before, start = cpu_seconds(pid), time.perf_counter()
    thread.start()
    k = 0
    while thread.is_alive() and time.perf_counter() - start < TIMEOUT_S * 2:
        seconds, error = await open_link(port, warm[k % len(warm)])
        k += 1
        phase.errors.append(error) if error else phase.times.append(seconds)
        phase.rss_mb.append(rss_mb(pid))
    thread.join(timeout=TIMEOUT_S)
    phase.seconds, phase.cpu_s = time.perf_counter() - start, cpu_seconds(pid) - before
    phase.load = os.getloadavg()[0]
    return phase, out


def profile(pid: int, seconds: float, folder: Path) -> threading.Thread | None:
    """py-spy on the server (and its worker processes) for a phase, when installed: the first
    half only samples threads holding the GIL (where the CPU goes), the second half every running
    thread (where the sessions wait, e.g. on a lock). Collapsed stacks into folder/cpu.stacks,
    wall.stacks."""
    spy = shutil.which("py-spy")
    if spy is None:
        return None
    half = str(max(1, int(seconds / 2) - 1))

    def record() -> None:
        for name, extra in (("cpu", ["--gil"]), ("wall", [])):
            argv = [spy, "record", "-p", str(pid), "-d", half, "-r", "50", "-f", "raw", "-s"]
            argv.append("--nonblocking")  # never pause the server: the phase stays comparable
            out = folder / f"{name}.stacks"
            subprocess.run([*argv, *extra, "-o", str(out)], capture_output=True, check=False)

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    return thread


def link_phases(
    port: int, pid: int, mixes: tuple[list[Link], list[Link]], seconds: float, sessions: int,
    stacks: Path | None = None, profiled: int = 0,
) -> list[Phase]:  # fmt: skip
    """The distinct mix on the server just started, the distinct mix again, the repeated mix
    (py-spy on phase number `profiled` into `stacks`, when given)."""
    distinct, repeated = mixes
    phases = [
        Phase("distinct, cold: server just started", len(distinct), seconds=seconds),
        Phase("distinct, warm: every link asked before", len(distinct), seconds=seconds),
        Phase("repeated: 14 links at the default settings", len(repeated), seconds=seconds),
    ]
    for phase, todo in zip(phases, (distinct, distinct, repeated), strict=True):
        spy = None
        if stacks is not None and phase is phases[profiled]:
            spy = profile(pid, seconds, stacks)
        asyncio.run(run_phase(port, pid, phase, todo, sessions))
        if spy is not None:
            spy.join(timeout=60)
    return phases


def demo_copy(data: Path) -> Path:
    """A fresh copy of the demo data (without pins and workspaces) at `data`."""
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("pins", "workspaces"))
    return data


def measure(
    sessions: int, seconds: float, profiled: int | None, befores: list[Path | None]
) -> tuple[list[list[Phase]], list[Phase], dict, Path | None]:
    """Each `before` tree's link phases on its own fresh server (None: BASELINE exported from
    git), then this tree's link phases (py-spy on phase number `profiled`, unless None) and the
    upload on another, each over a fresh copy of the demo data."""
    tmp = Path(tempfile.mkdtemp(prefix="nsexp-load-"))
    log = (Path(tempfile.gettempdir()) / "nsexp-load-server.log").open("wb")
    keep = Path(tempfile.gettempdir()) / "nsexp-load-profile"
    saved: dict[str, float | str] = {}
    before: list[list[Phase]] = []
    stacks = None if profiled is None else keep
    try:
        data = demo_copy(tmp / "data")
        mixes = links(data)
        for tree in befores:
            if tree is None:
                (tmp / "base").mkdir()
                tree = baseline_tree(tmp / "base")
            with server(data, log, tree=tree) as (port, pid):
                before.append(link_phases(port, pid, mixes, seconds, sessions))
            shutil.rmtree(data)
            demo_copy(data)
        with server(data, log) as (port, pid):
            saved["idle_rss_mb"] = rss_mb(pid)
            keep.mkdir(exist_ok=True)
            for old in keep.glob("*.stacks"):  # a failed py-spy must not report an older run's
                old.unlink()
            after = link_phases(port, pid, mixes, seconds, sessions, stacks, profiled or 0)
            upload, out = asyncio.run(upload_phase(port, pid, mixes[1], tmp))
            saved.update(out)
            saved["end_rss_mb"] = rss_mb(pid)
        return before, [*after, upload], saved, stacks
    finally:
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _row(phase: Phase, sessions: int, served: str) -> str:
    runs = len(phase.times) / phase.seconds if phase.seconds else float("nan")
    rss = phase.rss_mb or [float("nan")]
    p95 = phase.quantile(0.95)
    per = phase.cpu_s / len(phase.times) if phase.times else float("nan")
    met = "met" if p95 < TARGET_P95_S and runs >= TARGET_RUNS_PER_S else "**missed**"
    target = (
        f"p95 < {TARGET_P95_S:.0f} s, ≥ {TARGET_RUNS_PER_S:.0f}/s: {met}"
        if sessions > 1 and phase.name.startswith("distinct")
        else ""
    )
    return (
        f"| {served} | {phase.name} | {sessions} | {phase.links} | {len(phase.times)} | "
        f"{phase.quantile(0.5):.2f} | {p95:.2f} | {runs:.2f} | {phase.cpu_s:.0f} "
        f"({phase.cpu_s / phase.seconds:.2f}/s) | {per:.3f} | "
        f"{rss[0]:.0f} → {max(rss):.0f} → {rss[-1]:.0f} | "
        f"{phase.load:.1f} | {len(phase.errors)} | {target} |"
    )


def run(argv: list[str]) -> str:
    """Measure the phases and return the Markdown of the section."""
    parser = argparse.ArgumentParser(prog="bench.load")
    parser.add_argument("--load-sessions", type=int, default=SESSIONS)
    parser.add_argument("--load-seconds", type=float, default=PHASE_S)
    parser.add_argument(
        "--no-profile", action="store_true", help="no py-spy of a phase (else when on PATH)"
    )
    parser.add_argument(
        "--profile-phase", choices=PROFILED, default="cold", help="the phase py-spy samples"
    )
    parser.add_argument(
        "--before", action="append", type=Path, default=[], metavar="TREE",
        help=f"a tree to serve first (repeatable; default: {BASELINE} exported from git)",
    )  # fmt: skip
    parser.add_argument("--no-baseline", action="store_true", help="serve no tree before")
    args, _ = parser.parse_known_args(argv)
    n = args.load_sessions
    befores: list[Path | None] = [] if args.no_baseline else (args.before or [None])
    profiled = None if args.no_profile else PROFILED.index(args.profile_phase)
    before, after, saved, stacks = measure(n, args.load_seconds, profiled, befores)
    names = [BASELINE if tree is None else tree.name for tree in befores]
    lines = [
        f"{n} concurrent websocket sessions, each opening a fresh session per deep link and "
        f"waiting for the finished run with the experiment's heading; phases of "
        f"{args.load_seconds:.0f} s on one `streamlit run serve.py` (`app.py` before) over the "
        f"demo data, each before tree ({', '.join(names) or 'none'}: main at {BASELINE}, before "
        "issue 23, and any other given) on its own fresh server first, then this tree (after) "
        "on another. "
        "The distinct mix cycles 14 experiments × 24 settings (α 0.05 / 0.1 × Holm / BH / none "
        "× default / Bayesian / sequential / CUPED off) in a fixed shuffled order; the repeated "
        "mix the 14 experiments at the default settings. Load: the machine's 1-minute load "
        "average at the phase's end (2 cores, shared: readouts/s follow the CPU the server gets; "
        "CPU s per readout, the server's and its workers', is the steadier figure). Command: "
        f"`python -m bench.run --only load{''.join(f' --before {t}' for t in args.before)}`.",
        "",
        "| served | phase | sessions | distinct links | readouts | p50 s | p95 s | readouts/s | "
        "server CPU s | CPU s per readout | RSS MB (first → max → last) | load | errors | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
        *(
            _row(p, n, f"before ({name})")
            for name, phases in zip(names, before, strict=True)
            for p in phases
        ),
        *(_row(phase, n, "after") for phase in after[:-1]),
        _row(after[-1], 1, "after"),
        "",
        "Each server answered its health check (what a deep link waits for first; serve.py "
        "warms its caches before) after "
        + ", ".join(
            f"{start.seconds:.1f} s and {start.cpu_s:.1f} CPU s ({served})"
            for served, start in zip([*names, "after"], STARTS[-len(names) - 1 :], strict=True)
        )
        + ". "
        f"Server RSS idle {saved.get('idle_rss_mb', float('nan')):.0f} MB, at the end "
        f"{saved.get('end_rss_mb', float('nan')):.0f} MB (the server and its worker processes). "
        "The 50 MB upload (50,000,000 bytes, headless Chromium on the Data page): "
        + (
            f"in the uploader after {saved['uploaded_s']:.1f} s, saved after "
            f"{saved['saved_s']:.1f} s."
            if "saved_s" in saved
            else f"not saved ({saved.get('error', 'no result')})."
        ),
    ]
    for served, phases in [*zip(names, before, strict=True), ("after", after)]:
        for phase in phases:
            if phase.errors:
                errors = "; ".join(phase.errors[:3])
                lines += ["", f"First errors of {served}, {phase.name}: {errors}"]
    if stacks is not None:
        from bench._stacks import summary

        for name, what in (
            ("cpu", "where the server's CPU goes (py-spy --gil: threads holding the GIL)"),
            ("wall", "where the running threads are (py-spy: waiting on a lock counts)"),
        ):
            path = stacks / f"{name}.stacks"
            if path.exists():
                sampled = after[PROFILED.index(args.profile_phase)].name
                lines += ["", f"After, {sampled}: {what}, 50 samples/s:", ""]
                lines += summary(path, top=10)
    return "\n".join(lines)


if __name__ == "__main__":
    print(run(sys.argv[1:]))
