"""Every statistic against an independent computation on the same unit-level data, to 1e-9.

References: scipy's Welch t-test for mean metrics, statsmodels' Wald (unpooled) two-proportion
z-test for proportions, and a numpy delta-method formula (np.cov on the raw per-unit values) for
ratio metrics and for the relative lift. They run on the unit rows, not on nsexp's sums.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import polars as pl
import pytest
from helpers import METRICS, make_units, write_frame, write_metrics
from scipy import stats
from statsmodels.stats import proportion as smp

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.io import load_dataset
from nsexp.stats.arms import ArmSums
from nsexp.stats.compare import compare

RTOL = 1e-9


class Reference(NamedTuple):
    """Independently computed figures for one metric x treatment."""

    control_mean: float
    treatment_mean: float
    abs_effect: float
    abs_ci_low: float
    abs_ci_high: float
    rel_effect: float
    rel_ci_low: float
    rel_ci_high: float
    statistic: float
    df: float
    p_value: float


def values(frame: pl.DataFrame, variant: str, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit numerator (the value) and denominator (ones unless ratio) of one arm."""
    arm = frame.filter(pl.col("variant") == variant)
    spec = METRICS[metric]
    if spec["type"] == "ratio":
        return (
            arm[spec["numerator"]].cast(pl.Float64).to_numpy(),
            arm[spec["denominator"]].cast(pl.Float64).to_numpy(),
        )
    x = arm[spec.get("column", metric)].cast(pl.Float64).to_numpy()
    return x, np.ones_like(x)


def reference(
    kind: str,
    control: tuple[np.ndarray, np.ndarray],
    treatment: tuple[np.ndarray, np.ndarray],
    alpha: float,
) -> Reference:
    """Test treatment against control with scipy/statsmodels/numpy on the raw unit values."""
    (yc, xc), (yt, xt) = control, treatment
    nc, nt = len(yc), len(yt)
    if kind == "mean":
        res = stats.ttest_ind(yt, yc, equal_var=False)
        ci = res.confidence_interval(1 - alpha)
        mc, mt = yc.mean(), yt.mean()
        vc, vt = np.var(yc, ddof=1) / nc, np.var(yt, ddof=1) / nt
        stat, df, p = res.statistic, res.df, res.pvalue
        low, high = ci.low, ci.high
    elif kind == "proportion":
        cc, ct = yc.sum(), yt.sum()
        res = smp.test_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff")
        few = min(cc, nc - cc, ct, nt - ct) < 10  # exact methods (nsexp.stats.exact)
        method = "newcomb" if few else "wald"
        low, high = smp.confint_proportions_2indep(
            ct, nt, cc, nc, method=method, compare="diff", alpha=alpha
        )
        mc, mt = cc / nc, ct / nt
        vc, vt = mc * (1 - mc) / nc, mt * (1 - mt) / nt
        stat, df, p = res.statistic, np.inf, res.pvalue
        if few:
            p = stats.fisher_exact([[cc, nc - cc], [ct, nt - ct]]).pvalue
    else:  # ratio: delta method with the sample covariance matrix of (numerator, denominator)

        def arm(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
            r = y.sum() / x.sum()
            cov = np.cov(y, x)
            var = (cov[0, 0] - 2 * r * cov[0, 1] + r**2 * cov[1, 1]) / (len(y) * x.mean() ** 2)
            return r, var

        (mc, vc), (mt, vt) = arm(yc, xc), arm(yt, xt)
        se = np.sqrt(vc + vt)
        stat, df = (mt - mc) / se, np.inf
        p = 2 * stats.norm.sf(abs(stat))
        z = stats.norm.ppf(1 - alpha / 2)
        low, high = mt - mc - z * se, mt - mc + z * se
    crit = stats.t.ppf(1 - alpha / 2, df) if np.isfinite(df) else stats.norm.ppf(1 - alpha / 2)
    rel = mt / mc - 1
    rel_se = np.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
    rel_low, rel_high = rel - crit * rel_se, rel + crit * rel_se
    if kind == "proportion" and few:  # adjusted log ratio (statsmodels' default for ratios)
        ratio = smp.confint_proportions_2indep(
            ct, nt, cc, nc, method="log-adjusted", compare="ratio", alpha=alpha
        )
        rel_low, rel_high = (-1.0 if ct == 0 else ratio[0] - 1), ratio[1] - 1
    elif mc > 0 and mt > 0 and (rel_low < -1 or crit**2 * vc / mc**2 > 0.1):
        # the log-ratio interval: the delta method on log(mt / mc)
        half = crit * np.sqrt(vt / mt**2 + vc / mc**2)
        rel_low, rel_high = mt / mc * np.exp(-half) - 1, mt / mc * np.exp(half) - 1
    return Reference(
        control_mean=mc,
        treatment_mean=mt,
        abs_effect=mt - mc,
        abs_ci_low=low,
        abs_ci_high=high,
        rel_effect=rel,
        rel_ci_low=rel_low,
        rel_ci_high=rel_high,
        statistic=stat,
        df=df,
        p_value=p,
    )


def arm_sums(num: np.ndarray, den: np.ndarray, ratio: bool) -> ArmSums:
    """Sufficient statistics summed directly in numpy (denominator sums only for ratios)."""
    nan = np.nan
    return ArmSums(
        n=np.array([float(len(num))]),
        sum=np.array([num.sum()]),
        sum_sq=np.array([(num * num).sum()]),
        den_sum=np.array([den.sum() if ratio else nan]),
        den_sum_sq=np.array([(den * den).sum() if ratio else nan]),
        num_den_sum=np.array([(num * den).sum() if ratio else nan]),
    )


def assert_matches(got: dict[str, Any], ref: Reference, fields: tuple[str, ...]) -> None:
    """Every named field of `got` equals the reference to 1e-9 (relative)."""
    for name in fields:
        want = getattr(ref, name)
        assert got[name] == pytest.approx(want, rel=RTOL, abs=0), name


ALL_FIELDS = Reference._fields
RESULT_FIELDS = tuple(f for f in ALL_FIELDS if f not in ("statistic", "df"))


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_pure_compare_matches_references(units: pl.DataFrame, metric: str, alpha: float) -> None:
    kind = METRICS[metric]["type"]
    kinds = np.array([kind])
    for variant in ("alpha", "beta"):
        c, t = values(units, "control", metric), values(units, variant, metric)
        ratio = kind == "ratio"
        got = compare(kinds, arm_sums(*c, ratio), arm_sums(*t, ratio), alpha)
        ref = reference(kind, c, t, alpha)
        assert_matches({k: float(getattr(got, k)[0]) for k in ALL_FIELDS}, ref, ALL_FIELDS)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_full_path_matches_references(tmp_path: Path, units: pl.DataFrame, suffix: str) -> None:
    write_frame(units, tmp_path / f"checkout{suffix}")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path), Settings(alpha=0.05, correction="none"))
    rows = readout.results.to_dicts()
    assert len(rows) == 2 * len(METRICS)
    for row in rows:
        assert row["experiment"] == "checkout"
        c = values(units, "control", row["metric"])
        t = values(units, row["variant"], row["metric"])
        ref = reference(METRICS[row["metric"]]["type"], c, t, 0.05)
        assert_matches(row, ref, RESULT_FIELDS)
        assert row["n_control"] == len(c[0]) and row["n_treatment"] == len(t[0])
        assert row["p_adjusted"] == row["p_value"]


