"""The readout's decision panel: the recommended decision with its reason, the team's recorded
decision (marked where it differs), its history, and "Record a decision".

The rule's table in the help popover is read from docs/review.md (nsexp.report.docs.read_block),
so the app and the doc cannot disagree. Notes and names are user text: shown as text, or
through md_escape. Who may record follows nsexp.store.decisions.may_record.
"""

from __future__ import annotations

import streamlit as st

from nsexp.analysis.decision import DECISION_LABELS, DECISIONS
from nsexp.analysis.readout import ExperimentReadout, TreatmentReadout
from nsexp.errors import InputError
from nsexp.report.docs import read_block
from nsexp.report.portfolio import DIFFERS
from nsexp.report.text import md_escape
from nsexp.store import decisions, workspaces
from pages.ui import identity
from pages.ui.frame import DataContext


@st.cache_data(show_spinner=False)
def _table() -> str:
    """The decision table as docs/review.md writes it."""
    return read_block("docs/review.md", "decisions")


def _owner(ctx: DataContext) -> str | None:
    """The owner of the workspace on view (None: the bundled data, or capability mode)."""
    if ctx.workspace is None:
        return None
    try:
        return workspaces.read_workspace(ctx.root, ctx.workspace).owner
    except InputError:
        return None


def logs(ctx: DataContext, e: ExperimentReadout) -> dict[str, list[decisions.Recorded]]:
    """The experiment's recorded decisions per treatment variant, oldest first: the log read
    once per script run for all of its cards."""
    found = decisions.by_comparison(decisions.history(ctx.path))
    return {t.variant: found.get((e.id, t.variant), []) for t in e.treatments}


def panel(
    ctx: DataContext,
    e: ExperimentReadout,
    t: TreatmentReadout,
    log: list[decisions.Recorded],
    *,
    writable: bool = True,
) -> None:
    """The decision of one comparison (`log`: its recorded entries, oldest first, from `logs`):
    recommended, decided, and (`writable`, a live readout) the form that records one."""
    recorded = log[-1] if log else None
    with st.container(border=True, key=f"decision_{t.variant}"):
        # one Markdown block for the advice, the decision and the badge: each separate block,
        # and each per-card "How it is decided" label, cost a fresh tab layout work
        rec = t.decision
        line = f"**Recommended: {DECISION_LABELS[rec.decision] if rec else '—'}**"
        if recorded is not None:
            line += f" · **Decided: {DECISION_LABELS[recorded.value]}**"
            if rec is not None and recorded.value != rec.decision:
                line += f" :orange-badge[:material/warning: {DIFFERS}]"
        st.markdown(line)
        said = [md_escape(rec.reason)] if rec is not None else []
        if recorded is not None:  # who decided and when, in the same small print
            said.append(f"Decided by {md_escape(recorded.by)} on {md_escape(recorded.at[:10])}.")
        if said:
            st.caption("\n\n".join(said))
        if recorded is not None and recorded.note:
            st.text(recorded.note)  # user text, shown as text
        _history(log[:-1])
        if writable:
            _form(ctx, e, t)


def rule() -> str:
    """How the recommended decision is decided, as Markdown: the page's one help on it."""
    return (
        "The first row that fits decides (docs/review.md, *The recommended decision*):\n\n"
        + _table()
    )


def _history(earlier: list[decisions.Recorded]) -> None:
    """Earlier entries of this comparison, newest first (the latest is shown above), in a
    popover: a fresh tab builds them only once opened, as it would not a closed expander's."""
    if not earlier:
        return
    with st.popover(f"Earlier decisions ({len(earlier)})", icon=":material/history:"):
        for r in reversed(earlier):
            st.text(f"{r.at[:10]} · {DECISION_LABELS[r.value]} · {r.by}: {r.note}")


def _form(ctx: DataContext, e: ExperimentReadout, t: TreatmentReadout) -> None:
    """The "Record a decision" form: one of the six and a note; a typed name without sign-in."""
    who = identity.current()
    allowed = decisions.may_record(who.sign_in, who.email, _owner(ctx), who.operators)
    # a popover: its form is built only when opened (a closed expander's widgets were built by
    # every fresh tab)
    with st.popover("Record a decision", icon=":material/gavel:"):
        if not allowed:
            st.caption(
                "Sign in (in the sidebar) to record decisions."
                if who.email is None
                else "Only this workspace's owner or an operator records its decisions."
            )
            return
        with st.form(f"record_{t.variant}", border=False):
            default = DECISIONS.index(t.decision.decision) if t.decision else 0
            value = st.selectbox(
                "Decision",
                DECISIONS,
                index=default,
                format_func=DECISION_LABELS.__getitem__,
                key=f"decision_value_{t.variant}",
            )
            note = st.text_area(
                "Note", max_chars=decisions.MAX_NOTE, height=68, key=f"decision_note_{t.variant}"
            )
            by = who.email or st.text_input(
                "Your name", max_chars=decisions.MAX_BY, key=f"decision_by_{t.variant}"
            )
            submitted = st.form_submit_button(
                "Record", icon=":material/check:", key=f"decision_record_{t.variant}"
            )
        if not submitted:
            return
        try:
            decisions.record(
                ctx.path,
                e.id,
                t.variant,
                value,
                note=note,
                by=by or "",
                recommended=t.decision.decision if t.decision else None,
            )
        except InputError as exc:
            st.error(md_escape(f"Could not record the decision: {exc}"), icon=":material/error:")
            return
        st.rerun()
