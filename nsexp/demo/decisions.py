"""The demo's decision log: a few decisions the Lingo team recorded, one against the
recommendation (the AI tutor shipped while the readout said iterate), and one comparison with
a history (push reminders: keep running, then ship)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nsexp.store.decisions import LOG, record

# experiment, variant, decision, recommended then, note, by, when (UTC)
DEMO_DECISIONS = (
    (
        "push_reminders",
        "daily",
        "keep_running",
        "keep_running",
        "Wait for the third week before rolling out.",
        "Dana Okafor",
        "2026-08-03T09:30:00",
    ),
    (
        "push_reminders",
        "daily",
        "ship",
        "ship",
        "Daily reminders go to everyone; three a day is rolled back.",
        "Dana Okafor",
        "2026-08-10T10:00:00",
    ),
    (
        "push_reminders",
        "three_a_day",
        "roll_back",
        "roll_back",
        "Too many learners turned notifications off.",
        "Dana Okafor",
        "2026-08-10T10:05:00",
    ),
    (
        "hearts_system",
        "hearts",
        "roll_back",
        "roll_back",
        "Lessons completed fell: hearts are off again.",
        "Jonas Berg",
        "2026-08-17T14:00:00",
    ),
    (
        "ai_tutor_beta",
        "ai_tutor",
        "ship",
        "iterate",
        "Shipping for the autumn launch although the North Star has not moved; we watch it.",
        "Jonas Berg",
        "2026-09-23T16:45:00",
    ),
)


def write_decisions(out_dir: Path) -> None:
    """Write the demo's decisions.jsonl into `out_dir` (replacing an earlier one)."""
    (out_dir / LOG).unlink(missing_ok=True)
    for experiment, variant, value, recommended, note, by, at in DEMO_DECISIONS:
        record(
            out_dir,
            experiment,
            variant,
            value,
            note=note,
            by=by,
            recommended=recommended,
            at=dt.datetime.fromisoformat(at).replace(tzinfo=dt.UTC),
        )