def test_summary_rows_match_references(tmp_path: Path, units: pl.DataFrame) -> None:
    """A warehouse-style summary file (sums taken in numpy) gives the same figures."""
    records = []
    for metric, spec in METRICS.items():
        for variant in ("control", "alpha", "beta"):
            num, den = values(units, variant, metric)
            row = {
                "experiment": "checkout",
                "variant": variant,
                "metric": metric,
                "n": len(num),
                "sum": num.sum(),
                "sum_sq": (num * num).sum(),
            }
            if spec["type"] == "ratio":
                row |= {
                    "den_sum": den.sum(),
                    "den_sum_sq": (den * den).sum(),
                    "num_den_sum": (num * den).sum(),
                }
            records.append(row)
    pl.DataFrame(records).write_csv(tmp_path / "warehouse.csv")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path), Settings(alpha=0.1, correction="none"))
    for row in readout.results.to_dicts():
        c = values(units, "control", row["metric"])
        t = values(units, row["variant"], row["metric"])
        assert_matches(row, reference(METRICS[row["metric"]]["type"], c, t, 0.1), RESULT_FIELDS)


def test_proportions_use_the_unpooled_wald_test_not_the_pooled_one(units: pl.DataFrame) -> None:
    """nsexp matches statsmodels' Wald test; the pooled proportions_ztest is a different test."""
    c, t = values(units, "control", "errors"), values(units, "beta", "errors")
    got = compare(np.array(["proportion"]), arm_sums(*c, False), arm_sums(*t, False), 0.05).p_value[
        0
    ]
    counts = np.array([t[0].sum(), c[0].sum()])
    nobs = np.array([len(t[0]), len(c[0])])
    _, pooled = smp.proportions_ztest(counts, nobs)
    wald = smp.test_proportions_2indep(counts[0], nobs[0], counts[1], nobs[1], method="wald").pvalue
    assert got == pytest.approx(wald, rel=RTOL, abs=0)
    assert got != pytest.approx(pooled, rel=1e-4)


def test_relative_lift_of_a_decrease_metric_is_signed_by_the_data(units: pl.DataFrame) -> None:
    """Relative lift is treatment / control - 1 whatever the direction; better is judged apart."""
    c, t = values(units, "control", "errors"), values(units, "beta", "errors")
    ref = reference("proportion", c, t, 0.05)
    assert ref.rel_effect > 0.3  # beta raises errors by ~60%
    got = compare(np.array(["proportion"]), arm_sums(*c, False), arm_sums(*t, False), 0.05)
    assert got.rel_effect[0] == pytest.approx(ref.rel_effect, rel=RTOL, abs=0)


