"""The North Star tree in metrics.toml: parent, input and owner keys, defaults and validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import METRICS, write_metrics

from nsexp.config.catalog import Catalog, load_catalog
from nsexp.errors import InputError


def catalog(tmp_path: Path, extra: dict[str, dict[str, Any]]) -> Catalog:
    """The standard test catalog with some metrics' keys replaced or added."""
    metrics = {k: dict(v) for k, v in METRICS.items()}
    for mid, keys in extra.items():
        metrics.setdefault(mid, {}).update(keys)
    return load_catalog(write_metrics(tmp_path, metrics))


def test_without_tree_keys_leading_metrics_hang_under_the_north_star(tmp_path: Path) -> None:
    cat = catalog(tmp_path, {})
    parents = {m.id: m.parent for m in cat.metrics.values()}
    assert parents == {
        "lessons": None,
        "retained": "lessons",
        "minutes_per_session": "lessons",
        "clicks": None,  # vanity: no parent unless given
        "errors": None,  # guardrail: no parent unless given
    }
    assert all(m.input is None and m.owner == "" for m in cat.metrics.values())
    assert cat.edges() == [("retained", "lessons"), ("minutes_per_session", "lessons")]


def test_two_levels_input_kinds_and_owners(tmp_path: Path) -> None:
    cat = catalog(
        tmp_path,
        {
            "retained": {"input": "frequency", "owner": "Engagement"},
            "minutes_per_session": {"parent": "retained", "input": "depth", "owner": "Content"},
            "clicks": {"parent": "minutes_per_session"},
        },
    )
    m = cat.metrics["minutes_per_session"]
    assert (m.parent, m.input, m.owner) == ("retained", "depth", "Content")
    assert cat.ancestors("clicks") == ["minutes_per_session", "retained", "lessons"]
    # parents come before their children
    assert cat.edges() == [
        ("retained", "lessons"),
        ("minutes_per_session", "retained"),
        ("clicks", "minutes_per_session"),
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"retained": {"parent": "nope"}}, "parent = 'nope' is not a metric of the catalog"),
        ({"lessons": {"parent": "retained"}}, "is the North Star but has parent = 'retained'"),
        (
            {
                "retained": {"parent": "minutes_per_session"},
                "minutes_per_session": {"parent": "retained"},
            },
            "parents form a cycle (retained -> minutes_per_session -> retained)",
        ),
        ({"retained": {"parent": "retained"}}, "parents form a cycle (retained -> retained)"),
        ({"retained": {"parent": "clicks"}}, "leads up to 'clicks', which has no parent"),
        ({"retained": {"input": "width"}}, "input = 'width' is not a known kind of input"),
        ({"retained": {"owner": 3}}, "owner must be a non-empty string"),
        ({"retained": {"parent": ""}}, "parent must be a non-empty string"),
    ],
)
def test_bad_trees_get_one_clear_error(
    tmp_path: Path, extra: dict[str, dict[str, Any]], message: str
) -> None:
    with pytest.raises(InputError) as err:
        catalog(tmp_path, extra)
    assert message in err.value.message
    assert "metrics.toml" in err.value.message


def test_cli_prints_one_error_line(tmp_path: Path, run_cli: Any, data_dir: Path) -> None:
    metrics = {k: dict(v) for k, v in METRICS.items()}
    metrics["retained"]["parent"] = "ghost"
    write_metrics(data_dir, metrics)
    code, out, err = run_cli("readout", data_dir)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "parent = 'ghost'" in err
