"""The readout as Markdown for a sprint-review doc, and as an aligned table for a terminal."""

from __future__ import annotations

from typing import Any

from nsexp import format as fmt
from nsexp.analysis.readout import ExperimentReadout, Readout, TreatmentReadout
from nsexp.analysis.verdict import VERDICT_LABELS
from nsexp.config.catalog import ROLE_LABELS
from nsexp.report.json import experiment_dict
from nsexp.report.notes import depth_lines, row_notes

HEADERS = ("Metric", "Role", "Control", "Treatment", "Effect", "Lift", "95% CI (adj.)", "p (adj.)")


def metric_rows(t: TreatmentReadout) -> list[list[str]]:
    """One row of formatted figures per metric; a mark for significant ones."""
    return dict_rows(t.metrics.to_dicts())


def dict_rows(metrics: list[dict[str, Any]]) -> list[list[str]]:
    """metric_rows from metric dicts (result rows, or the JSON's metrics as a pin keeps them)."""
    rows = []
    for m in metrics:
        good = (m["abs_effect"] or 0) * (1 if m["direction"] == "increase" else -1)
        mark = (
            " ✓" if m["significant"] and good > 0 else " ✗" if m["significant"] and good < 0 else ""
        )
        rows.append(
            [
                (m.get("label") or m["metric"]) + mark,
                ROLE_LABELS[m["role"]],
                fmt.value(m["control_mean"], m["type"]),
                fmt.value(m["treatment_mean"], m["type"]),
                fmt.effect(m["abs_effect"], m["type"]),
                fmt.pct(m["rel_effect"]),
                fmt.pct_ci(
                    m.get("rel_ci_adj_low", m["rel_ci_low"]),
                    m.get("rel_ci_adj_high", m["rel_ci_high"]),
                ),
                fmt.p_value(m["p_adjusted"]).removeprefix("p ").removeprefix("= "),
            ]
        )
    return rows


def _headers(readout: Readout | float) -> list[str]:
    alpha = readout if isinstance(readout, float | int) else readout.settings.alpha
    level = f"{(1 - alpha) * 100:g}% CI (adj.)"
    return [*HEADERS[:6], level, HEADERS[7]]


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _summary_line(e: ExperimentReadout) -> str:
    info = e.experiment.info
    bits = [f"control arm {e.experiment.control}", f"{fmt.count(e.units)} units"]
    if e.days:
        bits.append(f"{e.days} days")
    if info.owner:
        bits.append(f"owner {info.owner}")
    return ", ".join(bits)


def to_markdown(readout: Readout) -> str:
    """A readout a product manager can paste into a review doc."""
    s = readout.settings
    return _document(
        [experiment_dict(e) for e in readout.experiments.values()],
        s.methods(),
        alpha=s.alpha,
        engine=s.engine,
        fingerprint=readout.fingerprint,
        count=vanity_count(readout) if len(readout.experiments) > 1 else None,
    )


def experiment_markdown(
    payload: dict[str, Any],
    methods: list[str],
    *,
    alpha: float = 0.05,
    engine: str = "frequentist",
    fingerprint: str = "",
) -> str:
    """One experiment's readout as Markdown, from its JSON dict (nsexp.report.json
    experiment_dict, also what a pin freezes): the same text as to_markdown of a readout
    of that experiment alone."""
    return _document([payload], methods, alpha=alpha, engine=engine, fingerprint=fingerprint)


def _document(
    payloads: list[dict[str, Any]],
    methods: list[str],
    *,
    alpha: float,
    engine: str,
    fingerprint: str,
    count: str | None = None,
) -> str:
    first = payloads[0]["comparisons"][0]["metrics"] if payloads else []
    label = next((m["label"] for m in first if m["role"] == "north_star"), "")
    out = [f"# Experiment readout — North Star: {label}", ""]
    if count is not None:
        out += [count, ""]
    for e in payloads:
        out += _experiment_lines(e, alpha, engine)
    out += ["## Methods", ""] + [f"- {m}" for m in methods]
    out += ["", f"Data fingerprint `{fingerprint}`. ✓ better, ✗ worse (significant)."]
    return "\n".join(out) + "\n"


def _experiment_lines(e: dict[str, Any], alpha: float, engine: str) -> list[str]:
    bits = [f"control arm `{e['control']}`", f"{fmt.count(e['units'])} units"]
    if e["days"]:
        bits.append(f"{e['days']} days")
    if e["owner"]:
        bits.append(f"owner {e['owner']}")
    out = [f"## {e['name']} (`{e['experiment']}`)", "", ", ".join(bits) + "."]
    if e["hypothesis"]:
        out += ["", f"> {e['hypothesis']}"]
    if e["srm"]["mismatch"]:
        out += [
            "",
            f"**⚠ Sample ratio mismatch** (p = {e['srm']['p_value']:.1e}): "
            "the split of units is not what was planned.",
        ]
    for t in e["comparisons"]:
        out += ["", f"### `{t['variant']}`: **{VERDICT_LABELS[t['verdict']]}**", ""]
        out += [f"- {r}" for r in t["reasons"]]
        out += [f"- *{line}*" for line in row_notes(t["metrics"], engine)]
        out += ["", _md_table(_headers(alpha), dict_rows(t["metrics"]))]
    if e["notes"]:
        out += ["", "Notes:"] + [f"- {n}" for n in e["notes"]]
    out.append("")
    return out


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
    out = [vanity_count(readout), ""] if len(readout.experiments) > 1 else []
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
