"""The docs' generated blocks: texts the app renders, written into the Markdown pages from the
same source, so nothing is written twice.

`python -m nsexp.report.docs` (from the repository root) rewrites every block between
`<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in the pages of PAGES; `--check` only
reports the pages that differ (exit 1). tests/test_docs.py fails when a page and its source
disagree.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from nsexp.analysis.decision import GUARDRAIL_WORDS, RULES, Rule
from nsexp.analysis.methods import methods
from nsexp.analysis.reasons import REASON_KINDS
from nsexp.analysis.settings import Settings
from nsexp.analysis.verdict import VERDICT_LABELS, VERDICT_MEANINGS, VERDICTS

# Every option the Methods section can describe: the lines they add beyond the defaults.
ALL_OPTIONS = Settings(sequential=True, bootstrap=2000, engine="bayesian")


def verdict_table() -> str:
    """The verdicts in their order of precedence with the meanings the app's legend shows
    (nsexp.analysis.verdict)."""
    rows = [f"| `{v}` | {VERDICT_LABELS[v]} | {VERDICT_MEANINGS[v]} |" for v in VERDICTS]
    return "\n".join(["| verdict | shown as | meaning |", "|---|---|---|", *rows])


def methods_text() -> str:
    """The Methods section every readout carries (nsexp.analysis.methods), for the default
    settings and then the lines each option adds or changes."""
    default = methods(Settings())
    extra = [line for line in methods(ALL_OPTIONS) if line not in default]
    off = [line for line in methods(Settings(cuped=False)) if line not in default]
    return "\n".join(
        [
            "With the default settings (α = 0.05, Holm, CUPED where a covariate is declared):",
            "",
            *(f"- {line}" for line in default),
            "",
            "`--sequential`, `--bootstrap 2000` and `--engine bayesian` add or change:",
            "",
            *(f"- {line}" for line in extra),
            "",
            "`--no-cuped` says instead:",
            "",
            *(f"- {line}" for line in off),
        ]
    )


def reason_kinds_table() -> str:
    """The kinds a comparison's `reason_kinds` holds, with what each says
    (nsexp.analysis.reasons)."""
    rows = [f"| `{kind}` | {meaning} |" for kind, meaning in REASON_KINDS.items()]
    return "\n".join(["| kind | the reason |", "|---|---|", *rows])


def _decision_cell(rule: Rule) -> str:
    """A row's decision as the table says it: the predicted-North-Star condition spelled out."""
    if rule.predicted:
        return (
            f'`{rule.decision}` if `ship_on = "predicted"` and the predicted North Star\'s '
            "interval clears zero in the good direction"
        )
    return f"`{rule.decision}`"


def decision_table() -> str:
    """The recommended decision's table, first matching row wins (nsexp.analysis.decision)."""
    rows = [
        f"| {', '.join(f'`{v}`' for v in r.verdicts)} | {GUARDRAIL_WORDS[r.guardrails]} | "
        f"{r.time} | {_decision_cell(r)} |"
        for r in RULES
    ]
    head = "| verdict | guardrails | time left | decision |"
    return "\n".join([head, "|---|---|---|---|", *rows])


BLOCKS: dict[str, Callable[[], str]] = {
    "verdicts": verdict_table,
    "decisions": decision_table,
    "methods": methods_text,
    "reason_kinds": reason_kinds_table,
}
PAGES = ("README.md", "docs/methods.md", "docs/cli.md", "docs/review.md")
_BLOCK = re.compile(r"(<!-- generated:(\w+) -->\n)(.*?)(<!-- /generated:\2 -->)", re.DOTALL)


REPO = Path(__file__).resolve().parents[2]


def read_block(page: str, name: str) -> str:
    """The generated block `name` as written in the page `page` (relative to the repository):
    what the app shows where a doc's table is its help (e.g. docs/review.md's decisions)."""
    text = (REPO / page).read_text(encoding="utf-8")
    found = next((m for m in _BLOCK.finditer(text) if m.group(2) == name), None)
    if found is None:
        raise KeyError(f"{page} has no generated block {name!r}")
    return found.group(3).strip()


def fill(text: str) -> str:
    """`text` with every generated block rewritten from its source (unknown names kept)."""

    def block(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            return match.group(0)
        return f"{match.group(1)}{BLOCKS[name]()}\n{match.group(4)}"

    return _BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the pages under the current directory (`--check`: only report stale ones)."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name in PAGES:
        page = Path(name)
        text = page.read_text(encoding="utf-8")
        if fill(text) != text:
            stale.append(name)
            if not check:
                page.write_text(fill(text), encoding="utf-8")
    for name in stale:
        sys.stdout.write(f"{name}: {'stale' if check else 'rewritten'}\n")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
