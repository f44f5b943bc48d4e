"""Seeded history for the Lingo demo: 44 past A/B tests in summary form, one small CSV each.

The true relative effects of each past experiment come from one latent factor (how much the
change really helped learners) plus metric-specific parts, so that across experiments:
day7_retention's true effects correlate 0.9 with the North Star's (a predictive indicator),
lesson_starts 0.75, streak_started 0.6 (0.54 with day7_retention, its parent in the tree),
minutes_per_session 0.25, and page_views, onboarding_clicks and shares not at all, although
page_views moves often (vanity).
Each arm's summary is drawn from the sampling distribution of all its metrics at once: the
sample means jointly normal and the sample covariance Wishart, from a unit-level covariance in
which engaged learners do more of everything (UNIT correlations), so two metrics' sampling
noise is correlated within an experiment, as in real data. The rows carry that covariance as
cross sums (ns_cross_sum with the North Star, parent_cross_sum with the parent; not for the
ratio minutes_per_session, whose parts would need more columns), so nsexp computes it instead
of assuming zero.
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
# The unit-level parts of the metrics, as in the unit-level demo: base value per learner (the
# control's), unit SD, and the effect spec: true-effect SD, loading on the latent factor, mean.
# minutes and sessions are the parts of minutes_per_session (the effect moves minutes).
PARTS: dict[str, tuple[float, float]] = {
    "lessons_completed": (5.2, 3.77),
    "lesson_starts": (6.9, 4.06),
    "onboarding_clicks": (2.4, 1.55),
    "page_views": (13.0, 5.39),
    "minutes": (27.9, 19.7),
    "sessions": (4.5, 2.76),
    "day7_retention": (0.46, 0.498),
    "streak_started": (0.19, 0.392),
    "shares": (0.035, 0.184),
    "notifications_off": (0.055, 0.228),
}
PROPORTION_PARTS = ("day7_retention", "streak_started", "shares", "notifications_off")
EFFECTS: dict[str, tuple[float, float, float]] = {
    "lessons_completed": (0.02, 1.0, 0.003),
    "day7_retention": (0.05, 0.9, 0.006),
    "lesson_starts": (0.03, 0.75, 0.005),
    "streak_started": (0.05, 0.35, 0.006),
    "minutes_per_session": (0.03, 0.5, 0.0),
    "onboarding_clicks": (0.05, 0.0, 0.01),
    "page_views": (0.05, 0.0, 0.02),
    "shares": (0.12, 0.0, 0.02),
    "notifications_off": (0.15, -0.2, 0.0),
}
# Unit-level correlations from three factors: engagement (engaged learners do more of
# everything), lesson activity (lessons started count the completed ones too) and session
# length (the two parts of minutes per session): loadings per part, so the matrix is a valid
# correlation matrix and two metrics' sampling noise is correlated within an experiment.
_LOADINGS: dict[str, tuple[float, float, float]] = {
    "lessons_completed": (0.6, 0.75, 0.0),
    "lesson_starts": (0.6, 0.7, 0.0),
    "onboarding_clicks": (0.1, 0.0, 0.0),
    "page_views": (0.7, 0.0, 0.0),
    "minutes": (0.5, 0.0, 0.8),
    "sessions": (0.7, 0.0, 0.6),
    "day7_retention": (0.5, 0.0, 0.0),
    "streak_started": (0.45, 0.0, 0.0),
    "shares": (0.1, 0.0, 0.0),
    "notifications_off": (0.05, 0.0, 0.0),
}


def unit_covariance() -> np.ndarray:
    """The unit-level covariance of PARTS (in their order) for the control at scale 1."""
    loadings = np.array([_LOADINGS[m] for m in PARTS])
    corr = loadings @ loadings.T
    np.fill_diagonal(corr, 1.0)
    sd = np.array([PARTS[m][1] for m in PARTS])
    return corr * np.outer(sd, sd)


def history_ids() -> list[str]:
    """The experiment ids of the past experiments, oldest first."""
    return [f"past_{i + 1:02d}_{slug}" for i, (slug, _, _) in enumerate(IDEAS[:N_PAST])]


def _true_effects(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """True relative effects per metric across the past experiments (one latent factor)."""
    factor = rng.standard_normal(N_PAST)
    out = {}
    for metric, (sd, loading, mean) in EFFECTS.items():
        own = rng.standard_normal(N_PAST)
        out[metric] = mean + sd * (loading * factor + np.sqrt(1 - loading**2) * own)
    return out


def _arm_rows(
    rng: np.random.Generator, eid: str, variant: str, n: int, lift: dict[str, float], scale: float
) -> list[dict]:
    """Summary rows of one arm: every part's mean and the parts' sample covariance drawn jointly
    from their sampling laws, written as n, sums, sums of squares and cross sums."""
    names = list(PARTS)
    base = np.array([PARTS[m][0] for m in names])
    factor = np.array([1.0 if m in PROPORTION_PARTS else scale for m in names])
    effect = np.array(
        [lift.get("minutes_per_session" if m == "minutes" else m, 0.0) for m in names]
    )
    means = base * factor * (1 + effect)
    spread = np.array([1.0 if m in PROPORTION_PARTS else scale for m in names])
    cov = unit_covariance() * np.outer(spread, spread)
    sample_mean = rng.multivariate_normal(means, cov / n)
    sample_cov = stats.wishart(df=n - 1, scale=cov / (n - 1)).rvs(random_state=rng)
    for i, m in enumerate(names):
        if m in PROPORTION_PARTS:  # a count of converted units; 0/1 values: sum_sq = sum
            sample_mean[i] = round(min(max(sample_mean[i], 0.0), 1.0) * n) / n
    sums = n * sample_mean
    cross = (n - 1) * sample_cov + np.outer(sums, sums) / n
    at = {m: i for i, m in enumerate(names)}
    ns, starts = at["lessons_completed"], at["day7_retention"]
    rows = []
    for metric in (*(m for m in names if m not in ("minutes", "sessions")), "minutes_per_session"):
        if metric == "minutes_per_session":
            i, d = at["minutes"], at["sessions"]
            rows.append(
                _row(eid, variant, metric, n, sums[i], cross[i, i])
                | {"den_sum": sums[d], "den_sum_sq": cross[d, d], "num_den_sum": cross[i, d]}
            )
            continue
        i = at[metric]
        square = sums[i] if metric in PROPORTION_PARTS else cross[i, i]
        row = _row(eid, variant, metric, n, sums[i], square)
        if metric != "lessons_completed":
            row["ns_cross_sum"] = cross[i, ns]
        if metric == "streak_started":  # its parent in the tree is day7_retention
            row["parent_cross_sum"] = cross[i, starts]
        rows.append(row)
    return rows


def _row(eid: str, variant: str, metric: str, n: int, total: float, total_sq: float) -> dict:
    return {
        "experiment": eid,
        "variant": variant,
        "metric": metric,
        "n": n,
        "sum": float(total),
        "sum_sq": float(total_sq),
        "den_sum": None,
        "den_sum_sq": None,
        "num_den_sum": None,
        "ns_cross_sum": None,
        "parent_cross_sum": None,
    }


_SUMS = (
    "sum",
    "sum_sq",
    "den_sum",
    "den_sum_sq",
    "num_den_sum",
    "ns_cross_sum",
    "parent_cross_sum",
)


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
        frame = pl.DataFrame(
            rows, schema_overrides={"n": pl.Int64} | {c: pl.Float64 for c in _SUMS}
        )
        frames[eid] = frame.with_columns(pl.col(_SUMS).round(2)).sort("variant", "metric")
    return frames


def history_toml_tables() -> list[tuple[str, dict]]:
    """(table name, keys) for experiments.toml: a name, owner, split, and a start and end (two
    weeks, concluded) in the past."""
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
                    "end": (FIRST_START + timedelta(days=14 * i + 13)).isoformat(),
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
