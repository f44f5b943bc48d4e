"""The readout as Markdown for a sprint-review doc, and as an aligned table for a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from nsexp import format as fmt
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import ExperimentReadout, Readout
from nsexp.analysis.reasons import HISTORY_DEFINITION
from nsexp.analysis.results import MetricResult
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.report.figures import Column, columns
from nsexp.report.notes import readout_notes
from nsexp.report.portfolio import portfolio_table, vanity_sentence
from nsexp.report.text import aligned, markdown_table, md_code, md_escape


def _columns(settings: Settings) -> list[Column]:
    """The columns of a treatment's figures, with the interval that decides (adjusted, the plain
    one where none was; credible, with the chance to win, under the Bayesian engine)."""
    every = columns(settings)
    bayesian = settings.engine == "bayesian"
    interval = every["rel_cred_low" if bayesian else "rel_ci_adj_low"].header
    keys = ("name", "role", "control_mean", "treatment_mean", "abs_effect", "decision_effect")
    return [
        *(every[k] for k in keys),
        Column(interval, lambda m: fmt.pct_ci(*m.decision_interval)),
        every["chance_to_win" if bayesian else "p_adjusted"],
    ]


def headers(settings: Settings) -> list[str]:
    """The headers of a treatment's figures (metric_rows)."""
    return [c.header for c in _columns(settings)]


def metric_rows(metrics: Sequence[MetricResult], settings: Settings) -> list[list[str]]:
    """One row of formatted figures per metric; a mark for significant ones."""
    marks = {"better": " ✓", "worse": " ✗"}
    shown = _columns(settings)
    return [
        [m.name + marks.get(m.moved or "", "")] + [c.cell(m) for c in shown[1:]] for m in metrics
    ]


def vanity_count(readout: Readout) -> str:
    """How many experiments are vanity only, in the Portfolio's words (one definition)."""
    return vanity_sentence(portfolio_table(readout))


def to_markdown(readout: Readout) -> str:
    """A readout a product manager can paste into a review doc."""
    return _document(
        list(readout.experiments.values()),
        methods(readout.settings),
        fingerprint=readout.fingerprint,
        count=vanity_count(readout) if len(readout.experiments) > 1 else None,
    )


def experiment_markdown(
    e: ExperimentReadout,
    method_lines: list[str],
    *,
    fingerprint: str,
    link: str | None = None,
) -> str:
    """One experiment's readout as Markdown (live or pinned): the same text as to_markdown of a
    readout of that experiment alone, plus the link back to the view it came from."""
    return _document([e], method_lines, fingerprint=fingerprint, link=link)


def _document(
    experiments: list[ExperimentReadout],
    method_lines: list[str],
    *,
    fingerprint: str,
    count: str | None = None,
    link: str | None = None,
) -> str:
    label = experiments[0].treatments[0].north_star.name if experiments else ""
    out = [f"# Experiment readout — North Star: {md_escape(label)}", ""]
    if link:
        out += [f"View in nsexp: <{link}>", ""]
    if count is not None:
        out += [count, ""]
    for e in experiments:
        out += _experiment_lines(e)
    out += ["## Methods", ""] + [f"- {m}" for m in method_lines]
    out += ["", f"Data fingerprint `{fingerprint}`. ✓ better, ✗ worse (significant)."]
    return "\n".join(out) + "\n"


def _facts(e: ExperimentReadout, markdown: bool = False) -> str:
    text = md_escape if markdown else str
    control = md_code(e.control) if markdown else e.control
    bits = [f"control arm {control}", f"{fmt.count(e.units)} units"]
    if e.days:
        bits.append(f"{e.days} days")
    if e.experiment.info.owner:
        bits.append(f"owner {text(e.experiment.info.owner)}")
    return ", ".join(bits)


def _experiment_lines(e: ExperimentReadout) -> list[str]:
    """One experiment in Markdown; every piece of user text escaped (a sentence quoting it
    escaped whole: md_escape leaves its plain words as written), so a pasted document shows
    names as names, carries no link, image or formula from the data and no backslash in our
    own words."""
    out = [f"## {md_escape(e.name)} ({md_code(e.id)})", "", _facts(e, markdown=True) + "."]
    if e.experiment.info.hypothesis:
        out += ["", f"> {md_escape(e.experiment.info.hypothesis)}"]
    if e.srm.mismatch:
        out += [
            "",
            f"**⚠ Sample ratio mismatch** ({fmt.p_value(e.srm.p_value)}): "
            "the split of units is not what was planned.",
        ]
    for t in e.treatments:
        out += ["", f"### {md_code(t.variant)}: **{VERDICT_LABELS[t.verdict]}**", ""]
        out += [f"- {md_escape(r.text)}" for r in t.reasons]
        out += [f"- *{md_escape(line)}*" for line in readout_notes(t)]
        rows = [[md_escape(name), *rest] for name, *rest in metric_rows(t.metrics, e.settings)]
        out += ["", markdown_table(headers(e.settings), rows)]
    if any(r.kind == "history" for t in e.treatments for r in t.reasons):
        out += ["", f"*{HISTORY_DEFINITION}*"]
    if e.notes:
        out += ["", "Notes:"] + [f"- {md_escape(n)}" for n in e.notes]
    out.append("")
    return out


def to_table(readout: Readout) -> str:
    """The readout for a terminal: a block per experiment with aligned columns."""
    s = readout.settings
    out = [vanity_count(readout), ""] if len(readout.experiments) > 1 else []
    for e in readout.experiments.values():
        out.append(f"{e.name} [{e.id}] — {_facts(e)}")
        if e.srm.mismatch:
            out.append(f"  SAMPLE RATIO MISMATCH ({fmt.p_value(e.srm.p_value)})")
        for t in e.treatments:
            out.append(f"  {t.variant}: {VERDICT_LABELS[t.verdict].upper()}")
            out += [f"    - {r.text}" for r in t.reasons]
            out += [f"    · {line}" for line in readout_notes(t)]
            out.append(aligned(headers(e.settings), metric_rows(t.metrics, e.settings), "    "))
        out += [f"  note: {n}" for n in e.notes]
        out.append("")
    out.append(methods(s)[0])
    return "\n".join(out) + "\n"
