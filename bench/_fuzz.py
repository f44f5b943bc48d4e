"""A seeded hypothesis fuzz of the loaders: data directories built from hostile pieces (unit,
summary and wide-summary CSVs, Parquet, metrics.toml / experiments.toml / source.toml texts that
are valid, nearly valid or junk) read by `nsexp readout` in-process and saved as a workspace.

The property: the CLI exits 0 or 2 (never raises, never 1) and a workspace save raises nothing
but InputError. `bench/fuzz.py` runs it for minutes under `make bench`; tests/bench/test_fuzz.py
runs a few dozen examples on every `make test`.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from nsexp.cli import main
from nsexp.errors import InputError
from nsexp.store import workspaces as ws

SEED = 14
CELLS = (
    "",
    "0",
    "1",
    "2",
    "-1",
    "0.5",
    "3",
    "10",
    "1e308",
    "-1e308",
    "1e200",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "true",
    "false",
    "x",
    "control",
    "treatment",
    "2026-01-31",
    "2026-02-30",
    "1.5e-320",
    "=1+1",
    "@SUM(1)",
    '"quoted, comma"',
    "\u00e9\u00e8",
    "\ufeff",
    "0x10",
    "1_000",
    " 1 ",
)
KEYS = ("experiment", "variant", "unit_id", "date")
UNIT_COLUMNS = ("lessons", "clicks", "retained", "minutes", "sessions", "lessons_pre", "segment")
SUMMARY_COLUMNS = (
    "metric",
    "n",
    "sum",
    "sum_sq",
    "mean",
    "variance",
    "den_sum",
    "den_sum_sq",
    "num_den_sum",
)
WIDE_COLUMNS = ("metric", "count_c", "count_t", "mean_c", "mean_t", "variance_c", "variance_t")
METRIC_LINES = (
    '[metrics.lessons]\nrole = "north_star"\ntype = "mean"\n',
    '[metrics.clicks]\nrole = "vanity"\ntype = "mean"\n',
    '[metrics.retained]\nrole = "leading"\ntype = "proportion"\n',
    '[metrics.mps]\nrole = "leading"\ntype = "ratio"\nnumerator = "minutes"\n'
    'denominator = "sessions"\n',
    '[metrics.lessons_cuped]\nrole = "guardrail"\ntype = "mean"\ncolumn = "lessons"\n'
    'covariate = "lessons_pre"\ncap_quantile = 0.99\n',
    '[columns]\nvariant = "arm"\n',
    '[columns]\ndates = "cumulative"\n',
    '[metrics.x]\nrole = "north_star"\ntype = "mean"\n',
    '[metrics.bad]\nrole = "kpi"\n',
    "x = " + "[" * 600 + "]" * 600 + "\n",
    "[metrics\n",
    "\x00\xff",
)
EXPERIMENT_LINES = (
    '[experiments.e]\ncontrol = "control"\n',
    "[experiments.e]\nexpected_split = { control = 0.5, treatment = 0.5 }\n",
    '[experiments.e]\nstart = "2026-01-01"\n',
    '[experiments.e]\nstart = "yesterday"\n',
    "[experiments.e]\ncontrol = 3\n",
    "x = " + "[" * 600 + "]" * 600 + "\n",
)
SOURCE_LINES = (
    'engine = "polars"\npath = "*.csv"\n',
    'engine = "postgres"\nurl = "postgresql://a:hun@ter/2xyz@h/db"\ntable = "t"\n',
    'engine = "postgres"\nurl = "host=h password=x"\ntable = "t"\n',
    'engine = "oracle"\n',
    'path = "../../etc"\n',
    "x = " + "[" * 600 + "]" * 600 + "\n",
)


@dataclass
class Tally:
    """What the fuzz saw: exit codes, error kinds and the failures (with their inputs)."""

    examples: int = 0
    codes: Counter = field(default_factory=Counter)
    saves: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # the CLI's messages, paths and values cut
    failures: list[str] = field(default_factory=list)


@st.composite
def csv_text(draw: st.DrawFn, nearly: bool) -> str:
    """A CSV of a unit, summary or wide-summary shape. Half are nearly valid (the right
    columns, numbers in most cells, two arms) so the fuzz reaches the readout, not only the
    first check; the rest take any columns and any cells from the hostile pool."""
    kind = draw(st.sampled_from(("unit", "unit", "summary", "wide")))
    pool = {"unit": UNIT_COLUMNS, "summary": SUMMARY_COLUMNS, "wide": WIDE_COLUMNS}[kind]
    required = {
        "unit": ["variant", "lessons"],
        "summary": ["experiment", "variant", "metric", "n", "sum", "sum_sq"],
        "wide": ["variant", *WIDE_COLUMNS],
    }[kind]
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True))
    values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True))
    header = list(dict.fromkeys([*(required if nearly else []), *keys, *values]))
    if not nearly and draw(st.integers(0, 3)) == 0:  # a duplicate column now and then
        header.append(draw(st.sampled_from(header)))
    hostile = st.one_of(st.sampled_from(CELLS), st.integers(-3, 1000).map(str))
    if nearly:  # numbers that are odd, not text: the readout must still say something sane
        hostile = st.sampled_from(("", "nan", "inf", "-1", "1e308", "1e200", "1.5e-320", "0"))
    sane = st.one_of(st.integers(0, 9).map(str), st.floats(0, 50).map(lambda x: f"{x:.3f}"))
    arms = (
        st.sampled_from(("control", "treatment"))
        if nearly
        else st.sampled_from(("control", "treatment", "b", ""))
    )
    dates = draw(st.sampled_from((("2026-01-01", "2026-01-02"), ("1", "2.5", "3"))))
    fixed = {
        "metric": st.sampled_from(("lessons",) * 6 + ("clicks", "x")),
        "experiment": st.sampled_from(("e", "f")),
        "date": st.sampled_from(dates),
    }
    lines = [",".join(header)]
    for i in range(draw(st.integers(0 if not nearly else 4, 14))):
        line = []
        for c in header:
            if c == "variant":
                line.append(draw(arms) if not nearly else ("control", "treatment")[i % 2])
            elif c in fixed and nearly:
                line.append(draw(fixed[c]))
            elif c == "n" and nearly:
                line.append(str(draw(st.integers(2, 500))))
            else:
                odd = not nearly or draw(st.integers(0, 29)) == 0
                line.append(draw(hostile if odd else sane))
        lines.append(",".join(line))
    return "\n".join(lines) + "\n"


@st.composite
def catalog_text(draw: st.DrawFn, first_file: bytes) -> str:
    """metrics.toml: mostly a valid catalog of the metrics the first file has (the North Star
    first), sometimes any pieces, junk or nesting included."""
    if draw(st.integers(0, 3)) == 0:
        parts = draw(st.lists(st.sampled_from(METRIC_LINES), min_size=1, max_size=4))
        return "".join(parts)
    header = set(first_file.split(b"\n", 1)[0].decode("utf-8", errors="replace").split(","))
    parts = [METRIC_LINES[0]]
    parts += [
        line
        for line, needs in zip(
            METRIC_LINES[1:5],
            ({"clicks"}, {"retained"}, {"minutes", "sessions"}, {"lessons_pre"}),
            strict=True,
        )
        if needs <= header and draw(st.booleans())
    ]
    if draw(st.integers(0, 9)) == 0:
        parts.append(draw(st.sampled_from(METRIC_LINES[5:7])))
    return "".join(parts)


@st.composite
def directory(draw: st.DrawFn) -> dict[str, bytes]:
    """Files of one data directory (names from the upload allow-list)."""
    files: dict[str, bytes] = {}
    nearly = draw(st.integers(0, 2)) > 0
    for i in range(draw(st.sampled_from((1, 1, 1, 2, 3)))):
        text = draw(csv_text(nearly))
        name = draw(st.sampled_from(("e", "exp", "past", "wide")))
        files[f"{name}{i}.csv"] = text.encode("utf-8", errors="replace")
    if draw(st.booleans()):
        name, content = next(iter(files.items()))
        with contextlib.suppress(pl.exceptions.PolarsError, OSError):
            buffer = io.BytesIO()
            pl.read_csv(io.BytesIO(content), infer_schema_length=0).write_parquet(buffer)
            files[name.replace(".csv", ".parquet")] = buffer.getvalue()
    files["metrics.toml"] = draw(catalog_text(next(iter(files.values())))).encode(
        "utf-8", errors="surrogateescape"
    )
    if draw(st.booleans()):
        files["experiments.toml"] = draw(st.sampled_from(EXPERIMENT_LINES)).encode()
    if draw(st.integers(0, 5)) == 0:
        files["source.toml"] = draw(st.sampled_from(SOURCE_LINES)).encode()
    return files


def check(files: dict[str, bytes], tally: Tally) -> None:
    """Run the CLI and a workspace save on one directory; record any breach of the property."""
    tally.examples += 1
    work = Path(tempfile.mkdtemp(prefix="nsexp-fuzz-"))
    try:
        data = work / "data"
        data.mkdir()
        for name, content in files.items():
            (data / name).write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["readout", str(data), "--format", "json"])
        except SystemExit as exc:
            code = int(exc.code or 0)
        except Exception:  # the breach the fuzz looks for: a traceback (exit 1)
            code = 1
            tally.failures.append(f"CLI raised on {sorted(files)}:\n{traceback.format_exc()}")
        tally.codes[code] += 1
        if code == 2:
            tally.errors[_problem(err.getvalue())] += 1
        if code == 2 and err.getvalue().count("\n") != 1:
            tally.failures.append(f"CLI printed more than one line: {err.getvalue()!r}")
        upload = {k: v for k, v in files.items() if k != "source.toml"}
        try:
            ws.create_workspace(work / "root", upload)
            tally.saves["saved"] += 1
        except InputError:
            tally.saves["refused"] += 1
        except Exception:
            tally.saves["raised"] += 1
            tally.failures.append(f"save raised on {sorted(upload)}:\n{traceback.format_exc()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _problem(line: str) -> str:
    """The kind of an `error:` line: its words without the file, quotes or figures."""
    text = line.split(": ", 2)[-1]
    return re.sub(r"'[^']*'|\"[^\"]*\"|[0-9][0-9,.e+-]*", "_", text)[:70]


def run_fuzz(examples: int, tally: Tally | None = None, start: int = SEED) -> Tally:
    """Run `examples` examples seeded by `start` (the same ones every time); the tally."""
    tally = tally or Tally()

    @seed(start)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(directory())
    def prop(files: dict[str, bytes]) -> None:
        check(files, tally)

    prop()
    return tally


def describe(tally: Tally, seconds: float) -> Callable[[], str]:
    """A one-line summary (for logs and the test's failure message)."""
    return lambda: (
        f"{tally.examples} examples in {seconds:.0f} s; exit codes {dict(tally.codes)}; "
        f"saves {dict(tally.saves)}; {len(tally.failures)} failures"
    )
