"""The workspaces and pins one signed-in person created: what the Data page lists for them.

Scans every workspace's manifest and pins (nsexp.store.owners holds the rules); nothing is
listed to an anonymous visitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nsexp.store import pins as pin_store
from nsexp.store import workspaces as ws
from nsexp.store.owners import same_person
from nsexp.store.storage import access_record


@dataclass(frozen=True)
class OwnedPin:
    """A pin a person created: the workspace it belongs to (None: the bundled data) and it."""

    workspace: str | None
    pin: pin_store.Pin


def owned_workspaces(data_root: Path, user: str | None) -> list[ws.WorkspaceInfo]:
    """The workspaces `user` created, newest first (none for an anonymous visitor)."""
    if user is None:
        return []
    return [w for w in ws.list_workspaces(data_root) if same_person(w.owner, user)]


def owned_pins(data_root: Path, user: str | None) -> list[OwnedPin]:
    """The pins `user` created in any workspace or on the bundled data, newest first."""
    if user is None:
        return []
    folders: list[tuple[str | None, Path]] = [(None, Path(data_root))]
    folders += [(w.id, w.path) for w in ws.list_workspaces(data_root)]
    found = [
        OwnedPin(wid, pin)
        for wid, folder in folders
        for pin in pin_store.list_pins(folder)
        if same_person(access_record(pin_store.pins_dir(folder) / f"{pin.id}.json")[0], user)
    ]
    return sorted(found, key=lambda o: (o.pin.created_at, o.pin.id), reverse=True)
