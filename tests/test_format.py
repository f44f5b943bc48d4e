"""nsexp.format: numbers for people."""

from __future__ import annotations


def test_chance_never_reads_as_certain() -> None:
    from nsexp import format as fmt

    assert fmt.chance(0.874) == "87.4%"
    assert fmt.chance(0.999) == "99.9%"
    assert fmt.chance(0.99996) == ">99.9%"
    assert fmt.chance(1.0) == ">99.9%"
    assert fmt.chance(0.00004) == "<0.1%"
    assert fmt.chance(None) == "—"
    assert fmt.chance(float("nan")) == "—"
