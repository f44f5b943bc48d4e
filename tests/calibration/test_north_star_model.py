"""Calibration of the North Star tree's evidence and the predicted North Star effect, on
portfolios drawn from the model with a known truth.

Each portfolio: K experiments whose true relative effects on (North Star, a predictive input P,
a metric V) are drawn from N(μ, Σ): corr(North Star, P) = 0.9, corr(North Star, V) = 0; each
comparison's estimates are the truth plus sampling noise whose within-experiment correlation
with the North Star's is 0.3 for P and 0.8 for V (V is the metric built from the same actions
as the North Star: the case that fools a raw correlation). Every comparison's prediction is made
from the other K − 1 experiments, as nsexp does. Bands are four standard errors of the
simulation (computed across portfolios, never from nsexp's output). Figures: docs/calibration.md;
`-s` prints them; the @slow versions run more portfolios and other K (`make bench`).
The predictions' intervals allow for the estimation error of the learned prior
(nsexp.stats.prediction.with_estimation_error): the plug-in posterior alone covers about 93%.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import polars as pl
import pytest
from scipy import stats

from nsexp.learning.tree import Resampling, edge_quality
from nsexp.stats.prediction import leave_one_out_priors, north_star_posterior, predicted_north_star

ALPHA = 0.05
Z = stats.norm.ppf(1 - ALPHA / 2)
MU = np.array([0.003, 0.006, 0.01])
SD = np.array([0.02, 0.05, 0.015])
TRUE_CORR = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
SE = np.array([0.012, 0.02, 0.01])
NOISE_CORR = np.array([[1.0, 0.3, 0.8], [0.3, 1.0, 0.3], [0.8, 0.3, 1.0]])


def draw(rng: np.random.Generator, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True effects (k, 3), estimates (k, 3) and sampling covariances (k, 3, 3)."""
    truth = rng.multivariate_normal(MU, TRUE_CORR * np.outer(SD, SD), size=k)
    se = SE * rng.uniform(0.5, 1.5, (k, 1))
    s = NOISE_CORR * se[:, :, None] * se[:, None, :]
    noise = np.einsum("kij,kj->ki", np.linalg.cholesky(s), rng.standard_normal((k, 3)))
    return truth, truth + noise, s


def labels(y: np.ndarray, s: np.ndarray, within: bool, seed: int) -> dict[str, dict]:
    """The tree's evidence on the edges P -> North Star and V -> North Star (edge_quality)."""
    k = y.shape[0]
    rows = []
    for j, child in ((1, "P"), (2, "V")):
        z = y / np.sqrt(np.diagonal(s, axis1=1, axis2=2))
        rows.append(
            pl.DataFrame(
                {
                    "experiment": [f"e{i:03d}" for i in range(k)],
                    "variant": "t",
                    "child": child,
                    "parent": "NS",
                    "effect": y[:, j],
                    "se": np.sqrt(s[:, j, j]),
                    "significant": np.abs(z[:, j]) > Z,
                    "parent_effect": y[:, 0],
                    "parent_se": np.sqrt(s[:, 0, 0]),
                    "parent_significant": np.abs(z[:, 0]) > Z,
                    "within_cov": s[:, j, 0],
                    "in_tree": True,
                }
            )
        )
    edges = edge_quality(pl.concat(rows), within=within, resampling=Resampling(300, seed))
    return {e.child: asdict(e) for e in edges}


def run(portfolios: int, k: int = 60, seed: int = 2026) -> dict[str, np.ndarray]:
    """Per portfolio: coverage, widths and errors of the predictions; the V edge's correlations."""
    rng = np.random.default_rng(seed)
    out: dict[str, list] = {key: [] for key in FIGURES}
    for r in range(portfolios):
        truth, y, s = draw(rng, k)
        ev = labels(y, s, within=True, seed=r)
        uses = {
            "with_p": [True, ev["P"]["label"] == "predictive", False],
            "always_p": [True, True, False],
            "ns_only": [True, False, False],
            "gated_v": [True, False, ev["V"]["label"] == "predictive"],
        }
        post = {
            name: predicted_north_star(y, s, np.arange(k), np.array([use] * k))[0]
            for name, use in uses.items()
        }
        plain = leave_one_out_priors(y, s, np.arange(k))  # no allowance for estimation error
        post["plug_in"] = north_star_posterior(y, s, plain, np.array([uses["always_p"]] * k))
        raw_half = Z * np.sqrt(s[:, 0, 0])
        for name, p in post.items():
            hit = np.abs(p.mean - truth[:, 0]) <= Z * p.sd
            out[f"coverage_{name}"].append(hit.mean())
            out[f"width_{name}"].append(np.mean(p.sd * Z / raw_half))
            out[f"mse_{name}"].append(np.mean((p.mean - truth[:, 0]) ** 2))
        out["mse_raw"].append(np.mean((y[:, 0] - truth[:, 0]) ** 2))
        out["coverage_raw"].append(np.mean(np.abs(y[:, 0] - truth[:, 0]) <= raw_half))
        naive = np.corrcoef(y[:, 2], y[:, 0])[0, 1]
        out["v_naive"].append(naive)
        out["v_corrected"].append(ev["V"]["corrected_correlation"])
        out["v_assumed_zero"].append(
            labels(y, s, within=False, seed=r)["V"]["corrected_correlation"]
        )
        out["v_predictive"].append(ev["V"]["label"] == "predictive")
        out["p_predictive"].append(ev["P"]["label"] == "predictive")
        out["p_corrected"].append(ev["P"]["corrected_correlation"])
    return {key: np.array(v, dtype=float) for key, v in out.items()}


