"""The readout as Markdown for a sprint-review doc, and as an aligned table for a terminal."""

from __future__ import annotations

from nsexp.readout import ExperimentReadout, Readout, TreatmentReadout
from nsexp.report import format as fmt
from nsexp.report.depth import depth_lines
from nsexp.verdict import VERDICT_LABELS

HEADERS = ("Metric", "Role", "Control", "Treatment", "Effect", "Lift", "95% CI", "p (adj.)")


def metric_rows(t: TreatmentReadout) -> list[list[str]]:
    """One row of formatted figures per metric; a mark for significant ones."""
    rows = []
    for m in t.metrics.iter_rows(named=True):
        mark = " ✓" if m["better"] else " ✗" if m["worse"] else ""
        rows.append(
            [
                m["metric"] + mark,
                m["role"].replace("_", " "),
                fmt.value(m["control_mean"], m["type"]),
                fmt.value(m["treatment_mean"], m["type"]),
                fmt.effect(m["abs_effect"], m["type"]),
                fmt.pct(m["rel_effect"]),
                fmt.pct_ci(m["rel_ci_low"], m["rel_ci_high"]),
                fmt.p_value(m["p_adjusted"]).removeprefix("p ").removeprefix("= "),
            ]
        )
    return rows


def _headers(readout: Readout) -> list[str]:
    level = f"{(1 - readout.settings.alpha) * 100:g}% CI"
    return [*HEADERS[:6], level, HEADERS[7]]


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _summary_line(e: ExperimentReadout) -> str:
    info = e.experiment.info
    bits = [f"control `{e.experiment.control}`", f"{fmt.count(e.units)} units"]
    if e.days:
        bits.append(f"{e.days} days")
    if info.owner:
        bits.append(f"owner {info.owner}")
    return ", ".join(bits)


def to_markdown(readout: Readout) -> str:
    """A readout a product manager can paste into a review doc."""
    out = [f"# Experiment readout — North Star: {readout.catalog.north_star.label}", ""]
    counts = vanity_count(readout)
    out += [counts, ""]
    for e in readout.experiments.values():
        out += [f"## {e.experiment.info.title} (`{e.id}`)", "", _summary_line(e) + "."]
        if e.experiment.info.hypothesis:
            out += ["", f"> {e.experiment.info.hypothesis}"]
        if e.srm.mismatch:
            out += [
                "",
                f"**⚠ Sample ratio mismatch** (p = {e.srm.p_value:.1e}): "
                "the split of units is not what was planned.",
            ]
        for t in e.treatments:
            out += ["", f"### `{t.variant}`: **{VERDICT_LABELS[t.verdict]}**", ""]
            out += [f"- {r}" for r in t.reasons]
            out += [f"- *{line}*" for line in depth_lines(t)]
            out += ["", _md_table(_headers(readout), metric_rows(t))]
        if e.notes:
            out += ["", "Notes:"] + [f"- {n}" for n in e.notes]
        out.append("")
    out += ["## Methods", ""] + [f"- {m}" for m in readout.settings.methods()]
    out += ["", f"Data fingerprint `{readout.fingerprint}`. ✓ better, ✗ worse (significant)."]
    return "\n".join(out) + "\n"


def vanity_count(readout: Readout) -> str:
    """'3 of 11 experiments moved only vanity metrics.'"""
    total = len(readout.experiments)
    vanity = sum(
        any(t.verdict == "vanity_only" for t in e.treatments) for e in readout.experiments.values()
    )
    noun = "experiment" if total == 1 else "experiments"
    return f"{vanity} of {total} {noun} moved only vanity metrics."


def _aligned(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def to_table(readout: Readout) -> str:
    """The readout for a terminal: a block per experiment with aligned columns."""
    out = [vanity_count(readout), ""]
    for e in readout.experiments.values():
        out.append(f"{e.experiment.info.title} [{e.id}] — {_summary_line(e)}")
        if e.srm.mismatch:
            out.append(f"  SAMPLE RATIO MISMATCH (p = {e.srm.p_value:.1e})")
        for t in e.treatments:
            out.append(f"  {t.variant}: {VERDICT_LABELS[t.verdict].upper()}")
            out += [f"    - {r}" for r in t.reasons]
            out += [f"    · {line}" for line in depth_lines(t)]
            table = _aligned(_headers(readout), metric_rows(t))
            out += ["    " + ln for ln in table.splitlines()]
        out += [f"  note: {n}" for n in e.notes]
        out.append("")
    out.append(readout.settings.methods()[0])
    return "\n".join(out) + "\n"
