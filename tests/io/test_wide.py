"""Wide summaries (_c/_t columns) and cumulative snapshots, on small constructed files."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from helpers import CliRunner, write_toml
from scipy import stats

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.analysis.timeline import north_star_timelines
from nsexp.config.catalog import parse_catalog
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.files import kind_of

METRICS = {
    "conv": {"role": "north_star", "type": "proportion"},
    "spend": {"role": "leading", "type": "mean"},
}


def wide_row(eid: str, variant: str, metric: str, t: float, c: tuple, tr: tuple) -> dict:
    """One wide row: (count, mean, variance) for control and treatment."""
    return {
        "exp": eid,
        "arm": variant,
        "kpi": metric,
        "day": t,
        "count_c": c[0],
        "mean_c": c[1],
        "variance_c": c[2],
        "count_t": tr[0],
        "mean_t": tr[1],
        "variance_t": tr[2],
    }


def write_wide(directory: Path, rows: list[dict], dates: str = "cumulative") -> Path:
    """A wide CSV plus a metrics.toml mapping its column names."""
    pl.DataFrame(rows).write_csv(directory / "wide.csv")
    columns = {"experiment": "exp", "variant": "arm", "metric": "kpi", "date": "day"}
    write_toml(directory / "metrics.toml", {"columns": columns | {"dates": dates}})
    text = (directory / "metrics.toml").read_text()
    write_toml(directory / "m.toml", {"metrics": METRICS})
    (directory / "metrics.toml").write_text(text + (directory / "m.toml").read_text())
    (directory / "m.toml").unlink()
    return directory


def test_kind_of_detects_wide():
    """Both arms' counts and means on one row make a wide summary."""
    cols = ["experiment", "variant", "metric", "count_c", "count_t", "mean_c", "mean_t"]
    assert kind_of(cols) == "wide"
    assert kind_of(["experiment", "variant", "metric", "n", "sum", "sum_sq"]) == "summary"


def test_dates_key_is_validated():
    """[columns] dates accepts daily or cumulative only."""
    raw = {"metrics": METRICS, "columns": {"dates": "weekly"}}
    with pytest.raises(InputError, match="dates"):
        parse_catalog(raw)
    assert parse_catalog({"metrics": METRICS, "columns": {"dates": "cumulative"}}).dates == (
        "cumulative"
    )
    assert parse_catalog({"metrics": METRICS}).dates == "daily"


def test_bad_dates_value_exits_2(tmp_path: Path, run_cli: CliRunner):
    """The CLI prints one error line for an unknown dates value."""
    write_wide(tmp_path, [wide_row("e", "b", "conv", 1, (10, 0.5, 0.25), (10, 0.4, 0.24))], "x")
    code, _, err = run_cli("readout", tmp_path)
    assert code == 2 and err.startswith("error:") and "dates" in err


def test_shared_control_is_read_once_and_differing_controls_split(tmp_path: Path):
    """e1's repeated control is identical (one experiment); e2's differs (one per pair)."""
    ctrl = (1000, 0.2, 0.16)
    rows = []
    for metric, (c, a, b) in {
        "conv": (ctrl, (1000, 0.22, 0.1716), (990, 0.21, 0.1659)),
        "spend": ((1000, 5.0, 4.0), (1000, 5.2, 4.1), (990, 5.1, 3.9)),
    }.items():
        rows += [wide_row("e1", "a", metric, 1, c, a), wide_row("e1", "b", metric, 1, c, b)]
        other = (c[0] + 7, c[1], c[2])  # e2: the second pair saw a different control
        rows += [wide_row("e2", "a", metric, 1, c, a), wide_row("e2", "b", metric, 1, other, b)]
    dataset = load_dataset(write_wide(tmp_path, rows, dates="daily"))
    assert dataset.experiments["e1"].variants == ("a", "b", "control")
    assert set(dataset.experiments) == {"e1", "e2/a", "e2/b"}
    assert any("differ between its treatment pairs" in n for n in dataset.experiments["e2/a"].notes)
    readout = build_readout(dataset)
    got = readout.experiments["e1"].treatment("a").metric("spend")
    welch = stats.ttest_ind_from_stats(5.2, math.sqrt(4.1), 1000, 5.0, math.sqrt(4.0), 1000, False)
    assert got.p_value == pytest.approx(welch.pvalue, rel=1e-9)


