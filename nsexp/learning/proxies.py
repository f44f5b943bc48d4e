"""Learn from the experiment history: which metrics predict the North Star, and how much of the
reported North Star wins is real.

Effects are relative lifts (treatment ÷ control − 1) with their delta-method standard errors,
oriented by each metric's direction (×−1 for "decrease" metrics), so effects of metrics on
different scales and experiments of different sizes are comparable, and a positive correlation
always means "improving the metric goes with improving the North Star". Only valid comparisons
count (every treatment-versus-control comparison whose verdict is not `invalid`).

Per metric (`proxy_quality`):
- `n_moved`: comparisons where the metric moved significantly (adjusted p < alpha);
- `sign_agreement`: among those, the share where the North Star's effect had the same sign;
  `ns_followed_share`: the share where the North Star also moved significantly that way;
- `corrected_correlation`: correlation of the *true* effects, by the method of moments
  (nsexp.stats.meta): covariance of the estimates across experiments minus the mean
  within-experiment sampling covariance, over the product of noise-corrected standard
  deviations (Tripuraneni et al. 2023). The within-experiment covariance of the two estimates
  needs unit-level cross sums of metric × North Star, which the summary tables do not carry:
  it is assumed zero (`within_covariance = "assumed_zero"`) unless given;
- a 95% percentile interval from a seeded bootstrap that resamples whole experiments;
- `label`, first that applies:
  `too_few`: fewer than MIN_COMPARISONS comparisons (`comparisons_needed` says how many);
  `predictive`: corrected correlation >= PREDICTIVE_CORRELATION and the interval above 0;
  `vanity`: moved in >= VANITY_MIN_MOVED comparisons, the North Star followed fewer than
  VANITY_MAX_FOLLOWED of them, and the corrected correlation < VANITY_MAX_CORRELATION
  (or undefined: its true effects do not vary beyond noise alongside the North Star's);
  `weak`: anything else.

Cumulative North Star impact (`cumulative_impact`): the sum of the North Star's relative effects
over the `north_star_win` comparisons, naive and after empirical-Bayes shrinkage of every
estimate toward the portfolio's distribution of true effects (normal-normal, prior fitted by
the method of moments over all valid comparisons), which corrects the winner's curse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from nsexp.analysis.readout import Judgement, Readout
from nsexp.stats.meta import effect_correlation, shrink

Label = Literal["predictive", "weak", "vanity", "too_few"]
LABELS: tuple[Label, ...] = ("predictive", "weak", "vanity", "too_few")
LABEL_MEANINGS: dict[str, str] = {
    "predictive": "experiments that move it also move the North Star",
    "weak": "it tracks the North Star loosely, or the record cannot tell yet",
    "vanity": "it moves often, and the North Star does not follow",
    "too_few": "not enough experiments to judge",
}
MIN_COMPARISONS = 20
PREDICTIVE_CORRELATION = 0.5
VANITY_MIN_MOVED = 3
VANITY_MAX_FOLLOWED = 0.5
VANITY_MAX_CORRELATION = 0.3
N_BOOT = 2000
SEED = 2023
LEVEL = 0.95

COMPARISON_COLUMNS = (
    "experiment",
    "variant",
    "metric",
    "role",
    "effect",
    "se",
    "significant",
    "ns_effect",
    "ns_se",
    "ns_significant",
)


@dataclass(frozen=True)
class Impact:
    """Cumulative North Star impact of the wins, naive and shrunk for the winner's curse."""

    metric: str
    n_comparisons: int
    n_wins: int
    naive_total: float
    shrunk_total: float
    shrunk_total_sd: float
    prior_mean: float
    prior_sd: float
    wins: pl.DataFrame

    @property
    def real_share(self) -> float | None:
        """Shrunk total ÷ naive total: how much of the reported lift is likely real."""
        return self.shrunk_total / self.naive_total if self.naive_total > 0 else None


def valid_results(judged: Readout | Judgement) -> pl.DataFrame:
    """The result rows of valid comparisons (verdict not `invalid`), with the verdict."""
    verdicts = judged.verdicts.select("experiment", "variant", "verdict")
    return judged.results.join(verdicts, on=["experiment", "variant"]).filter(
        pl.col("verdict") != "invalid"
    )


def comparisons(readout: Readout | Judgement) -> pl.DataFrame:
    """One row per valid comparison x non-North-Star metric, beside the North Star's effect."""
    rows = valid_results(readout).with_columns(
        (
            pl.col("rel_effect") * pl.when(pl.col("direction") == "decrease").then(-1).otherwise(1)
        ).alias("effect"),
        pl.col("rel_se").alias("se"),
    )
    ns = rows.filter(pl.col("role") == "north_star").select(
        "experiment",
        "variant",
        pl.col("effect").alias("ns_effect"),
        pl.col("se").alias("ns_se"),
        pl.col("significant").alias("ns_significant"),
    )
    return (
        rows.filter(pl.col("role") != "north_star")
        .join(ns, on=["experiment", "variant"])
        .select(COMPARISON_COLUMNS)
        .drop_nulls(["effect", "se", "ns_effect", "ns_se"])
        .filter((pl.col("se") > 0) & (pl.col("ns_se") > 0))
    )


