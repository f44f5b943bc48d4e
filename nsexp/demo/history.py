"""Seeded history for the Lingo demo: 44 past A/B tests in summary form, one small CSV each.

The true relative effects of each past experiment come from one latent factor (how much the
change really helped learners) plus metric-specific parts, so that across experiments:
day7_retention's true effects correlate 0.9 with the North Star's (a predictive indicator),
lesson_starts 0.75, streak_started 0.6, minutes_per_session 0.25, and page_views,
onboarding_clicks and shares not at all, although page_views moves often (vanity).
Each arm's summary (n, sum, sum_sq; ratio sums for minutes_per_session) is drawn from the
sampling distribution of its estimate, independently per metric: the sampling noise of two
metrics is uncorrelated, which is what nsexp.learning.proxies assumes when it has no cross sums.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from nsexp.config.toml import toml_table

N_PAST = 44
FIRST_START = date(2024, 3, 4)
OWNERS = (
    "Priya Raman (Engagement)",
    "Marco Silva (Onboarding)",
    "Dana Okafor (Growth)",
    "Jonas Berg (Monetization)",
)
# (id suffix, name, treatment variant)
IDEAS: tuple[tuple[str, str, str], ...] = (
    ("lesson_recap", "Lesson recap screen", "recap"),
    ("xp_boost", "Weekend XP boost", "double_xp"),
    ("league_tiers", "Leagues with more tiers", "ten_tiers"),
    ("audio_autoplay", "Autoplay audio in exercises", "autoplay"),
    ("hint_button", "Hint button on hard exercises", "hints"),
    ("progress_ring", "Daily progress ring", "ring"),
    ("skip_intro", "Skip the intro video", "skip"),
    ("friend_feed", "Friends activity feed", "feed"),
    ("story_mode", "Short stories between units", "stories"),
    ("speaking_drills", "Speaking drills", "drills"),
    ("mistake_review", "Review your mistakes", "review"),
    ("badge_wall", "Badge wall on the profile", "badges"),
    ("evening_push", "Evening practice nudge", "evening"),
    ("home_tips", "Tips carousel on home", "carousel"),
    ("timed_challenge", "Timed challenge mode", "timed"),
    ("word_of_day", "Word of the day widget", "widget"),
    ("path_map", "Course path map", "map"),
    ("streak_reminder", "Streak-at-risk reminder", "reminder"),
    ("share_card", "Shareable progress card", "card"),
    ("leaderboard_tab", "Leaderboard tab", "tab"),
    ("slower_audio", "Slower audio button", "slow_audio"),
    ("unit_checkpoint", "Unit checkpoints", "checkpoints"),
    ("mascot_cheers", "Mascot cheers", "cheers"),
    ("quick_review", "Two-minute quick review", "quick"),
    ("goal_email", "Weekly goal e-mail", "email"),
    ("dark_icons", "Redesigned icons", "icons"),
    ("match_madness", "Matching game", "matching"),
    ("night_owl", "Night-owl practice badge", "night_badge"),
    ("grammar_notes", "Grammar notes in lessons", "notes"),
    ("confetti", "Confetti on lesson end", "confetti"),
    ("adaptive_review", "Adaptive review order", "adaptive"),
    ("explore_tab", "Explore tab with articles", "explore"),
    ("friend_quests", "Friend quests", "quests"),
    ("shorter_lessons", "Shorter lessons", "short"),
    ("listening_mode", "Hands-free listening mode", "listening"),
    ("profile_themes", "Profile themes", "themes"),
    ("lesson_preview", "Lesson preview cards", "preview"),
    ("comeback_bonus", "Comeback bonus after a break", "bonus"),
    ("emoji_reactions", "Emoji reactions in feed", "emoji"),
    ("typing_hints", "Typing autocorrect hints", "autocorrect"),
    ("weekly_recap", "Weekly recap screen", "weekly"),
    ("onboarding_quiz", "Onboarding motivation quiz", "quiz"),
    ("banner_promo", "Promo banner on home", "banner"),
    ("practice_timer", "Practice timer", "timer"),
)
# metric -> (base value, unit variance, true-effect SD, loading on the latent factor, mean)
MEAN_METRICS: dict[str, tuple[float, float, float, float, float]] = {
    "lessons_completed": (5.2, 14.2, 0.015, 1.0, 0.002),
    "lesson_starts": (6.9, 16.5, 0.02, 0.75, 0.004),
    "onboarding_clicks": (2.4, 2.4, 0.05, 0.0, 0.01),
    "page_views": (13.0, 29.0, 0.05, 0.0, 0.02),
}
PROPORTIONS: dict[str, tuple[float, float, float, float]] = {
    "day7_retention": (0.46, 0.02, 0.9, 0.003),
    "streak_started": (0.19, 0.04, 0.6, 0.005),
    "shares": (0.035, 0.12, 0.0, 0.02),
    "notifications_off": (0.055, 0.08, -0.2, 0.0),
}
# minutes_per_session = minutes / sessions: unit means, covariance and effect spec
RATIO_MEANS = np.array([27.9, 4.5])
RATIO_COV = np.array([[388.0, 47.0], [47.0, 7.6]])
RATIO_EFFECT = (0.02, 0.25, 0.0)


def history_ids() -> list[str]:
    """The experiment ids of the past experiments, oldest first."""
    return [f"past_{i + 1:02d}_{slug}" for i, (slug, _, _) in enumerate(IDEAS[:N_PAST])]


def _true_effects(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """True relative effects per metric across the past experiments (one latent factor)."""
    factor = rng.standard_normal(N_PAST)
    out = {}
    specs = {k: v[2:] for k, v in MEAN_METRICS.items()} | {k: v[1:] for k, v in PROPORTIONS.items()}
    specs["minutes_per_session"] = (*RATIO_EFFECT[:2], RATIO_EFFECT[2])
    for metric, (sd, loading, mean) in specs.items():
        own = rng.standard_normal(N_PAST)
        out[metric] = mean + sd * (loading * factor + np.sqrt(1 - loading**2) * own)
    return out


def _arm_rows(
    rng: np.random.Generator, eid: str, variant: str, n: int, lift: dict[str, float], scale: float
) -> list[dict]:
    """Summary rows of one arm: every metric's n, sum and sum_sq drawn from its sampling law."""
    rows = []
    for metric, (base, var, *_rest) in MEAN_METRICS.items():
        mean = base * scale * (1 + lift.get(metric, 0.0))
        unit_var = var * scale**2
        sample_mean = mean + np.sqrt(unit_var / n) * rng.standard_normal()
        sample_var = unit_var * rng.chisquare(n - 1) / (n - 1)
        total = n * sample_mean
        rows.append(_row(eid, variant, metric, n, total, (n - 1) * sample_var + total**2 / n))
    for metric, (p, *_rest) in PROPORTIONS.items():
        share = min(p * (1 + lift.get(metric, 0.0)), 1.0)
        count = float(rng.binomial(n, share))
        rows.append(_row(eid, variant, metric, n, count, count))
    means = RATIO_MEANS * np.array([scale * (1 + lift.get("minutes_per_session", 0.0)), 1.0])
    sample_mean = rng.multivariate_normal(means, RATIO_COV / n)
    sample_cov = stats.wishart(df=n - 1, scale=RATIO_COV / (n - 1)).rvs(random_state=rng)
    sums = n * sample_mean
    cross = (n - 1) * sample_cov + np.outer(sums, sums) / n
    rows.append(
        _row(eid, variant, "minutes_per_session", n, sums[0], cross[0, 0])
        | {"den_sum": sums[1], "den_sum_sq": cross[1, 1], "num_den_sum": cross[0, 1]}
    )
    return rows


