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


def test_each_kind_of_number_reads_one_way() -> None:
    from typing import get_args

    from nsexp import format as fmt

    assert fmt.figure(0.081, "lift") == "+8.1%"
    assert fmt.figure(-0.0004, "lift") == "0.0%"
    assert fmt.figure(0.0342, "share") == "3.4%"
    assert fmt.figure(0.00123, "loss") == "0.12%"
    assert fmt.figure(0.874, "chance") == "87.4%"
    assert fmt.figure(0.0341, "p") == "0.034"
    assert fmt.figure(0.0004, "p") == "< 0.001"
    assert fmt.figure(12345.4, "count") == "12,345"
    assert fmt.figure(0.5234, "mean", "proportion") == "52.34%"
    assert fmt.figure(7.021, "mean", "mean") == "7.02"
    assert fmt.figure(0.012, "difference", "proportion") == "+1.20 pp"
    assert fmt.figure(-0.5, "difference", "mean") == "−0.5"
    assert fmt.figure(0.01, "threshold") == "±1%"
    assert fmt.figure(0.123456, "number") == "0.123"
    assert (fmt.figure(True, "flag"), fmt.figure(False, "flag")) == ("yes", "no")
    assert (fmt.figure("breached", "text"), fmt.figure(None, "text")) == ("breached", "")
    for kind in get_args(fmt.Kind):  # every kind has its format, and a gap reads as a gap
        assert fmt.figure(None, kind) in ("—", "")


def test_an_interval_reads_as_its_kind() -> None:
    from nsexp import format as fmt

    assert fmt.interval(0.052, 0.11, "lift") == "[+5.2%, +11.0%]"
    assert fmt.interval(0.0003, 0.11, "lift") == "[+0.03%, +11.0%]"  # the bound keeps its sign
    assert fmt.interval(-0.01, 0.02, "difference", "proportion") == "[−1.00 pp, +2.00 pp]"
