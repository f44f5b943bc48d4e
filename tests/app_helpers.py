"""Helpers of the readout page's AppTest tests: what the page shows and what it should show."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import polars as pl
from streamlit.testing.v1 import AppTest

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import Dataset
from nsexp.learning.history import readout_learning
from nsexp.report.figures import metric_table

PAGE = "pages/readout.py"
# the readout's table and timeline, drawn only once opened: a link that opens both
OPENED = {"plot": "true", "table": "true", "timeline": "true"}


def expected_table(
    dataset: Dataset, experiment: str, variant: str, **settings: object
) -> pl.DataFrame:
    """The metric table of `variant` the page should show first, computed straight from the
    core as the page does (the Bayesian figures under the priors learned from every
    experiment), from the dataset of the data the app reads (conftest's demo_copy_dataset)."""
    chosen = Settings(**settings)
    priors = readout_learning(dataset, chosen).priors
    readout = build_readout(dataset, chosen, experiment=experiment, priors=priors)
    t = readout.experiments[experiment].treatment(variant)
    return metric_table(t.metrics, readout.settings)


def shown_table(at: AppTest) -> pl.DataFrame:
    """The metric table on the page, as Polars."""
    return pl.from_pandas(at.dataframe[0].value)


def texts(at: AppTest) -> str:
    """Every markdown, caption and alert text of the page, joined, as a reader sees it
    (Markdown's backslash escapes of user text removed)."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [a.value for a in [*at.warning, *at.error, *at.info, *at.success]]
    return unescape("\n".join(parts))


def unescape(markdown: str) -> str:
    """Markdown source without its backslash escapes and md_escape's invisible word joiners:
    the text it renders."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def portfolio_lines(at: AppTest) -> list[str]:
    """The lines of the Portfolio's Markdown table after its header (one per treatment), or
    none where the page shows no table."""
    found = [m.value for m in at.markdown if m.value.startswith("| Experiment |")]
    return found[0].splitlines()[2:] if found else []


def portfolio_links(at: AppTest) -> list[str]:
    """Each Portfolio row's link to its readout, in order."""
    found = [re.search(r"\]\((readout\?[^)]*)\)", line) for line in portfolio_lines(at)]
    return [m[1] for m in found if m]


def portfolio_rows(at: AppTest) -> list[dict[str, str]]:
    """Each Portfolio row as its readout link's experiment and variant and its cells (under the
    table's headers, Markdown escapes undone)."""
    out = []
    for line, link in zip(portfolio_lines(at), portfolio_links(at), strict=True):
        query = parse_qs(urlsplit(link).query)
        cells = [unescape(c.strip()) for c in line.strip("|").split(" | ")]
        headers = ("Experiment", "Verdict", "North Star lift", "Decision", "Owner")
        row = dict(zip(headers, cells, strict=True))
        variant = row["Experiment"].rsplit("](", 1)[1].split(" · ")[1]  # after the link
        out.append(row | {"experiment": query["experiment"][0], "variant": variant})
    return out


def portfolio_count_line(at: AppTest) -> dict[str, str]:
    """The Portfolio's counts by label, from its one counts line ('**Experiments** 11 · …')."""
    (line,) = [m.value for m in at.markdown if m.value.startswith("**Experiments** ")]
    return dict(re.findall(r"\*\*([^*]+)\*\* (\d+)", line))


def popover_text(at: AppTest, label: str) -> str:
    """The Markdown of the popover with this label, as a reader sees it."""
    (popover,) = [p for p in at.get("popover") if p.proto.popover.label == label]
    return unescape("\n".join(m.value for m in popover.markdown))
