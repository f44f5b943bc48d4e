"""`nsexp workspaces list|delete DATA_DIR`: what the app saved, for the server's operator.

Visitors of the app see only the workspaces their own browser session saved; whoever runs the
server sees every one here, old 12-hex ones included, and deletes without a delete code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp workspaces list` and `nsexp workspaces delete`."""
    p = sub.add_parser(
        "workspaces",
        help="list or delete the workspaces and pins the app saved (for the operator)",
        description="The workspaces the app saved under a data directory: list them all, or "
        "delete one (or one pin) without its delete code.",
    )
    actions = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    listing = actions.add_parser("list", help="every saved workspace, newest first")
    listing.add_argument("data_dir", help="the app's data directory (NSEXP_DATA_DIR)")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(run=run_list)
    delete = actions.add_parser("delete", help="delete one workspace, or one pin")
    delete.add_argument("data_dir", help="the app's data directory (NSEXP_DATA_DIR)")
    delete.add_argument(
        "id", nargs="?", help="the workspace id (omit it with --pin for a pin of the data dir)"
    )
    delete.add_argument("--pin", help="delete this pin of the workspace instead")
    delete.add_argument(
        "--with-pins", action="store_true", help="delete a workspace with its pinned readouts"
    )
    delete.set_defaults(run=run_delete)


def _root(data_dir: str) -> Path:
    """The data directory, refused when it is not one."""
    from nsexp.errors import InputError

    root = Path(data_dir)
    if not root.is_dir():
        raise InputError(f"{data_dir}: not a directory", fix="name the app's data directory")
    return root


def rows(root: Path) -> list[dict[str, Any]]:
    """One record per saved workspace (newest first), as the list prints it."""
    from nsexp.store import workspaces as ws

    found = []
    for info in ws.list_workspaces(root):
        opened = ws.last_opened(info.path)
        found.append(
            {
                "id": info.id,
                "created_at": info.created_at,
                "last_opened": None
                if opened is None
                else dt.datetime.fromtimestamp(opened, dt.UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", "Z"),
                "bytes": ws.size_of(info.path),
                "pins": ws.pin_count(info.path),
                "owner": info.owner,
                "delete_code": info.has_delete_code,
                "files": [f for f in info.files if f != ws.CATALOG],
            }
        )
    return found


def run_list(args: argparse.Namespace) -> str:
    """Every workspace with its size, pins, creation and last opening."""
    from nsexp.store.storage import mb

    found = rows(_root(args.data_dir))
    if args.format == "json":
        return json.dumps(found, indent=2) + "\n"
    if not found:
        return "no workspaces saved\n"
    lines = [f"{'id':<32}  {'created':<20}  {'last opened':<20}  {'size':>9}  {'pins':>4}  files"]
    for r in found:
        lines.append(
            f"{r['id']:<32}  {r['created_at']:<20}  {r['last_opened'] or '-':<20}  "
            f"{mb(r['bytes']):>9}  {r['pins']:>4}  {', '.join(r['files'])}"
        )
    return "\n".join(lines) + "\n"


def run_delete(args: argparse.Namespace) -> str:
    """Delete one workspace (refused while pinned, unless --with-pins) or one pin."""
    from nsexp.errors import InputError
    from nsexp.store import pins
    from nsexp.store import workspaces as ws
    from nsexp.store.storage import mb

    root = _root(args.data_dir)
    if args.pin is not None:
        if args.with_pins:
            raise InputError("--with-pins deletes a workspace, not a pin", fix="drop it")
        folder = ws.resolve(root, args.id)
        freed = pins.delete_pin(folder, args.pin, operator=True)
        return f"deleted pin {args.pin} ({mb(freed)} freed)\n"
    if not args.id:
        raise InputError("no workspace id given", fix="name one from `nsexp workspaces list`")
    freed = ws.delete_workspace(root, args.id, operator=True, with_pins=args.with_pins)
    return f"deleted workspace {args.id} ({mb(freed)} freed)\n"
