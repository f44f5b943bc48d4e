"""Ownership when sign-in is on: the creator or an operator deletes, each lists their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import DEMO_DATA

from nsexp.analysis.readout import build_readout
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.store import owned, owners, pins, storage
from nsexp.store import workspaces as ws
from nsexp.store.storage import new_delete_code

ANA, BOB, OPS = "ana@example.com", "bob@example.com", "ops@example.com"
OPERATORS = (OPS,)
FILES = {name: (DEMO_DATA / name).read_bytes() for name in ("dark_mode.csv", "metrics.toml")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty data root with the demo catalog."""
    shutil.copy(DEMO_DATA / "metrics.toml", tmp_path / "metrics.toml")
    return tmp_path


def pin(folder: Path, owner: str | None, *, code: bool = False) -> tuple[pins.Pin, str | None]:
    """A pin of dark_mode in `folder` created by `owner` (with a delete code if `code`)."""
    made, record = new_delete_code() if code else (None, None)
    readout = build_readout(load_dataset(folder))
    return pins.pin_readout(
        folder, readout, "dark_mode", None, owner=owner, delete_code=record
    ), made


@pytest.mark.parametrize(
    ("owner", "user", "allowed"),
    [
        (ANA, ANA, True),  # the creator
        (ANA, " Ana@Example.COM ", True),  # emails compare without case and blanks
        (ANA, BOB, False),  # someone else
        (ANA, None, False),  # anonymous
        (ANA, OPS, True),  # an operator
        (None, OPS, True),  # an operator, on a capability-mode record
        (None, ANA, False),  # capability mode: only the delete code, not any signed-in user
        (None, None, False),
    ],
)
def test_may_delete(owner: str | None, user: str | None, allowed: bool) -> None:
    assert owners.may_delete(owner, user, OPERATORS) is allowed


def test_nobody_is_an_operator_without_a_list() -> None:
    assert not owners.is_operator(OPS, ()) and not owners.is_operator(None, [None])  # type: ignore[list-item]
    assert not owners.may_delete(None, None, ())


@pytest.mark.parametrize("value", ["ops@example.com", [1], ["not an email"], {"a": "b"}])
def test_a_malformed_operators_list_is_one_message(value: object) -> None:
    with pytest.raises(InputError, match=r"\[nsexp\] operators in the secrets is not a list"):
        owners.parse_operators(value)


def test_operators_are_read_from_a_list() -> None:
    assert owners.parse_operators([OPS, " b@x.org "]) == (OPS, "b@x.org")
    assert owners.parse_operators(None) == ()


def test_a_signed_in_workspace_has_no_delete_code_and_only_its_creator_or_an_operator_deletes_it(
    root: Path,
) -> None:
    info = ws.create_workspace(root, FILES, owner=ANA)
    assert info.owner == ANA and info.delete_code is None and not info.has_delete_code
    for user in (BOB, None):
        with pytest.raises(InputError) as err:
            ws.delete_workspace(root, info.id, user=user, operators=OPERATORS, code="anything")
        assert err.value.problem == (
            f"workspace {info.id} was created by someone else: only its creator or an operator "
            "deletes it"
        )
    assert info.path.is_dir()
    assert ws.delete_workspace(root, info.id, user=ANA.upper(), operators=OPERATORS) > 0
    assert not info.path.exists()
    other = ws.create_workspace(root, FILES, owner=BOB)
    assert ws.delete_workspace(root, other.id, user=OPS, operators=OPERATORS) > 0


def test_a_capability_workspace_takes_its_code_or_an_operator_not_any_signed_in_user(
    root: Path,
) -> None:
    info = ws.create_workspace(root, FILES)
    assert info.owner is None and info.delete_code
    with pytest.raises(InputError, match="that is not the delete code"):
        ws.delete_workspace(root, info.id, user=ANA, operators=OPERATORS)
    assert ws.delete_workspace(root, info.id, user=OPS, operators=OPERATORS) > 0
    again = ws.create_workspace(root, FILES)
    assert ws.delete_workspace(root, again.id, code=again.delete_code, user=ANA) > 0