def test_many_metrics_in_one_call_equal_one_at_a_time(units: pl.DataFrame) -> None:
    """The vectorised call over mixed kinds gives each entry what a lone call gives."""
    kinds = np.array([METRICS[m]["type"] for m in METRICS])
    c = [
        arm_sums(*values(units, "control", m), k == "ratio")
        for m, k in zip(METRICS, kinds, strict=True)
    ]
    t = [
        arm_sums(*values(units, "alpha", m), k == "ratio")
        for m, k in zip(METRICS, kinds, strict=True)
    ]
    # the raw sums only (the centred moments are left at their NaN default, derived from them)
    stacked_c = ArmSums(*(np.concatenate(x) for x in zip(*(a[:6] for a in c), strict=True)))
    stacked_t = ArmSums(*(np.concatenate(x) for x in zip(*(a[:6] for a in t), strict=True)))
    together = compare(kinds, stacked_c, stacked_t, 0.05)
    for i, kind in enumerate(kinds):
        alone = compare(np.array([kind]), c[i], t[i], 0.05)
        for name in ALL_FIELDS:
            assert getattr(together, name)[i] == pytest.approx(
                getattr(alone, name)[0], rel=RTOL, abs=0
            )


def test_unit_level_dates_do_not_change_the_figures(tmp_path: Path) -> None:
    """Aggregating per day then summing equals aggregating all at once."""
    frame = make_units(5, {"control": 700, "treatment": 650}, days=9)
    dated, undated = tmp_path / "dated", tmp_path / "undated"
    for d, f in ((dated, frame), (undated, frame.drop("date"))):
        d.mkdir()
        write_frame(f, d / "exp.parquet")
        write_metrics(d)
    a = build_readout(load_dataset(dated)).results.drop("note")
    b = build_readout(load_dataset(undated)).results.drop("note")
    for col in ("abs_effect", "abs_ci_low", "rel_ci_high", "p_value", "p_adjusted"):
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=RTOL)
    for row in a.to_dicts():
        c = values(frame, "control", row["metric"])
        t = values(frame, "treatment", row["metric"])
        assert_matches(row, reference(METRICS[row["metric"]]["type"], c, t, 0.05), ("p_value",))


def _edge_arms() -> dict[
    str, tuple[str, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
]:
    """Awkward but testable arms: name -> (kind, control, treatment)."""
    rng = np.random.default_rng(99)

    def plain(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return y.astype(float), np.ones(len(y))

    x_small = rng.poisson(2.0, 3) + 1.0
    x_large = rng.poisson(2.0, 4) + 1.0
    return {
        "constant_control": ("mean", plain(np.full(50, 3.0)), plain(rng.normal(3.2, 1.0, 60))),
        "two_units_each": ("mean", plain(np.array([1.0, 4.0])), plain(np.array([2.0, 7.5]))),
        "unbalanced": ("mean", plain(rng.gamma(2.0, 1.0, 5000)), plain(rng.gamma(2.0, 3.0, 30))),
        "negative_values": ("mean", plain(rng.normal(-5, 2, 80)), plain(rng.normal(-4, 3, 90))),
        "no_conversions_in_treatment": (
            "proportion",
            plain((rng.random(400) < 0.05).astype(float)),
            plain(np.zeros(380)),
        ),
        "rare_conversions": (
            "proportion",
            plain((rng.random(3000) < 0.002).astype(float)),
            plain((rng.random(2900) < 0.004).astype(float)),
        ),
        "ratio_three_units": (
            "ratio",
            (x_small * rng.gamma(2.0, 1.0, 3), x_small),
            (x_large * rng.gamma(2.0, 1.5, 4), x_large),
        ),
    }


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, constant arm
@pytest.mark.parametrize("name", list(_edge_arms()))
def test_edge_cases_match_references(name: str) -> None:
    kind, c, t = _edge_arms()[name]
    ratio = kind == "ratio"
    got = compare(np.array([kind]), arm_sums(*c, ratio), arm_sums(*t, ratio), 0.05)
    ref = reference(kind, c, t, 0.05)
    assert_matches({k: float(getattr(got, k)[0]) for k in ALL_FIELDS}, ref, ALL_FIELDS)


def test_no_conversions_in_control_leaves_the_lift_undefined() -> None:
    """Control at 0: the absolute test stands (few events: Fisher's exact test and Newcombe's
    interval, as scipy and statsmodels give them), the relative lift is NaN."""
    rng = np.random.default_rng(5)
    c = (np.zeros(300), np.ones(300))
    t = ((rng.random(310) < 0.05).astype(float), np.ones(310))
    got = compare(np.array(["proportion"]), arm_sums(*c, False), arm_sums(*t, False), 0.05)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = reference("proportion", c, t, 0.05)
    for name in ("abs_effect", "abs_ci_low", "abs_ci_high", "statistic", "p_value"):
        assert float(getattr(got, name)[0]) == pytest.approx(getattr(ref, name), rel=RTOL, abs=0)
    assert np.isnan(got.rel_effect[0]) and np.isnan(got.rel_ci_low[0])
