"""The team's decision log: what was decided for each comparison, beside what nsexp recommended.

One append-only `decisions.jsonl` per data directory (the bundled data's, or a workspace's):
one JSON object a line with `experiment`, `variant`, `value` (one of the six decisions),
`note`, `by`, `at` (UTC, ISO) and `recommended` (the recommendation at that moment). Entries
are never rewritten: the latest per comparison counts (`latest`), earlier ones stay as its
history (`history`). A write holds an exclusive fcntl.flock on the log itself, checks the
size bound (MAX_LOG_BYTES) and appends one line, so two sessions never interleave. Notes and
names are user text: bounded here, shown as text by every surface (never Markdown).

Who may write (`may_record`) follows the sharing rules of nsexp.store.owners: with sign-in,
only a signed-in visitor, and a workspace with an owner only its owner or an operator; without
sign-in, whoever holds the link.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from nsexp.analysis.decision import DECISIONS
from nsexp.errors import InputError
from nsexp.store.owners import may_delete
from nsexp.store.storage import mb, write_error

LOG = "decisions.jsonl"
MAX_LOG_BYTES = 1_000_000  # about 3,000 entries with full notes
MAX_NOTE = 500
MAX_BY = 100
SCHEMA_VERSION = 1  # of a log line


class Recorded(NamedTuple):
    """One decision the team recorded for one comparison."""

    experiment: str
    variant: str
    value: str
    note: str
    by: str
    at: str
    recommended: str | None = None

    @property
    def differs(self) -> bool:
        """Whether the team decided other than nsexp recommended at that moment."""
        return self.recommended is not None and self.value != self.recommended

    def as_json(self) -> dict[str, str]:
        """The readout JSON's `recorded_decision`: value, note, by, at."""
        return {"value": self.value, "note": self.note, "by": self.by, "at": self.at}


def _check(text: str, what: str, limit: int) -> str:
    """User text trimmed and bounded; control characters (newlines aside) refused."""
    text = text.strip()
    if len(text) > limit:
        raise InputError(f"the {what} is {len(text)} characters long", fix=f"keep it to {limit}")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise InputError(f"the {what} holds control characters", fix="type it as plain text")
    return text


def record(
    directory: str | Path,
    experiment: str,
    variant: str,
    value: str,
    *,
    note: str = "",
    by: str,
    recommended: str | None = None,
    at: dt.datetime | None = None,
) -> Recorded:
    """Append one decision to the directory's log (InputError: an unknown decision, no name,
    text too long, or the log full; the log is never rewritten)."""
    if value not in DECISIONS:
        raise InputError(f"{value!r} is not a decision", fix=f"use one of {', '.join(DECISIONS)}")
    who = _check(by, "name", MAX_BY)
    if not who:
        raise InputError("a decision needs the name of who took it", fix="type your name")
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = Recorded(
        experiment, variant, value, _check(note, "note", MAX_NOTE), who, when, recommended
    )
    line = json.dumps({"schema_version": SCHEMA_VERSION, **entry._asdict()}, ensure_ascii=False)
    data = (line + "\n").encode()
    path = Path(directory) / LOG
    try:
        handle = path.open("ab")
    except OSError as exc:
        raise write_error(exc, "the decision log") from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            if handle.seek(0, 2) + len(data) > MAX_LOG_BYTES:
                raise InputError(
                    f"the decision log {LOG} is full ({mb(MAX_LOG_BYTES)})",
                    fix="archive it (move it aside) and record again",
                )
            handle.write(data)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return entry


def history(directory: str | Path) -> list[Recorded]:
    """Every entry of the log, oldest first (none without a log); a line that is not an entry
    (a hand edit gone wrong) is skipped rather than hiding the rest."""
    path = Path(directory) / LOG
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        entry = _entry(line)
        if entry is not None:
            out.append(entry)
    return out


def _entry(line: str) -> Recorded | None:
    """One log line as a Recorded entry, or None."""
    try:
        raw: Any = json.loads(line)
    except ValueError:
        return None
    fields = ("experiment", "variant", "value", "note", "by", "at")
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in fields):
        return None
    if raw["value"] not in DECISIONS:
        return None
    recommended = raw.get("recommended")
    return Recorded(
        raw["experiment"],
        raw["variant"],
        raw["value"],
        raw["note"],
        raw["by"],
        raw["at"],
        recommended if isinstance(recommended, str) else None,
    )


def by_comparison(entries: Iterable[Recorded]) -> dict[tuple[str, str], list[Recorded]]:
    """Log entries grouped per comparison (experiment, variant), each oldest first: one read of
    the log serves every card of a readout."""
    out: dict[tuple[str, str], list[Recorded]] = {}
    for r in entries:
        out.setdefault((r.experiment, r.variant), []).append(r)
    return out


def latest(directory: str | Path) -> dict[tuple[str, str], Recorded]:
    """The decision that counts per comparison (experiment, variant): its latest entry."""
    return {key: found[-1] for key, found in by_comparison(history(directory)).items()}


def may_record(
    sign_in: bool, user: str | None, owner: str | None, operators: Iterable[str]
) -> bool:
    """Whether a visitor may write this data's log: without sign-in, whoever holds the link;
    with it, a signed-in visitor, and for a workspace with an `owner` only its owner or an
    operator (a read-only viewer of someone else's workspace cannot)."""
    if not sign_in:
        return True
    if user is None:
        return False
    return owner is None or may_delete(owner, user, operators)


def with_recorded(
    experiment: dict[str, Any], found: Mapping[tuple[str, str], Recorded]
) -> dict[str, Any]:
    """One experiment of a readout JSON document (nsexp.report.json.experiment_dict) with each
    comparison's `recorded_decision` from `found`, a log's `latest` (None where none is
    recorded): the CLI writes the readout one experiment at a time."""
    for c in experiment.get("comparisons", []):
        r = found.get((experiment["experiment"], c["variant"]))
        c["recorded_decision"] = r.as_json() if r is not None else None
    return experiment