def test_a_signed_in_pin_is_deleted_by_its_creator_its_workspaces_creator_or_an_operator(
    root: Path,
) -> None:
    space = ws.create_workspace(root, FILES, owner=ANA)
    mine, code = pin(space.path, BOB)
    assert code is None
    for user in (None, "carol@example.com"):
        with pytest.raises(InputError, match=f"pin {mine.id} was created by someone else"):
            pins.delete_pin(space.path, mine.id, user=user, operators=OPERATORS)
    assert pins.delete_pin(space.path, mine.id, user=BOB, operators=OPERATORS) > 0
    theirs, _ = pin(space.path, BOB)
    assert pins.delete_pin(space.path, theirs.id, user=ANA) > 0  # the workspace's creator
    third, _ = pin(space.path, BOB)
    assert pins.delete_pin(space.path, third.id, user=OPS, operators=OPERATORS) > 0
    assert pins.list_pins(space.path) == []


def test_a_capability_pin_takes_its_code_or_an_operator(root: Path) -> None:
    space = ws.create_workspace(root, FILES)
    anonymous, code = pin(space.path, None, code=True)
    with pytest.raises(InputError, match="that is not the delete code"):
        pins.delete_pin(space.path, anonymous.id, user=ANA, operators=OPERATORS)
    assert pins.delete_pin(space.path, anonymous.id, code=code, user=ANA) > 0
    again, _ = pin(space.path, None, code=True)
    assert pins.delete_pin(space.path, again.id, user=OPS, operators=OPERATORS) > 0


def test_each_person_lists_only_their_own_workspaces_and_pins(root: Path) -> None:
    anas = ws.create_workspace(root, FILES, owner=ANA)
    bobs = ws.create_workspace(root, FILES, owner=BOB)
    ws.create_workspace(root, FILES)  # capability mode: nobody's
    shutil.copy(DEMO_DATA / "dark_mode.csv", root / "dark_mode.csv")
    on_root, _ = pin(root, ANA)  # a pin of the bundled data
    in_bobs, _ = pin(bobs.path, ANA)  # Ana pins a readout of Bob's workspace
    pin(bobs.path, BOB)  # the same readout pinned by Bob is a pin of its own
    assert [w.id for w in owned.owned_workspaces(root, "ANA@example.com")] == [anas.id]
    found = {(o.workspace, o.pin.id) for o in owned.owned_pins(root, ANA)}
    assert found == {(None, on_root.id), (bobs.id, in_bobs.id)}
    assert owned.owned_workspaces(root, None) == [] and owned.owned_pins(root, None) == []


def test_a_signed_in_person_has_a_quota_of_their_own(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ws.create_workspace(root, FILES, owner=ANA)
    size = ws.size_of(first.path)
    assert storage.owner_bytes(root, ANA) == size and storage.owner_bytes(root, BOB) == 0
    monkeypatch.setenv(storage.OWNER_ENV, str(1.5 * size / storage.MB))  # room for one upload
    with pytest.raises(InputError) as err:
        ws.create_workspace(root, FILES, owner=ANA.upper())
    assert "over the quota of" in err.value.problem and storage.OWNER_ENV in err.value.problem
    assert [w.id for w in ws.list_workspaces(root)] == [first.id]  # nothing half-written
    other = ws.create_workspace(root, FILES, owner=BOB)  # Bob's share is his own
    monkeypatch.delenv(storage.OWNER_ENV)
    made, _ = pin(other.path, ANA)  # Ana's pin in Bob's workspace counts against Ana
    pinned = (other.path / "pins" / f"{made.id}.json").stat().st_size
    assert storage.owner_bytes(root, ANA) == size + pinned
    assert storage.owner_bytes(root, BOB) == ws.size_of(other.path)
    ws.create_workspace(root, FILES)  # capability mode: no person's quota applies