def _row(eid: str, variant: str, metric: str, n: int, total: float, total_sq: float) -> dict:
    return {
        "experiment": eid,
        "variant": variant,
        "metric": metric,
        "n": n,
        "sum": round(float(total), 2),
        "sum_sq": round(float(total_sq), 2),
        "den_sum": None,
        "den_sum_sq": None,
        "num_den_sum": None,
    }


def history_frames(seed: int = 7) -> dict[str, pl.DataFrame]:
    """Each past experiment's summary rows, by experiment id (seeded)."""
    rng = np.random.default_rng([seed, 1000])
    effects = _true_effects(rng)
    frames = {}
    for i, eid in enumerate(history_ids()):
        variant = IDEAS[i][2]
        total = int(rng.integers(16, 60)) * 1000
        n_c = int(rng.binomial(total, 0.5))
        scale = float(rng.uniform(0.9, 1.1))
        lift = {m: float(v[i]) for m, v in effects.items()}
        rows = _arm_rows(rng, eid, "control", n_c, {}, scale)
        rows += _arm_rows(rng, eid, variant, total - n_c, lift, scale)
        for col in ("den_sum", "den_sum_sq", "num_den_sum"):
            for r in rows:
                r[col] = None if r[col] is None else round(float(r[col]), 2)
        frames[eid] = pl.DataFrame(rows, schema_overrides={"n": pl.Int64}).sort("variant", "metric")
    return frames


def history_toml_tables() -> list[tuple[str, dict]]:
    """(table name, keys) for experiments.toml: a name, owner, split and start in the past."""
    out = []
    for i, eid in enumerate(history_ids()):
        _, name, variant = IDEAS[i]
        out.append(
            (
                f"experiments.{eid}",
                {
                    "name": f"Past: {name}",
                    "control": "control",
                    "expected_split": {"control": 0.5, variant: 0.5},
                    "owner": OWNERS[i % len(OWNERS)],
                    "hypothesis": f"{name} helps learners complete more lessons.",
                    "start": (FIRST_START + timedelta(days=14 * i)).isoformat(),
                    "status": "concluded",
                },
            )
        )
    return out


HISTORY_FILE = "past_experiments.csv"


def write_history(out_dir: Path, seed: int = 7) -> None:
    """Write every past experiment's summary rows to one CSV; append them to experiments.toml."""
    pl.concat(history_frames(seed).values()).write_csv(out_dir / HISTORY_FILE)
    tables = "\n".join(toml_table(name, keys) for name, keys in history_toml_tables())
    with (out_dir / "experiments.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + tables)
