"""The Lingo demo's metric catalog: one North Star, leading indicators, vanity metrics and a
guardrail, as metrics.toml gets them."""

from __future__ import annotations

from nsexp.config.catalog import Metric

METRICS: tuple[Metric, ...] = (
    Metric(
        id="lessons_completed",
        label="Lessons completed",
        role="north_star",
        type="mean",
        practical_threshold=0.02,
        description="Lessons completed per learner in the 14 days after first exposure.",
        covariate="lessons_pre",
    ),
    Metric(
        id="day7_retention",
        label="Day-7 retention",
        role="leading",
        type="proportion",
        practical_threshold=0.01,
        description="Share of learners who came back to practise 7 days after first exposure.",
    ),
    Metric(
        id="lesson_starts",
        label="Lessons started",
        role="leading",
        type="mean",
        practical_threshold=0.02,
        description="Lessons started (completed or abandoned) per learner in the 14 days.",
    ),
    Metric(
        id="streak_started",
        label="Started a streak",
        role="leading",
        type="proportion",
        practical_threshold=0.02,
        description="Share of learners who practised three days in a row.",
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
