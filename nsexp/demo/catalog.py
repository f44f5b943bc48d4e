"""The Lingo demo's metric catalog: one North Star, leading indicators, vanity metrics and a
guardrail, as metrics.toml gets them, arranged as a two-level North Star tree: day-7 retention
(frequency) and lessons started (depth) drive lessons completed; a streak drives retention,
minutes per session drive lessons started; finishing a lesson on day one (efficiency) is new
and has too little history yet. Each input names the team that owns it; the North Star and two
inputs carry the second half of 2026's targets."""

from __future__ import annotations

from datetime import date

from nsexp.config.catalog import Metric

H2_START, H2_END = date(2026, 7, 1), date(2026, 12, 31)

METRICS: tuple[Metric, ...] = (
    Metric(
        id="lessons_completed",
        label="Lessons completed",
        role="north_star",
        type="mean",
        practical_threshold=0.02,
        description="Lessons completed per learner in the 14 days after first exposure.",
        covariate="lessons_pre",
        owner="Product",
        target=0.15,
        target_from=H2_START,
        target_by=H2_END,
    ),
    Metric(
        id="day7_retention",
        label="Day-7 retention",
        role="leading",
        type="proportion",
        practical_threshold=0.01,
        description="Share of learners who came back to practise 7 days after first exposure.",
        parent="lessons_completed",
        input="frequency",
        owner="Engagement",
        target=0.10,
        target_from=H2_START,
        target_by=H2_END,
    ),
    Metric(
        id="lesson_starts",
        label="Lessons started",
        role="leading",
        type="mean",
        practical_threshold=0.02,
        description="Lessons started (completed or abandoned) per learner in the 14 days.",
        parent="lessons_completed",
        input="depth",
        owner="Growth",
        target=0.10,
        target_from=H2_START,
        target_by=H2_END,
    ),
    Metric(
        id="streak_started",
        label="Started a streak",
        role="leading",
        type="proportion",
        practical_threshold=0.02,
        description="Share of learners who practised three days in a row.",
        parent="day7_retention",
        input="frequency",
        owner="Engagement",
    ),
    Metric(
        id="minutes_per_session",
        label="Minutes per session",
        role="leading",
        type="ratio",
        numerator="minutes",
        denominator="sessions",
        practical_threshold=0.02,
        description="Minutes in the app divided by sessions, over all learners in the arm.",
        parent="lesson_starts",
        input="depth",
        owner="Monetization",
    ),
    Metric(
        id="first_day_lesson",
        label="First lesson on day one",
        role="leading",
        type="proportion",
        practical_threshold=0.02,
        description="Share of learners who finished a lesson on the day they were first exposed "
        "(measured since the autumn: too little history yet).",
        parent="lessons_completed",
        input="efficiency",
        owner="Onboarding",
    ),
    Metric(
        id="onboarding_clicks",
        label="Onboarding clicks",
        role="vanity",
        type="mean",
        practical_threshold=0.05,
        description="Taps on onboarding screens and tips per learner.",
    ),
    Metric(
        id="page_views",
        label="Page views",
        role="vanity",
        type="mean",
        practical_threshold=0.05,
        description="Screens viewed per learner in the 14 days after exposure.",
    ),
    Metric(
        id="shares",
        label="Shared progress",
        role="vanity",
        type="proportion",
        column="shared_progress",
        practical_threshold=0.05,
        description="Share of learners who shared a badge or their progress.",
    ),
    Metric(
        id="notifications_off",
        label="Turned off notifications",
        role="guardrail",
        type="proportion",
        direction="decrease",
        practical_threshold=0.05,
        description="Share of learners who switched off Lingo's notifications.",
        non_inferiority_margin=0.1,
    ),
)
