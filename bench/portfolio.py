"""A generated portfolio for timing the app: many experiments in summary form (daily rows).

`write_portfolio(directory)` writes `summary.parquet` (experiment, variant, date, metric, n, sum,
sum_sq: what a warehouse query returns), `metrics.toml` and `experiments.toml`. Defaults: 200
experiments x 15 metrics x 3 variants x 14 days (126,000 rows), seeded. Run as
`python -m bench.portfolio OUT_DIR [--experiments N]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

SEED = 2026
OTHER_ROLES = ("leading",) * 5 + ("vanity",) * 5 + ("guardrail",) * 4
OWNERS = ("Growth", "Onboarding", "Engagement", "Monetization", "Platform")
START = dt.date(2026, 3, 2)


def catalog_toml(metrics: int = 15) -> str:
    """metrics.toml: one North Star, then leading, vanity and guardrail metrics; every third
    a proportion, the rest means."""
    lines = []
    for i in range(metrics):
        role = "north_star" if i == 0 else OTHER_ROLES[(i - 1) % len(OTHER_ROLES)]
        kind = "proportion" if i % 3 == 1 else "mean"
        direction = "decrease" if role == "guardrail" else "increase"
        lines += [
            f"[metrics.m{i:02d}]",
            f'label = "Metric {i:02d}"',
            f'role = "{role}"',
            f'type = "{kind}"',
            f'direction = "{direction}"',
            "practical_threshold = 0.02",
            "",
        ]
    return "\n".join(lines)


def experiments_toml(experiments: int) -> str:
    """experiments.toml: a name, an owner and a start date per experiment."""
    lines = []
    for e in range(experiments):
        lines += [
            f"[experiments.exp{e:03d}]",
            f'name = "Generated experiment {e:03d}"',
            f'owner = "{OWNERS[e % len(OWNERS)]}"',
            'control = "control"',
            f'start = "{START + dt.timedelta(days=e % 60)}"',
            "",
        ]
    return "\n".join(lines)


def summary_frame(
    experiments: int = 200, metrics: int = 15, variants: int = 3, days: int = 14, seed: int = SEED
) -> pl.DataFrame:
    """Daily summary rows with small true effects on some metrics of some treatments."""
    rng = np.random.default_rng(seed)
    arms = ["control", *(f"treatment_{chr(97 + v)}" for v in range(variants - 1))]
    e, a, d, m = np.meshgrid(
        np.arange(experiments),
        np.arange(variants),
        np.arange(days),
        np.arange(metrics),
        indexing="ij",
    )
    e, a, d, m = e.ravel(), a.ravel(), d.ravel(), m.ravel()
    n = rng.poisson(300, e.size) + 2
    lift = np.where(a > 0, rng.normal(0, 0.03, (experiments, variants, metrics))[e, a, m], 0.0)
    proportion = m % 3 == 1
    base = np.where(proportion, 0.3, 5.0)
    mean = base * (1 + lift)
    ones = rng.binomial(n, np.clip(mean, 0, 1))
    sd = mean * 0.8
    sample_mean = mean + rng.normal(0, 1, e.size) * sd / np.sqrt(n)
    total = np.where(proportion, ones, n * sample_mean)
    sum_sq = np.where(proportion, ones, (n - 1) * sd**2 + n * sample_mean**2)
    return pl.DataFrame(
        {
            "experiment": [f"exp{i:03d}" for i in e],
            "variant": np.array(arms)[a],
            "date": [START + dt.timedelta(days=int(i)) for i in d],
            "metric": [f"m{i:02d}" for i in m],
            "n": n,
            "sum": total.astype(float),
            "sum_sq": sum_sq.astype(float),
        }
    )


def write_portfolio(
    directory: Path, experiments: int = 200, metrics: int = 15, variants: int = 3, days: int = 14
) -> Path:
    """Write the generated portfolio (summary Parquet and both TOML files) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary_frame(experiments, metrics, variants, days).write_parquet(directory / "summary.parquet")
    (directory / "metrics.toml").write_text(catalog_toml(metrics), encoding="utf-8")
    (directory / "experiments.toml").write_text(experiments_toml(experiments), encoding="utf-8")
    return directory


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.portfolio OUT_DIR`: write the generated portfolio there."""
    parser = argparse.ArgumentParser(prog="python -m bench.portfolio", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--metrics", type=int, default=15)
    parser.add_argument("--variants", type=int, default=3)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args(argv)
    write_portfolio(args.out, args.experiments, args.metrics, args.variants, args.days)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
