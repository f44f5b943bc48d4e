"""The TOML the Data page writes: read back by the CLI's own parser, nothing else lost."""

from __future__ import annotations

import pytest

from nsexp.config.experiments import parse_experiments
from nsexp.config.setup import MetricChoice, Setup, declare_splits, experiments_toml
from nsexp.config.toml import parse_toml
from nsexp.errors import InputError

EXISTING = """
# hand-written
[experiments.onboarding]
name = "Onboarding"
owner = "Growth"
control = "control"
start = 2024-03-01
planned_units = 40000
status = "concluded"

[experiments."promo_2008.03.20"]
control = "A"
"""


def parsed(text: str):
    """experiments.toml text as the CLI reads it."""
    return parse_experiments(parse_toml(text, "experiments.toml"))


def test_declare_splits_adds_the_split_and_keeps_every_other_key() -> None:
    written = declare_splits(EXISTING, {"onboarding": {"control": 10, "big": 80, "small": 10}})
    info = parsed(written)
    before = parsed(EXISTING)
    assert info["onboarding"].expected_split == {"control": 10.0, "big": 80.0, "small": 10.0}
    for key in ("name", "owner", "control", "start", "planned_units", "status"):
        assert getattr(info["onboarding"], key) == getattr(before["onboarding"], key), key
    assert info["promo_2008.03.20"] == before["promo_2008.03.20"]  # the quoted id survives


def test_declare_splits_creates_the_file_and_new_experiments() -> None:
    info = parsed(declare_splits("", {"a.b c": {"x": 0.25, "y": 0.75}}))
    assert info["a.b c"].expected_split == {"x": 0.25, "y": 0.75}
    assert info["a.b c"].control is None


def test_declare_splits_replaces_an_earlier_split() -> None:
    once = declare_splits("", {"e": {"x": 1, "y": 1}})
    twice = declare_splits(once, {"e": {"x": 1, "y": 3}})
    assert parsed(twice)["e"].expected_split == {"x": 1.0, "y": 3.0}


@pytest.mark.parametrize(
    ("text", "splits", "says"),
    [
        ('[experiments.a.03.20]\ncontrol = "x"\n', {}, "quote the id"),
        ("[experiments.e]\nname = \n", {}, "not valid TOML"),
        ("", {"e": {"x": 0.0, "y": 1.0}}, "positive share"),
    ],
)
def test_declare_splits_refuses_what_the_cli_refuses(text: str, splits: dict, says: str) -> None:
    with pytest.raises(InputError, match=says):
        declare_splits(text, splits)


def test_experiments_toml_writes_the_planned_split_of_the_set_up() -> None:
    setup = Setup(
        ("launch",),
        "arm",
        "control",
        (MetricChoice("lessons", "north_star", "mean"),),
        split={"control": 1.0, "new": 4.0},
    )
    info = parsed(experiments_toml(setup))["launch"]
    assert info.control == "control"
    assert info.expected_split == {"control": 1.0, "new": 4.0}
    equal = parsed(experiments_toml(Setup(("launch",), "arm", "control", ())))["launch"]
    assert equal.expected_split == {}


def test_a_threshold_and_label_chosen_in_the_set_up_reach_the_catalog() -> None:
    from nsexp.config.catalog import DEFAULT_THRESHOLD, parse_catalog
    from nsexp.config.setup import catalog_toml

    setup = Setup(
        ("shop",),
        "arm",
        "A",
        (
            MetricChoice("orders", "north_star", "mean", label="Orders", practical_threshold=0.02),
            MetricChoice("clicked", "vanity", "proportion"),
        ),
    )
    catalog = parse_catalog(parse_toml(catalog_toml(setup), "metrics.toml"))
    orders, clicked = catalog.metrics["orders"], catalog.metrics["clicked"]
    assert (orders.label, orders.practical_threshold, orders.threshold_set) == (
        "Orders",
        0.02,
        True,
    )
    assert (clicked.label, clicked.threshold_set) == ("clicked", False)
    assert clicked.practical_threshold == DEFAULT_THRESHOLD
    with pytest.raises(InputError, match="not a relative effect"):
        catalog_toml(
            Setup(
                ("s",),
                "arm",
                "A",
                (MetricChoice("o", "north_star", "mean", practical_threshold=1.5),),
            )
        )


def test_the_set_up_hints_at_a_missing_north_star_and_names_a_wrong_type() -> None:
    from nsexp.config.setup import missing_step, type_problem

    leading = MetricChoice("spend", "leading", "proportion")
    assert "North Star" in (missing_step(Setup(("s",), "arm", "A", (leading,))) or "")
    star = MetricChoice("spend", "north_star", "mean")
    assert missing_step(Setup(("s",), "arm", "A", (star,))) is None
    assert "up to 499.5" in (type_problem(leading, zero_one=False, largest=499.5) or "")
    assert type_problem(leading, zero_one=True, largest=1.0) is None
    assert type_problem(star, zero_one=False, largest=499.5) is None  # a mean may be anything
    skipped = MetricChoice("spend", "skip", "proportion")
    assert type_problem(skipped, zero_one=False, largest=3.0) is None
