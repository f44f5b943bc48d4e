"""App render benchmark: server-side time of each page in Streamlit's AppTest.

Runs the real app.py in-process (AppTest) on the bundled demo data and on a generated portfolio
(bench/portfolio.py: 200 experiments x 15 metrics x 3 variants x 14 days, summary Parquet).
Cold = first render in a fresh process (reads the files, reads out every experiment, learns the
history quoted in the reasons); warm = the same view rendered again (everything cached: what a
colleague opening a shared link sees); "other experiment" = the readout of a second experiment
with the data already cached. Browser-side drawing (Vega, the data grid) is not included.
Run alone with `python -m bench.run --only app_render` (or `python -m bench.app_render`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.portfolio import write_portfolio
from nsexp.io import load_dataset

SECTION = "App: server-side render time per page"
APP = Path(__file__).resolve().parent.parent / "app.py"
DEMO = Path(__file__).resolve().parent.parent / "data"
REPEATS = 5
TARGET_S = 1.0


def _navigated() -> None:
    """Make every AppTest run behave like a server whose app.py already ran st.navigation
    (AppTest resets Streamlit's legacy pages/ flag before each run; see pages/ui/frame.py)."""
    from streamlit.testing.v1 import app_test

    from pages.ui.frame import navigated_pages_manager

    app_test.PagesManager = navigated_pages_manager()


def _timed(at: Any) -> float:
    """Seconds for one AppTest run; fails loudly if the page raised."""
    start = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return elapsed


def measure(data: Path, page: str, query: dict[str, str], other: str | None) -> dict:
    """Cold, warm (median of REPEATS) and, for the readout, another experiment's render."""
    from streamlit.testing.v1 import AppTest

    os.environ["NSEXP_DATA_DIR"] = str(data)
    at = AppTest.from_file(str(APP), default_timeout=600)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    cold = _timed(at)
    warm = statistics.median(_timed(at) for _ in range(REPEATS))
    switch = None
    if other is not None:
        at.selectbox(key="experiment").select(other)
        switch = _timed(at)
    return {"cold": cold, "warm": warm, "switch": switch}


def run(argv: list[str] | None = None) -> str:
    """Measure every page on both data sets; return the Markdown section."""
    parser = argparse.ArgumentParser(prog="bench.app_render")
    parser.add_argument("--experiments", type=int, default=200)
    args, _ = parser.parse_known_args(argv)
    _navigated()
    lines = [
        "Seconds per AppTest run of `app.py` (Python side only; the browser's drawing is not "
        "included). Cold: the first render of that data (the demo's also imports the app's "
        "modules). Warm: the same view again, median of 5: what a colleague opening a shared "
        "link sees. Other experiment: the readout of a second experiment once the data is "
        "cached. Reproduce with `python -m bench.run --only app_render`.",
        "",
        "| Data | Page | Cold | Warm | Other experiment |",
        "|---|---|---:|---:|---:|",
    ]
    warm: list[float] = []
    demo = len(load_dataset(DEMO).experiments)
    with tempfile.TemporaryDirectory() as tmp:
        generated = write_portfolio(Path(tmp) / "generated", experiments=args.experiments)
        cases = [
            (f"demo ({demo} experiments)", DEMO, "push_reminders", "dark_mode"),
            (f"generated ({args.experiments} x 15 x 3)", generated, "exp007", "exp123"),
        ]
        for name, data, first, second in cases:
            pages = [
                ("Readout", "pages/readout.py", {"experiment": first}, second),
                (
                    "Readout, sequential + Bayesian" + (" + segments" if data == DEMO else ""),
                    "pages/readout.py",
                    {"experiment": first, "sequential": "true", "engine": "bayesian"}
                    | ({"segment": "platform"} if data == DEMO else {}),
                    second,
                ),
                ("Portfolio", "pages/portfolio.py", {}, None),
                ("North Star", "pages/north_star.py", {}, None),
            ]
            for label, page, query, other in pages:
                t = measure(data, page, query, other)
                warm.append(t["warm"])
                switch = f"{t['switch']:.2f}" if t["switch"] is not None else "—"
                lines.append(f"| {name} | {label} | {t['cold']:.2f} | {t['warm']:.3f} | {switch} |")
    verdict = "met" if max(warm) < TARGET_S else "missed"
    lines.append(
        f"\nTarget: every page under {TARGET_S:g} s warm: **{verdict}** "
        f"(slowest {max(warm):.3f} s)."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
