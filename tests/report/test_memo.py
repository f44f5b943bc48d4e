"""Charts are built once per distinct input and shared; the memo stays bounded."""

from __future__ import annotations

from helpers import DEMO_DATA

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.report import charts
from nsexp.report.figures import timeline_frame
from nsexp.report.memo import memo


def test_the_same_readout_gets_the_same_chart_object() -> None:
    readout = build_readout(load_dataset(DEMO_DATA))
    t = readout.experiments["push_reminders"].treatments[0]
    assert charts.forest_plot(t.metrics, 0.05) is charts.forest_plot(list(t.metrics), 0.05)
    assert charts.forest_plot(t.metrics, 0.05) is not charts.forest_plot(t.metrics, 0.01)
    ns = t.north_star.practical_threshold
    first = charts.timeline_chart(timeline_frame(t), ns, 0.05)
    assert charts.timeline_chart(timeline_frame(t), ns, 0.05) is first
    assert charts.timeline_chart(timeline_frame(t), ns, 0.05, True) is not first
    assert first.to_dict() == charts.timeline_chart(timeline_frame(t), ns, 0.05).to_dict()


def test_memo_keeps_only_the_most_recent_entries() -> None:
    built: list[int] = []

    @memo(lambda x: x, size=2)
    def square(x: int) -> int:
        built.append(x)
        return x * x

    assert [square(1), square(2), square(1), square(3), square(2)] == [1, 4, 1, 9, 4]
    assert built == [1, 2, 3, 2]  # 2 was evicted by 3 (1 had been used more recently)
