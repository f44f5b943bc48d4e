"""The ten Lingo demo experiments: who runs them, what they change, and by how much."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

PLATFORMS: tuple[str, ...] = ("ios", "android", "web")

Lever = Literal[
    "lessons",
    "abandoned",
    "retention",
    "streak",
    "sessions",
    "session_minutes",
    "onboarding_clicks",
    "page_views",
    "shares",
    "notifications_off",
    "first_day",
]
Form = Literal["units", "units_with_experiment", "units_int_flags", "summary"]


@dataclass(frozen=True)
class Lost:
    """Exposures that never got logged: a variant's units on one platform over some days."""

    variant: str
    platform: str
    first_day: int
    last_day: int
    share: float


@dataclass(frozen=True)
class Scenario:
    """How to simulate one experiment and what to write about it."""

    id: str
    name: str
    owner: str
    hypothesis: str
    start: date
    days: int
    units: int
    split: Mapping[str, float]
    effects: Mapping[str, Mapping[Lever, float]]
    form: Form = "units"
    platforms: tuple[str, ...] = PLATFORMS
    lost: Lost | None = None
    control: str = field(init=False)

    def __post_init__(self) -> None:
        """The control is the first arm of the split."""
        object.__setattr__(self, "control", next(iter(self.split)))


PRIYA = "Priya Raman (Engagement)"
MARCO = "Marco Silva (Onboarding)"
DANA = "Dana Okafor (Growth)"
JONAS = "Jonas Berg (Monetization)"

EXPERIMENTS: tuple[Scenario, ...] = (
    Scenario(
        id="streak_freeze",
        name="Streak Freeze",
        owner=PRIYA,
        hypothesis="Letting learners protect their streak on a missed day keeps them practising, "
        "so they complete more lessons.",
        start=date(2026, 7, 6),
        days=21,
        units=70_000,
        split={"control": 0.5, "freeze": 0.5},
        effects={
            "freeze": {"lessons": 0.05, "retention": 0.03, "streak": 0.15, "sessions": 0.03},
        },
    ),
    Scenario(
        id="animated_onboarding",
        name="Animated onboarding tour",
        owner=MARCO,
        hypothesis="A playful animated tour gets new learners to explore the app, "
        "which should lead to more completed lessons.",
        start=date(2026, 7, 13),
        days=14,
        units=80_000,
        split={"control": 0.5, "animated_tour": 0.5},
        effects={"animated_tour": {"onboarding_clicks": 0.25, "page_views": 0.08}},
    ),
    Scenario(
        id="push_reminders",
        name="Practice reminder frequency",
        owner=DANA,
        hypothesis="A daily reminder at the learner's usual practice time brings them back for "
        "more lessons; three reminders a day might bring them back even more.",
        start=date(2026, 7, 20),
        days=21,
        units=100_000,
        split={"control": 0.5, "daily": 0.25, "three_a_day": 0.25},
        effects={
            "daily": {"lessons": 0.045, "retention": 0.04, "streak": 0.08, "sessions": 0.06},
            "three_a_day": {
                "sessions": 0.08,
                "page_views": 0.05,
                "notifications_off": 0.6,
            },
        },
        platforms=("ios", "android"),
    ),
    Scenario(
        id="hearts_system",
        name="Hearts: lose a heart per mistake",
        owner=JONAS,
        hypothesis="Limiting mistakes with hearts makes learners more careful and nudges them "
        "toward the paid plan, without hurting lesson completion.",
        start=date(2026, 8, 3),
        days=14,
        units=50_000,
        split={"control": 0.5, "hearts": 0.5},
        effects={
            "hearts": {
                "lessons": -0.06,
                "abandoned": 0.2,
                "session_minutes": -0.05,
                "retention": -0.03,
                "streak": -0.05,
            },
        },
    ),
    Scenario(
        id="referral_banner",
        name="Invite-a-friend banner",
        owner=DANA,
        hypothesis="A home-screen banner offering a free week for each invited friend gets "
        "learners to share Lingo and brings in motivated new learners.",
        start=date(2026, 8, 10),
        days=18,
        units=42_000,
        split={"control": 0.5, "banner": 0.5},
        effects={"banner": {"shares": 0.5, "page_views": 0.04, "lessons": 0.03}},
        form="units_with_experiment",
        lost=Lost(variant="control", platform="android", first_day=3, last_day=5, share=0.95),
    ),
    Scenario(
        id="daily_goal_picker",
        name="Daily goal picker (pilot)",
        owner=MARCO,
        hypothesis="Letting new learners pick a daily goal of 5, 10 or 15 minutes makes the goal "
        "feel achievable, so they complete more lessons.",
        start=date(2026, 8, 17),
        days=14,
        units=5_000,
        split={"control": 0.5, "goal_picker": 0.5},
        effects={"goal_picker": {"lessons": 0.02, "streak": 0.03}},
    ),
    Scenario(
        id="dark_mode",
        name="Dark mode by default",
        owner=PRIYA,
        hypothesis="A dark theme by default is easier on the eyes in the evening, when most "
        "practice happens, so learners stay for more lessons.",
        start=date(2026, 8, 24),
        days=14,
        units=100_000,
        split={"control": 0.5, "dark": 0.5},
        effects={},
        form="summary",
    ),
    Scenario(
        id="ai_tutor_beta",
        name="AI chat tutor (beta)",
        owner=JONAS,
        hypothesis="Chatting with an AI tutor about a lesson's topic makes practice more "
        "engaging, so learners complete more lessons.",
        start=date(2026, 9, 7),
        days=16,
        units=6_000,
        split={"control": 0.5, "ai_tutor": 0.5},
        effects={"ai_tutor": {"page_views": 0.15, "shares": 0.6, "session_minutes": 0.08}},
    ),
    Scenario(
        id="placement_test",
        name="Placement test redesign",
        owner=MARCO,
        hypothesis="A shorter or an adaptive placement test puts new learners at the right level "
        "sooner, so fewer give up and more lessons get completed.",
        start=date(2026, 9, 14),
        days=21,
        units=90_000,
        split={"control": 0.34, "short_quiz": 0.33, "adaptive": 0.33},
        effects={
            "adaptive": {
                "lessons": 0.035,
                "retention": 0.025,
                "streak": 0.05,
                "onboarding_clicks": -0.15,
            },
        },
    ),
    Scenario(
        id="practice_hub_redesign",
        name="Practice hub redesign",
        owner=PRIYA,
        hypothesis="A browsable practice hub with topic cards makes it easier to find the right "
        "exercise, so learners practise more.",
        start=date(2026, 9, 28),
        days=17,
        units=60_000,
        split={"control": 0.5, "hub_cards": 0.5},
        effects={
            "hub_cards": {
                "page_views": 0.12,
                "lessons": -0.04,
                "abandoned": 0.1,
                "session_minutes": -0.03,
            },
        },
        form="units_int_flags",
    ),
    Scenario(
        id="streak_society",
        name="Streak Society (pilot)",
        owner=PRIYA,
        hypothesis="Inviting learners on a streak into a club with weekly goals brings them "
        "back more often, which should show up as more completed lessons.",
        start=date(2026, 10, 12),
        days=14,
        units=10_000,
        split={"control": 0.5, "club": 0.5},
        effects={"club": {"retention": 0.1, "streak": 0.1, "lessons": 0.02, "sessions": 0.02}},
    ),
)