def _label(n: int, n_moved: int, followed_share: float, corr: float, low: float) -> Label:
    """The proxy label by the documented thresholds."""
    if n < MIN_COMPARISONS:
        return "too_few"
    if np.isfinite(corr) and corr >= PREDICTIVE_CORRELATION and low > 0:
        return "predictive"
    moves = n_moved >= VANITY_MIN_MOVED and followed_share < VANITY_MAX_FOLLOWED
    if moves and not (np.isfinite(corr) and corr >= VANITY_MAX_CORRELATION):
        return "vanity"
    return "weak"


def proxy_quality(
    frame: pl.DataFrame,
    *,
    within_cov: str | None = None,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    level: float = LEVEL,
) -> pl.DataFrame:
    """One row per metric from a comparisons frame (see COMPARISON_COLUMNS), ranked by quality.

    `within_cov` names a column with each comparison's sampling covariance of (effect,
    ns_effect); without it that covariance is assumed zero.
    """
    records = []
    for (metric,), part in frame.sort("metric").group_by("metric", maintain_order=True):
        x, y = part["effect"].to_numpy(), part["ns_effect"].to_numpy()
        moved = part["significant"].fill_null(False).to_numpy()
        ns_moved = part["ns_significant"].fill_null(False).to_numpy()
        same = np.sign(x) == np.sign(y)
        n, n_moved = x.size, int(moved.sum())
        n_same, n_followed = int((moved & same).sum()), int((moved & same & ns_moved).sum())
        cov = part[within_cov].to_numpy() if within_cov else None
        est = effect_correlation(
            x,
            y,
            part["se"].to_numpy(),
            part["ns_se"].to_numpy(),
            cov,
            part["experiment"].rank("dense").to_numpy(),  # integer groups: a fast unique
            level=level,
            n_boot=n_boot,
            seed=seed,
        )
        followed_share = n_followed / n_moved if n_moved else np.nan
        label = _label(n, n_moved, followed_share, est.corrected, est.ci_low)
        records.append(
            {
                "metric": metric,
                "role": part["role"][0],
                "n_comparisons": n,
                "n_experiments": part["experiment"].n_unique(),
                "n_moved": n_moved,
                "n_same_sign": n_same,
                "n_ns_followed": n_followed,
                "sign_agreement": n_same / n_moved if n_moved else None,
                "ns_followed_share": n_followed / n_moved if n_moved else None,
                "naive_correlation": est.naive,
                "corrected_correlation": est.corrected,
                "correlation_ci_low": est.ci_low,
                "correlation_ci_high": est.ci_high,
                "slope": est.slope,
                "intercept": est.intercept,
                "true_sd": est.true_sd_x,
                "ns_true_sd": est.true_sd_y,
                "within_covariance": "estimated" if within_cov else "assumed_zero",
                "label": label,
                "comparisons_needed": max(MIN_COMPARISONS - n, 0),
            }
        )
    schema_hint = {"sign_agreement": pl.Float64, "ns_followed_share": pl.Float64}
    table = pl.DataFrame(records, schema_overrides=schema_hint, infer_schema_length=None)
    if table.height == 0:
        return table
    return (
        table.with_columns(pl.col(pl.Float64).fill_nan(None))
        .with_columns(
            pl.col("label").replace_strict(LABELS, list(range(len(LABELS)))).alias("_order")
        )
        .sort("_order", "corrected_correlation", descending=[False, True], nulls_last=True)
        .drop("_order")
    )


def proxies(readout: Readout, *, n_boot: int = N_BOOT, seed: int = SEED) -> pl.DataFrame:
    """Proxy quality of every non-North-Star metric over the readout's valid comparisons."""
    return proxy_quality(comparisons(readout), n_boot=n_boot, seed=seed)


def cumulative_impact(readout: Readout) -> Impact:
    """Sum of the North Star effects of the wins: naive, and shrunk for the winner's curse."""
    ns = valid_results(readout).filter(pl.col("role") == "north_star")
    ns = ns.drop_nulls(["rel_effect", "rel_se"]).filter(pl.col("rel_se") > 0)
    est, se = ns["rel_effect"].to_numpy(), ns["rel_se"].to_numpy()
    fit = shrink(est, se) if est.size else None
    with_post = ns.select(
        "experiment", "variant", "verdict", "rel_effect", "rel_se", "rel_ci_low", "rel_ci_high"
    ).with_columns(
        pl.Series("shrunk_effect", fit.posterior_mean if fit else [], dtype=pl.Float64),
        pl.Series("shrunk_sd", fit.posterior_sd if fit else [], dtype=pl.Float64),
    )
    wins = with_post.filter(pl.col("verdict") == "north_star_win")
    return Impact(
        metric=readout.catalog.north_star.id,
        n_comparisons=ns.height,
        n_wins=wins.height,
        naive_total=float(wins["rel_effect"].sum()),
        shrunk_total=float(wins["shrunk_effect"].sum()),
        shrunk_total_sd=math.sqrt(float((wins["shrunk_sd"] ** 2).sum())),
        prior_mean=fit.prior_mean if fit else float("nan"),
        prior_sd=float(np.sqrt(fit.prior_var)) if fit else float("nan"),
        wins=wins,
    )
