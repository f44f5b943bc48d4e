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
    assert fmt.figure(-0.5, "difference", "mean") == "−0.500"
    assert fmt.figure(1.8, "difference", "mean") == "+1.80"  # trailing zeros kept
    assert fmt.figure(0.0001, "difference", "mean", scale=2.0) == "0.00"  # no sign on a zero
    # one row, one number of decimals: its values to three significant digits of the largest
    assert [fmt.figure(x, "mean", "mean", scale=6.2) for x in (6.2, 6.19)] == ["6.20", "6.19"]
    assert [fmt.figure(x, "mean", "mean", scale=1.42) for x in (0.6528, 1.42)] == ["0.65", "1.42"]
    assert fmt.figure(12345.6, "mean", "mean") == "12,346"
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
    assert fmt.interval(-0.0136, 0.12, "difference", "mean") == "[−0.014, +0.120]"  # one scale


def test_percentages_and_their_intervals_by_hand() -> None:
    from nsexp import format as fmt

    assert [fmt.pct(0.081), fmt.pct(-0.081), fmt.pct(-0.0004)] == ["+8.1%", "−8.1%", "0.0%"]
    assert [fmt.pct(0.0004, 2), fmt.pct(0.05, signed=False), fmt.pct(float("nan"))] == [
        "+0.04%",
        "5.0%",
        "—",
    ]
    # a bound that would round to zero gets the digits that show its sign, up to three more
    assert fmt.pct_ci(0.0003, 3.927) == "[+0.03%, +392.7%]"
    assert fmt.pct_ci(-0.00000123, 0.1) == "[−0.0001%, +10.0%]"
    assert fmt.pct_ci(-0.0000004, 0.0) == "[−0.0000%, 0.0%]"
    assert fmt.pct_ci(None, float("inf")) == "[—, —]"
