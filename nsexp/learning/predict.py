"""The readout's records of what the portfolio predicts for each comparison: the predicted North
Star effect, the false-positive risk of a win and Twyman alerts (nsexp.analysis.learned).

Every figure for a comparison is learned from the other experiments' valid comparisons only
(leave one experiment out), on the direction-oriented relative lifts of the readout; it is
turned back into the metric's own direction for people. The prediction's interval allows for the
estimation error of the learned prior (nsexp.stats.prediction.with_estimation_error). It uses the
North Star and
its validated inputs: metrics in the tree (a chain of parents up to the North Star) whose edge to
the North Star is labelled predictive (nsexp.learning.tree). The within-experiment covariance
of a metric with the North Star is the computed one (nsexp.analysis.within) where the data has
cross sums, else zero; two inputs' estimates are taken as independent unless one is the other's
parent.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from nsexp.analysis import verdict
from nsexp.analysis.learned import FalsePositiveRisk, Learned, NorthStarPrediction, TwymanAlert
from nsexp.analysis.priors import PRIOR_SCHEMA
from nsexp.analysis.readout import Judgement
from nsexp.learning.tree import MIN_COMPARISONS, TreeEvidence, valid_results
from nsexp.stats import dist
from nsexp.stats.prediction import (
    TWYMAN_LEVEL,
    false_positive_risk,
    marginal_priors,
    predicted_north_star,
    predictive_range,
    prior_null,
    win_power,
    with_mean_error,
)

Key = tuple[str, str]


def validated_inputs(evidence: TreeEvidence) -> list[str]:
    """The validated inputs (nsexp.analysis.verdict.validated_inputs: leading metrics whose
    every edge up the tree is predictive), the metrics the prediction borrows from."""
    return list(verdict.validated_inputs(evidence.catalog, evidence.edges))


def _effects(
    readout: Judgement, metrics: list[str], valid: pl.DataFrame | None
) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """The valid comparisons, their oriented effects and standard errors (n, k); NaN where a
    metric was not measured or has no spread (`valid`: the readout's valid_results, where the
    caller has them)."""
    rows = (valid_results(readout) if valid is None else valid).filter(
        pl.col("metric").is_in(metrics)
    )
    keys = rows.select("experiment", "variant").unique().sort("experiment", "variant")
    effect, se = _grid(rows, keys, metrics, "effect", "se")
    ok = np.isfinite(se) & (se > 0)
    return keys, np.where(ok, effect, np.nan), np.where(ok, se, np.nan)


def _grid(
    rows: pl.DataFrame, keys: pl.DataFrame, metrics: list[str], *columns: str
) -> list[np.ndarray]:
    """Each column of `rows` (one row per comparison and metric) as a (keys, metrics) array in
    the order of `keys` and `metrics`: NaN where a comparison has no such row or a null."""
    at = rows.join(keys.with_row_index("_row"), on=["experiment", "variant"]).filter(
        pl.col("metric").is_in(metrics)
    )
    row = at["_row"].to_numpy()
    col = at["metric"].replace_strict({m: i for i, m in enumerate(metrics)}, return_dtype=pl.Int64)
    out = []
    for name in columns:
        grid = np.full((keys.height, len(metrics)), np.nan)
        grid[row, col.to_numpy()] = at[name].cast(pl.Float64).to_numpy()
        out.append(grid)
    return out


def _sampling_cov(
    readout: Judgement, keys: pl.DataFrame, model: list[str], se: np.ndarray
) -> np.ndarray:
    """(n, m, m) sampling covariances of the model metrics' oriented effects: the variances,
    and the within-experiment covariances where the cross sums gave them (else zero)."""
    index = {m: i for i, m in enumerate(model)}
    cov = np.zeros((keys.height, len(model), len(model)))
    cov[:, np.arange(len(model)), np.arange(len(model))] = np.nan_to_num(se) ** 2
    signs = {m: readout.catalog.metrics[m].sign for m in model}
    within = readout.within.join(keys.with_row_index("_row"), on=["experiment", "variant"])
    pair = pl.col("metric").is_in(model) & pl.col("other").is_in(model)
    within = within.filter(pair & pl.col("lift_cov").is_not_null())
    if within.height:
        row = within["_row"].to_numpy()
        a = within["metric"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
        b = within["other"].replace_strict(index, return_dtype=pl.Int64).to_numpy()
        sign = np.array([signs[m] for m in model], float)
        value = within["lift_cov"].to_numpy() * sign[a] * sign[b]
        cov[row, a, b] = value
        cov[row, b, a] = value
    return cov


def lift_priors(readout: Judgement, valid: pl.DataFrame | None = None) -> pl.DataFrame:
    """The Bayesian prior of every metric's true relative lift in every experiment (PRIOR_SCHEMA,
    the metric's own direction): Normal(mean, tau²) from the valid comparisons of the other
    experiments (marginal_priors: tau² the variance of their lifts less their mean sampling
    variance, plus one standard error of that correction; with_mean_error: plus the error of
    the mean), where there are at least MIN_COMPARISONS of them; mean and sd null where fewer
    (the readout then uses the default). An experiment with no valid comparison gets the prior
    of all of them (`valid` as for _effects)."""
    catalog = readout.catalog
    metrics = list(catalog.metrics)
    keys, y, se = _effects(readout, metrics, valid)
    seen = set(keys["experiment"])
    missing = [e for e in sorted(readout.experiments) if e not in seen]
    groups = np.concatenate([keys["experiment"].to_numpy().astype(object), missing])
    if groups.size == 0:
        return pl.DataFrame(schema=PRIOR_SCHEMA)
    blank = np.full((len(missing), len(metrics)), np.nan)
    own = with_mean_error(
        marginal_priors(np.vstack([y, blank]), np.vstack([se, blank]) ** 2, groups)
    )
    experiments, first = np.unique(groups, return_index=True)
    sign = np.array([catalog.metrics[m].sign for m in metrics], float)
    mean, tau2, counts = sign * own.mean[first], own.cov[first], own.counts[first]
    with np.errstate(invalid="ignore"):
        learned = (counts >= MIN_COMPARISONS) & np.isfinite(mean) & (tau2 > 0)
    k = len(metrics)
    return pl.DataFrame(
        {
            "experiment": np.repeat(experiments, k).astype(str),
            "metric": np.tile(np.array(metrics, dtype=object), experiments.size).astype(str),
            "prior_mean": np.where(learned, mean, np.nan).ravel(),
            "prior_sd": np.where(learned, np.sqrt(tau2), np.nan).ravel(),
            "prior_comparisons": counts.ravel().astype(np.int64),
        },
        schema=PRIOR_SCHEMA,
    ).with_columns(pl.col("prior_mean", "prior_sd").fill_nan(None))


def learned_records(
    readout: Judgement, evidence: TreeEvidence, valid: pl.DataFrame | None = None
) -> dict[Key, Learned]:
    """Per valid comparison: the predicted North Star, the false-positive risk, the alerts.

    The prediction's prior is learned over the North Star and its validated inputs only; the
    alerts need each metric's own prior, (n, k) however many metrics the catalog holds (`valid`
    as for _effects)."""
    catalog = readout.catalog
    ns = catalog.north_star
    metrics = [ns.id, *(m.id for m in catalog.metrics.values() if m.id != ns.id)]
    keys, y, se = _effects(readout, metrics, valid)
    if keys.height == 0:
        return {}
    groups = keys["experiment"].to_numpy()
    inputs = set(validated_inputs(evidence))
    model = [m for m in metrics if m == ns.id or m in inputs]
    cols = [metrics.index(m) for m in model]
    s = _sampling_cov(readout, keys, model, se[:, cols])
    post, prior = predicted_north_star(y[:, cols], s, groups, np.ones((keys.height, len(model))))
    own = marginal_priors(y, se**2, groups)
    low, high = predictive_range(se, own)
    risk = _risk(readout, keys, y[:, 0], se[:, 0], groups)
    level = 1 - readout.settings.alpha
    z = float(dist.norm_ppf(0.5 + level / 2))
    alerts = _alerts(readout, metrics, y, (low, high), own.counts, _moved(readout, keys, metrics))
    used = np.isfinite(y[:, cols])
    out = {}
    for i, key in enumerate(keys.iter_rows()):
        sources = tuple(m for m, u in zip(model, used[i], strict=True) if u)
        out[key] = Learned(
            prediction=_prediction(
                post.mean[i],
                post.sd[i],
                z,
                ns.sign,
                level,
                sources,
                int(prior.counts[i, 0, 0]),
                prior.cov[i, 0, 0],
            ),
            false_positive_risk=risk[i],
            alerts=alerts.get(i, ()),
        )
    return out


def _prediction(
    mean: float,
    sd: float,
    z: float,
    sign: int,
    level: float,
    sources: tuple[str, ...],
    n_history: int,
    tau2: float,
) -> NorthStarPrediction:
    """The record, or why there is none (too little history, no spread of true effects)."""
    if n_history < MIN_COMPARISONS:
        need = MIN_COMPARISONS - n_history
        return NorthStarPrediction(
            None,
            None,
            None,
            level,
            (),
            n_history,
            reason=f"{n_history} comparisons in other experiments; the model needs "
            f"{MIN_COMPARISONS} ({need} more)",
            comparisons_needed=need,
        )
    if not tau2 > 0 or not np.isfinite(mean):
        return NorthStarPrediction(
            None,
            None,
            None,
            level,
            (),
            n_history,
            reason="the North Star's true effects do not vary beyond noise in the history",
        )
    ends = sorted((sign * (mean - z * sd), sign * (mean + z * sd)))
    return NorthStarPrediction(
        float(sign * mean), float(ends[0]), float(ends[1]), level, sources, n_history
    )


def _moved(readout: Judgement, keys: pl.DataFrame, metrics: list[str]) -> np.ndarray:
    """(n, k): whether each metric moved significantly in each comparison."""
    (flags,) = _grid(readout.results, keys, metrics, "significant")
    return np.nan_to_num(flags) > 0


def _alerts(
    readout: Judgement,
    metrics: list[str],
    y: np.ndarray,
    bounds: tuple[np.ndarray, np.ndarray],
    counts: np.ndarray,
    moved: np.ndarray,
) -> dict[int, tuple[TwymanAlert, ...]]:
    """Per comparison row: the metrics that moved to outside the 99.9% predictive range, with
    enough history (one vectorised test; records only for the few flagged)."""
    low, high = bounds
    with np.errstate(invalid="ignore"):
        history = counts >= MIN_COMPARISONS
        flagged = moved & history & ((y > high) | (y < low))
    out: dict[int, list[TwymanAlert]] = {}
    for i, j in np.argwhere(flagged):
        m = readout.catalog.metrics[metrics[j]]
        ends = sorted((m.sign * low[i, j], m.sign * high[i, j]))
        alert = TwymanAlert(
            m.id,
            m.label,
            float(m.sign * y[i, j]),
            float(ends[0]),
            float(ends[1]),
            TWYMAN_LEVEL,
            bool(y[i, j] > high[i, j]),
        )
        out.setdefault(int(i), []).append(alert)
    return {i: tuple(a) for i, a in out.items()}


def _risk(
    readout: Judgement, keys: pl.DataFrame, effect: np.ndarray, se: np.ndarray, groups: np.ndarray
) -> list[FalsePositiveRisk]:
    """Each comparison's false-positive risk from the other experiments' success rate."""
    alpha = readout.settings.alpha
    threshold = readout.catalog.north_star.practical_threshold
    ns = readout.results.filter(pl.col("role") == "north_star")
    wins = keys.join(
        ns.select("experiment", "variant", "better"), on=["experiment", "variant"], how="left"
    )
    won = wins["better"].fill_null(False).to_numpy().astype(float)
    power = win_power(threshold, se, alpha)
    valid = np.isfinite(effect) & np.isfinite(power)
    codes = np.unique(groups, return_inverse=True)[1]

    def others(values: np.ndarray) -> np.ndarray:
        per = np.bincount(codes, weights=np.where(valid, values, 0.0))
        return (per.sum() - per)[codes]

    n_hist, n_wins = others(np.ones_like(won)), others(won)
    with np.errstate(divide="ignore", invalid="ignore"):
        success, typical = n_wins / n_hist, others(np.nan_to_num(power)) / n_hist
    null = prior_null(success, alpha, typical)
    risk = false_positive_risk(alpha, power, null)
    out = []
    for i in range(keys.height):
        n = int(n_hist[i])
        if n < MIN_COMPARISONS or not np.isfinite(risk[i]):
            need = max(MIN_COMPARISONS - n, 0)
            out.append(
                FalsePositiveRisk(
                    None,
                    alpha,
                    _finite(power[i]),
                    None,
                    None,
                    n,
                    int(n_wins[i]),
                    reason="too little history",
                    comparisons_needed=need,
                )
            )
            continue
        out.append(
            FalsePositiveRisk(
                float(risk[i]),
                alpha,
                float(power[i]),
                float(success[i]),
                float(null[i]),
                n,
                int(n_wins[i]),
            )
        )
    return out


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
