"""Who is visiting: the signed-in email and the operators, when the server's secrets configure
OpenID Connect (an `[auth]` section; docs/deployment.md), read from st.user and st.secrets here
only. Without that section the app is in capability-link mode and everyone is anonymous. The
rules that use the identity live in nsexp.store.owners.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from nsexp.errors import InputError
from nsexp.store import owners

SECTION = "nsexp"  # the secrets' own section: `[nsexp] operators = ["a@example.com"]`
OPERATORS = "operators"


@dataclass(frozen=True)
class Visitor:
    """The visitor of this session: whether sign-in is configured, their email once signed in,
    and the operators' emails."""

    sign_in: bool
    email: str | None = None
    operators: tuple[str, ...] = ()

    @property
    def must_sign_in(self) -> bool:
        """Sign-in is configured and this visitor has not signed in: saving needs it."""
        return self.sign_in and self.email is None

    def may_delete(self, owner: str | None) -> bool:
        """Whether this visitor deletes a record of `owner` without a delete code."""
        return owners.may_delete(owner, self.email, self.operators)


def _secrets() -> dict[str, object]:
    """The server's secrets as a dict; empty when there is no secrets file."""
    return st.secrets.to_dict() if st.secrets.load_if_toml_exists() else {}


def visitor() -> Visitor:
    """This session's visitor (InputError for an operators list that is not one)."""
    secrets = _secrets()
    if not isinstance(secrets.get("auth"), dict):
        return Visitor(sign_in=False)
    section = secrets.get(SECTION)
    operators = owners.parse_operators(
        section.get(OPERATORS) if isinstance(section, dict) else None
    )
    user = st.user.to_dict()
    email = user.get("email") if user.get("is_logged_in") is True else None
    return Visitor(True, email if isinstance(email, str) and email else None, operators)


def current() -> Visitor:
    """This session's visitor for the pages; with a malformed operators list (the sidebar says
    so) nobody is signed in, so nothing is saved or deleted until the secrets are fixed."""
    try:
        return visitor()
    except InputError:
        return Visitor(sign_in=True)


def owner_to_save() -> str | None:
    """Who a new workspace or pin belongs to: the signed-in email, None in capability-link
    mode; InputError when sign-in is configured and this visitor has not signed in (the
    disabled buttons say so; this holds even for a request that bypasses them)."""
    who = current()
    if who.must_sign_in:
        raise InputError("saving needs sign-in on this server", fix="sign in (in the sidebar)")
    return who.email


def account_controls() -> None:
    """The sidebar's sign-in button, or who is signed in with a sign-out button; nothing in
    capability-link mode."""
    try:
        who = visitor()
    except InputError as exc:
        st.sidebar.error(exc.message, icon=":material/error:")
        return
    if not who.sign_in:
        return
    with st.sidebar:
        if who.email is None:
            st.caption("Sign in to save workspaces and pins of your own.")
            if st.button("Sign in", icon=":material/login:", key="sign_in"):
                st.login()
            return
        st.caption("Signed in as")
        st.text(who.email)  # user text: shown as text, never Markdown
        if owners.is_operator(who.email, who.operators):
            st.caption("Operator: you may delete any workspace or pin.")
        if st.button("Sign out", icon=":material/logout:", key="sign_out"):
            st.logout()