FIGURES = (
    *(
        f"{m}_{n}"
        for m in ("coverage", "width", "mse")
        for n in ("with_p", "always_p", "ns_only", "gated_v", "plug_in")
    ),
    "mse_raw",
    "coverage_raw",
    "v_naive",
    "v_corrected",
    "v_assumed_zero",
    "v_predictive",
    "p_predictive",
    "p_corrected",
)


def band(values: np.ndarray) -> float:
    """Four standard errors of a mean across portfolios."""
    finite = values[np.isfinite(values)]
    return 4 * finite.std(ddof=1) / np.sqrt(finite.size)


def check(f: dict[str, np.ndarray]) -> None:
    """The promises of the issue, each against the simulation's own uncertainty."""
    for name in ("with_p", "always_p", "ns_only", "gated_v"):
        coverage = f[f"coverage_{name}"]
        assert abs(coverage.mean() - (1 - ALPHA)) < band(coverage), (name, coverage.mean())
    # P is recognised as predictive in most portfolios of 60 (the label's power) ...
    assert f["p_predictive"].mean() - band(f["p_predictive"]) > 0.5
    # ... and where it is, the interval is narrower than the North Star's own (raw) interval and
    # than the North Star's alone (shrunk toward the portfolio)
    found = f["p_predictive"] == 1
    assert f["width_with_p"][found].mean() + band(f["width_with_p"][found]) < (
        f["width_ns_only"][found].mean()
    )
    assert f["width_ns_only"].mean() + band(f["width_ns_only"]) < 1.0
    # ... and no narrower than the North Star alone when none does: V is not used
    assert f["v_predictive"].mean() < 0.05
    np.testing.assert_allclose(
        f["width_gated_v"][f["v_predictive"] == 0], f["width_ns_only"][f["v_predictive"] == 0]
    )
    # corrected correlation recovers 0 for V where the naive one does not: the naive one is
    # about the shared noise over the spreads, E[0.8 se_0 se_V] / sqrt(Var y_0 Var y_V)
    u2 = 13 / 12  # E[u²] of the experiments' size factor u ~ U(0.5, 1.5)
    shared = 0.8 * SE[0] * SE[2] * u2
    naive = shared / np.sqrt((SD[0] ** 2 + SE[0] ** 2 * u2) * (SD[2] ** 2 + SE[2] ** 2 * u2))
    assert abs(np.nanmean(f["v_corrected"])) < band(f["v_corrected"])
    assert abs(np.mean(f["v_naive"]) - naive) < band(f["v_naive"]) < naive / 2
    assert np.nanmean(f["v_assumed_zero"]) - band(f["v_assumed_zero"]) > naive / 2
    # shrunk estimates beat the raw ones against the truth, more so with the input
    assert f["mse_ns_only"].mean() + band(f["mse_ns_only"]) < f["mse_raw"].mean()
    assert f["mse_with_p"].mean() + band(f["mse_with_p"]) < f["mse_ns_only"].mean()


def report(f: dict[str, np.ndarray]) -> None:
    for key in FIGURES:
        print(f"{key:18s} {np.nanmean(f[key]):.4g} ± {band(f[key]) / 4:.2g}")


def test_prediction_and_edge_evidence_are_calibrated() -> None:
    figures = run(200)
    report(figures)
    check(figures)


@pytest.mark.slow
@pytest.mark.parametrize(("k", "portfolios"), [(60, 2000), (120, 1000)])
def test_prediction_and_edge_evidence_are_calibrated_long(k: int, portfolios: int) -> None:
    figures = run(portfolios, k=k, seed=7)
    print(f"K = {k}, {portfolios} portfolios")
    report(figures)
    check(figures)