def test_cumulative_equals_daily(tmp_path: Path):
    """The same data as per-day rows and as running totals: identical readout and timeline."""
    rng = np.random.default_rng(4)
    days = 6
    n = rng.integers(50, 80, (2, days))
    conv = rng.binomial(n, 0.3).astype(float)
    spend = rng.gamma(2.0, 3.0, (2, days)) * n
    spend_sq = spend**2 / n * rng.uniform(1.2, 2.0, (2, days))
    start = dt.date(2026, 2, 1)
    daily, running = [], []
    for arm, variant in enumerate(("control", "treatment")):
        for metric, s, q in (("conv", conv, conv), ("spend", spend, spend_sq)):
            for d in range(days):
                key = {"experiment": "e", "variant": variant, "metric": metric}
                key["date"] = start + dt.timedelta(days=d)
                daily.append(key | {"n": n[arm, d], "sum": s[arm, d], "sum_sq": q[arm, d]})
                running.append(
                    key
                    | {
                        "n": n[arm, : d + 1].sum(),
                        "sum": s[arm, : d + 1].sum(),
                        "sum_sq": q[arm, : d + 1].sum(),
                    }
                )
    results = []
    for name, rows, dates in (("daily", daily, "daily"), ("cum", running, "cumulative")):
        directory = tmp_path / name
        directory.mkdir()
        pl.DataFrame(rows).write_parquet(directory / "s.parquet")
        write_toml(directory / "metrics.toml", {"metrics": METRICS, "columns": {"dates": dates}})
        dataset = load_dataset(directory)
        results.append((build_readout(dataset).results, north_star_timelines(dataset, Settings())))
    (r_daily, t_daily), (r_cum, t_cum) = results
    for col in ("n_control", "n_treatment", "abs_effect", "p_value", "rel_ci_low"):
        assert np.allclose(r_daily[col].to_numpy(), r_cum[col].to_numpy(), rtol=1e-12)
    assert t_daily["n_control"].to_list() == t_cum["n_control"].to_list()
    assert np.allclose(t_daily["p_value"].to_numpy(), t_cum["p_value"].to_numpy(), rtol=1e-12)


def test_shrinking_cumulative_counts_make_the_experiment_invalid(tmp_path: Path):
    """A running total that falls is not a running total: the experiment is invalid."""
    rows = [
        wide_row("e", "b", "conv", 1, (100, 0.2, 0.16), (100, 0.2, 0.16)),
        wide_row("e", "b", "conv", 2, (200, 0.2, 0.16), (150, 0.2, 0.16)),
        wide_row("e", "b", "conv", 3, (300, 0.2, 0.16), (140, 0.2, 0.16)),
    ]
    rows += [{**r, "kpi": "spend"} for r in rows]
    readout = build_readout(load_dataset(write_wide(tmp_path, rows)))
    treatment = readout.experiments["e"].treatment("b")
    assert treatment.verdict == "invalid"
    assert any("150 units" in r.text and "140" in r.text for r in treatment.reasons)


def test_numeric_days_count_from_the_experiment_start(tmp_path: Path):
    """Half-day snapshots: the day's last one is kept, dated from experiments.toml's start."""
    rows = []
    for t, n in ((0.5, 100), (1.0, 150), (1.5, 210), (2.0, 260)):
        for metric in ("conv", "spend"):
            rows.append(wide_row("e", "b", metric, t, (n, 0.3, 0.21), (n + 1, 0.31, 0.2139)))
    write_wide(tmp_path, rows)
    write_toml(tmp_path / "experiments.toml", {"experiments": {"e": {"start": "2026-05-10"}}})
    dataset = load_dataset(tmp_path)
    timeline = north_star_timelines(dataset, Settings())
    assert timeline["date"].to_list() == [dt.date(2026, 5, 10), dt.date(2026, 5, 11)]
    assert timeline["n_control"].to_list() == [150, 260]


def test_missing_variance_of_a_mean_metric_is_a_note(tmp_path: Path):
    """No variance for spend at all: a note, spend not tested, conv still read out."""
    rows = [
        wide_row("e", "b", "conv", 1, (100, 0.2, None), (100, 0.25, None)),
        wide_row("e", "b", "spend", 1, (100, 4.0, None), (100, 4.5, None)),
    ]
    readout = build_readout(load_dataset(write_wide(tmp_path, rows)))
    exp = readout.experiments["e"]
    assert any("spend: no variance" in n for n in exp.notes)
    assert [m.metric for m in exp.treatment("b").metrics] == ["conv"]
