"""Who owns what the app saved, when sign-in is on: the rules, free of any web framework.

With OpenID Connect configured (docs/deployment.md), a workspace or a pin records the email of
the signed-in visitor who created it as its `owner`; only that person or an operator (emails the
server's secrets list) deletes it, and the Data page lists each person's own. Without sign-in
every record's owner is None and the delete code of capability mode decides (nsexp.store
.storage). Emails compare case-insensitively, as mail providers treat them.
"""

from __future__ import annotations

from collections.abc import Iterable

from nsexp.errors import InputError


def same_person(a: str | None, b: str | None) -> bool:
    """Whether two emails name one person (case and surrounding blanks aside); None is nobody."""
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


def is_operator(user: str | None, operators: Iterable[str]) -> bool:
    """Whether a signed-in email is one of the operators' (None, anonymous, never is)."""
    return any(same_person(user, op) for op in operators)


def may_delete(owner: str | None, user: str | None, operators: Iterable[str]) -> bool:
    """Whether `user` (a signed-in email, None when anonymous) deletes a record created by
    `owner` without a delete code: its creator or an operator; an ownerless record (capability
    mode) only an operator, since anyone else needs its delete code."""
    return is_operator(user, operators) or (owner is not None and same_person(owner, user))


def not_yours(what: str) -> InputError:
    """The one message for a delete that may_delete refuses on a record with an owner."""
    return InputError(
        f"{what} was created by someone else: only its creator or an operator deletes it",
        fix="sign in as its creator, or ask an operator (listed in the server's secrets)",
    )


def parse_operators(value: object) -> tuple[str, ...]:
    """The operators' emails from the secrets' `[nsexp] operators` (absent: none); anything but
    a list of emails is refused with one message, so a typo never silently drops an operator."""
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, str) and "@" in v for v in value
    ):
        raise InputError(
            "[nsexp] operators in the secrets is not a list of emails",
            fix='write it as operators = ["a@example.com", "b@example.com"]',
        )
    return tuple(v.strip() for v in value)
