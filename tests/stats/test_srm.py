"""Sample ratio mismatch against scipy.stats.chisquare, pure and through the full path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import make_units, write_frame, write_metrics, write_toml
from scipy import stats

from nsexp.analysis.readout import build_readout
from nsexp.io import load_dataset
from nsexp.stats.srm import SRM_THRESHOLD, srm_test

RTOL = 1e-9


def counts_frame(experiments: dict[str, dict[str, tuple[int, float]]]) -> pl.DataFrame:
    """experiment -> variant -> (units, share) as the frame srm_test takes."""
    rows = [
        {"experiment": e, "variant": v, "units": n, "share": s}
        for e, arms in experiments.items()
        for v, (n, s) in arms.items()
    ]
    return pl.DataFrame(rows, schema_overrides={"units": pl.Int64, "share": pl.Float64})


def chisquare(units: list[int], shares: list[float]) -> tuple[float, float]:
    """scipy's goodness-of-fit test with expected counts from the shares."""
    obs = np.array(units, dtype=float)
    exp = np.array(shares) / np.sum(shares) * obs.sum()
    res = stats.chisquare(obs, exp)
    return float(res.statistic), float(res.pvalue)


def test_many_experiments_at_once_match_chisquare() -> None:
    spec = {
        "equal": {"control": (5000, 1.0), "treatment": (5110, 1.0)},
        "three": {"a": (3000, 1.0), "b": (3100, 1.0), "c": (2890, 1.0)},
        "split": {"control": (2050, 0.2), "treatment": (7950, 0.8)},
        "weights": {"control": (1000, 1.0), "treatment": (3050, 3.0)},
        "broken": {"control": (5000, 0.5), "treatment": (5400, 0.5)},
    }
    got = {r["experiment"]: r for r in srm_test(counts_frame(spec)).iter_rows(named=True)}
    for eid, arms in spec.items():
        chi2, p = chisquare([n for n, _ in arms.values()], [s for _, s in arms.values()])
        assert got[eid]["chi2"] == pytest.approx(chi2, rel=RTOL, abs=0)
        assert got[eid]["p_value"] == pytest.approx(p, rel=RTOL, abs=0)
        assert got[eid]["df"] == len(arms) - 1
        assert got[eid]["mismatch"] == (p < SRM_THRESHOLD)
    assert got["broken"]["mismatch"] and not got["split"]["mismatch"]


def test_exact_split_is_no_mismatch() -> None:
    got = srm_test(counts_frame({"e": {"control": (2000, 0.25), "treatment": (6000, 0.75)}}))
    assert got["chi2"][0] == 0.0 and got["p_value"][0] == 1.0 and not got["mismatch"][0]


def test_full_path_uses_expected_split(tmp_path: Path) -> None:
    """A planned 20/80 split with 20/80 counts passes; the same counts fail against 50/50."""
    frame = make_units(3, {"control": 400, "treatment": 1600})
    for name, split in (("planned", {"control": 0.2, "treatment": 0.8}), ("equal", None)):
        root = tmp_path / name
        root.mkdir()
        write_frame(frame, root / "split_test.parquet")
        write_metrics(root)
        if split:
            write_toml(
                root / "experiments.toml",
                {"experiments": {"split_test": {"expected_split": split}}},
            )
        readout = build_readout(load_dataset(root)).experiments["split_test"]
        _, p = chisquare([400, 1600], [0.2, 0.8] if split else [1.0, 1.0])
        assert readout.srm.p_value == pytest.approx(p, rel=RTOL, abs=0)
        assert readout.srm.counts == {"control": 400, "treatment": 1600}
        assert readout.srm.mismatch == (name == "equal")
        verdict = readout.treatments[0].verdict
        assert (verdict == "invalid") == (name == "equal")
    reasons = [r.text for r in readout.treatments[0].reasons]
    assert (
        "sample ratio mismatch" in reasons[0].lower()
        and "400" in reasons[0]
        and "1,600" in reasons[0]
    )


def test_srm_counts_units_with_missing_values(tmp_path: Path) -> None:
    """Units whose metric cell is empty still count as exposed."""
    frame = make_units(4, {"control": 500, "treatment": 500}).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(None)
        .otherwise(pl.col("clicks"))
        .alias("clicks")
    )
    write_frame(frame, tmp_path / "exp.csv")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path)).experiments["exp"]
    assert readout.srm.counts == {"control": 500, "treatment": 500}
    assert readout.srm.p_value == 1.0


def test_daily_summary_counts_add_up(tmp_path: Path) -> None:
    """Summary rows per day: the SRM uses the units summed over days."""
    rng = np.random.default_rng(8)
    per_day = {"control": [310, 290, 305], "treatment": [402, 395, 410]}
    rows = []
    for variant, ns in per_day.items():
        for day, n in enumerate(ns):
            for metric in ("lessons", "clicks"):
                x = rng.poisson(3, n).astype(float)
                rows.append(
                    {
                        "experiment": "daily",
                        "variant": variant,
                        "date": dt.date(2026, 5, 1) + dt.timedelta(day),
                        "metric": metric,
                        "n": n,
                        "sum": x.sum(),
                        "sum_sq": (x * x).sum(),
                    }
                )
    pl.DataFrame(rows).write_csv(tmp_path / "daily.csv")
    write_metrics(tmp_path, {k: v for k, v in _two_metrics().items()})
    readout = build_readout(load_dataset(tmp_path)).experiments["daily"]
    assert readout.srm.counts == {"control": 905, "treatment": 1207}
    _, p = chisquare([905, 1207], [1.0, 1.0])
    assert readout.srm.p_value == pytest.approx(p, rel=RTOL, abs=0)
    assert readout.srm.mismatch and readout.treatments[0].verdict == "invalid"
    assert readout.days == 3


def _two_metrics() -> dict[str, dict[str, str]]:
    return {
        "lessons": {"role": "north_star", "type": "mean"},
        "clicks": {"role": "vanity", "type": "mean"},
    }


def test_an_assumed_split_says_so_and_how_to_declare_it(tmp_path: Path) -> None:
    """No expected_split (issue 11, item 8): the check stays, and the reason says the equal
    split was assumed and gives the experiments.toml line that declares the planned one."""
    write_frame(make_units(3, {"control": 400, "treatment": 1600}), tmp_path / "split.parquet")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path)).experiments["split"]
    assert readout.srm.mismatch and readout.srm.assumed
    reason = readout.treatments[0].reasons[0].text
    assert "assumed because no expected_split is declared" in reason
    assert "[experiments.split] expected_split = { control = <share>, treatment = <share> }" in (
        reason
    )
    _, p = chisquare([400, 1600], [1.0, 1.0])
    assert readout.srm.p_value == pytest.approx(p, rel=RTOL, abs=0)


ASOS = Path(__file__).parents[2] / "shared/data/asos/asos_digital_experiments_dataset.csv"


@pytest.mark.skipif(not ASOS.is_file(), reason="ASOS dataset not found (../shared/data/asos)")
def test_asos_unequal_by_design_splits_are_named_as_assumed() -> None:
    """ASOS has no planned splits; experiments unequal by design (e.g. 1.87M / 14.7M / 1.88M)
    fail the equal-split check. Each such reason says the split was assumed (scipy's
    chi-square on the arms' units gives the same p-values)."""
    catalog = Path(__file__).parent / "fixtures/asos/metrics.toml"
    readout = build_readout(load_dataset(ASOS, catalog))
    mismatched = [e for e in readout.experiments.values() if e.srm.mismatch]
    assert len(readout.experiments) == 78 and len(mismatched) == 10
    for exp in mismatched:
        counts = list(exp.srm.counts.values())
        assert exp.srm.p_value == pytest.approx(
            chisquare(counts, [1.0] * len(counts))[1], rel=RTOL, abs=1e-300
        )
        assert all("assumed because no expected_split" in t.reasons[0].text for t in exp.treatments)
