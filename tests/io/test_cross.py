"""Cross statistics of metric pairs (nsexp.io.cross), checked against numpy on the unit rows."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from engine_helpers import SOURCE_METRICS, unit_rows
from helpers import write_metrics

from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.cross import cross_totals

PAIR = ["experiment", "variant", "metric", "other", "part", "other_part"]


def _columns(metric: dict, part: str) -> str:
    if metric["type"] == "ratio":
        return metric["numerator"] if part == "num" else metric["denominator"]
    return metric.get("covariate", "") if part == "cov" else metric.get("column", "")


def numpy_cross(rows: pl.DataFrame, metrics: dict[str, dict]) -> pl.DataFrame:
    """The same statistics straight from the rows with numpy (ddof = 0 co-moments)."""
    out = []
    ids = {m: dict(spec, column=spec.get("column", m)) for m, spec in metrics.items()}
    pairs = {
        (r["metric"], r["other"], r["part"], r["other_part"]) for r in PAIRS if r["metric"] in ids
    }
    for (exp, arm), group in rows.group_by("experiment", "arm"):
        for metric, other, part, other_part in sorted(pairs):
            need = [
                _columns(ids[m], p)
                for m in (metric, other)
                for p in ("num", "den")
                if ids[m]["type"] == "ratio" or p == "num"
            ]
            keep = group.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in need))

            def values(m: str, p: str, keep: pl.DataFrame = keep) -> np.ndarray:
                col = keep[_columns(ids[m], p)].cast(pl.Float64)
                return col.fill_null(0.0).to_numpy() if p == "cov" else col.to_numpy()

            x, y = values(metric, part), values(other, other_part)
            out.append(
                {
                    "experiment": exp,
                    "variant": arm,
                    "metric": metric,
                    "other": other,
                    "part": part,
                    "other_part": other_part,
                    "n": x.size,
                    "mean": x.mean(),
                    "other_mean": y.mean(),
                    "comoment": float(((x - x.mean()) * (y - y.mean())).sum()),
                }
            )
    return pl.DataFrame(out)


# The pairs a catalog of SOURCE_METRICS asks for: each metric with the North Star (lessons,
# CUPED covariate pre_lessons) and leading metrics' default parent is the North Star too.
PAIRS = [
    {"metric": m, "other": "lessons", "part": p, "other_part": q}
    for m, parts in (
        ("retained", ("num",)),
        ("minutes_per_session", ("num", "den")),
        ("clicks", ("num",)),
        ("errors", ("num",)),
    )
    for p in parts
    for q in ("num", "cov")
]


def test_unit_level_cross_statistics_equal_numpy(tmp_path: Path) -> None:
    rows = unit_rows()
    metrics = {k: v for k, v in SOURCE_METRICS.items() if k != "clicks"}  # no cap: raw values
    write_metrics(tmp_path, metrics, {"variant": "arm", "date": "day"})
    rows.write_parquet(tmp_path / "events.parquet")
    got = load_dataset(tmp_path).cross.sort(PAIR)
    want = numpy_cross(rows, metrics).sort(PAIR)
    assert set(got["metric"]) == {"retained", "minutes_per_session", "errors"}
    assert got.select(PAIR).equals(want.select(PAIR))
    assert got["n"].to_list() == want["n"].to_list()
    np.testing.assert_allclose(got["comoment"].to_numpy(), want["comoment"].to_numpy(), rtol=1e-9)
    assert got["mean"].null_count() == got.height  # one row per arm: no means needed


def test_dated_rows_combine_to_the_undated_statistics() -> None:
    rng = np.random.default_rng(5)
    n, days = 5000, 7
    day = rng.integers(0, days, n)
    x = 3.0 + day * 0.4 + rng.standard_normal(n)  # the means drift from day to day
    y = 0.5 * x + rng.standard_normal(n)
    frame = pl.DataFrame({"day": day, "x": x, "y": y})
    daily = frame.group_by("day").agg(
        pl.len().alias("n"),
        pl.col("x").mean().alias("mean"),
        pl.col("y").mean().alias("other_mean"),
        (pl.cov("x", "y", ddof=0) * pl.len()).alias("comoment"),
    )
    rows = daily.select(
        pl.lit("e").alias("experiment"),
        pl.lit("control").alias("variant"),
        pl.lit(None, dtype=pl.Date()).alias("date"),
        pl.lit("x").alias("metric"),
        pl.lit("y").alias("other"),
        pl.lit("num").alias("part"),
        pl.lit("num").alias("other_part"),
        pl.col("n").cast(pl.Int64),
        "mean",
        "other_mean",
        "comoment",
    )
    total = cross_totals(rows).row(0, named=True)
    assert total["n"] == n
    assert total["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert total["comoment"] == pytest.approx(np.cov(x, y, ddof=0)[0, 1] * n, rel=1e-10)


@pytest.mark.parametrize("dated", [False, True])
def test_large_means_do_not_cancel(tmp_path: Path, dated: bool) -> None:
    """Values near 1e9 with unit spread: Σxy − ΣxΣy/n loses every digit, the co-moment keeps
    them (the covariance of the offsets, computed apart, is the truth), whether the rows are
    undated (pairs in the sums' own group-by) or dated (their own group-by)."""
    rng = np.random.default_rng(8)
    n = 20_000
    a = rng.standard_normal(n)
    b = 0.6 * a + 0.8 * rng.standard_normal(n)
    rows = pl.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "big": 1e9 + a,
            "other": 1e9 + b,
        }
    )
    write_metrics(
        tmp_path,
        {
            "other": {"role": "north_star", "type": "mean"},
            "big": {"role": "leading", "type": "mean"},
        },
    )
    if dated:
        rows = rows.with_columns(pl.date(2026, 1, 1 + pl.int_range(n) % 5).alias("date"))
    rows.write_parquet(tmp_path / "offset.parquet")
    got = load_dataset(tmp_path).cross.filter(pl.col("variant") == "control").row(0, named=True)
    keep = rows.filter(pl.col("variant") == "control")
    da, db = keep["big"].to_numpy() - 1e9, keep["other"].to_numpy() - 1e9
    truth = float(((da - da.mean()) * (db - db.mean())).sum())
    x, y = keep["big"].to_numpy(), keep["other"].to_numpy()
    naive = float((x * y).sum() - x.sum() * y.sum() / x.size)
    assert got["comoment"] == pytest.approx(truth, rel=1e-6)
    assert abs(naive - truth) > 0.05 * abs(truth)  # the raw-sum formula is off by far more


def test_summary_rows_carry_cross_sums(tmp_path: Path) -> None:
    """ns_cross_sum / parent_cross_sum on summary rows give the same cross rows as the units."""
    rng = np.random.default_rng(3)
    n = 4000
    eng = rng.gamma(3.0, 1 / 3, n)
    units = pl.DataFrame(
        {
            "experiment": "e1",
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "lessons": rng.poisson(5 * eng).astype(float),
            "starts": rng.poisson(7 * eng).astype(float),
            "streak": (rng.random(n) < 0.2 * np.sqrt(eng)).astype(float),
        }
    )
    metrics = {
        "lessons": {"role": "north_star", "type": "mean"},
        "starts": {"role": "leading", "type": "mean"},
        "streak": {"role": "leading", "type": "proportion", "parent": "starts"},
    }
    unit_dir, summary_dir = tmp_path / "units", tmp_path / "summary"
    for d in (unit_dir, summary_dir):
        d.mkdir()
        write_metrics(d, metrics)
    units.write_parquet(unit_dir / "e1.parquet")
    rows = []
    for (arm,), g in units.group_by("variant"):
        for m in metrics:
            x = g[m].to_numpy()
            row = {"experiment": "e1", "variant": arm, "metric": m, "n": x.size}
            row |= {"sum": x.sum(), "sum_sq": (x * x).sum()}
            row["ns_cross_sum"] = None if m == "lessons" else float((x * g["lessons"]).sum())
            row["parent_cross_sum"] = float((x * g["starts"]).sum()) if m == "streak" else None
            rows.append(row)
    pl.DataFrame(rows).write_csv(summary_dir / "e1.csv")
    got = load_dataset(summary_dir).cross.sort(PAIR)
    want = load_dataset(unit_dir).cross.sort(PAIR)
    assert got.select(PAIR).equals(want.select(PAIR))
    np.testing.assert_allclose(got["comoment"].to_numpy(), want["comoment"].to_numpy(), rtol=1e-8)


def _shifted_summary(units: pl.DataFrame, metrics: dict, shifts: dict[str, float]) -> list[dict]:
    """Dated summary rows with shifted sums about each day's own shift (the day's index added,
    so no two days share one) and Σ(x − a)(y − b) with the North Star and the parent."""
    rows = []
    parents = {m: spec.get("parent") for m, spec in metrics.items()}
    for (arm, day), g in units.group_by("variant", "day"):
        for m in metrics:
            a = shifts[m] + day
            x = g[m].to_numpy() - a
            row = {"experiment": "e1", "variant": arm, "date": f"2026-03-0{day + 1}", "metric": m}
            raw = g[m].to_numpy()
            row |= {"n": x.size, "sum": raw.sum(), "sum_sq": (raw * raw).sum(), "shift": a}
            row |= {"dev_sum": x.sum(), "dev_sum_sq": (x * x).sum()}
            for column, other in (("ns_cross_dev_sum", "lessons"), ("parent_cross_dev_sum", None)):
                other = other or parents[m]
                crossed = (
                    other is not None
                    and other != m
                    and not (column[0] == "p" and other == "lessons")
                )
                y = g[other].to_numpy() - (shifts[other] + day) if crossed else None
                row[column] = float((x * y).sum()) if y is not None else None
            rows.append(row)
    return rows


@pytest.mark.parametrize("offset", [0.0, 1e9])
def test_summary_rows_carry_shifted_cross_sums(tmp_path: Path, offset: float) -> None:
    """ns_cross_dev_sum / parent_cross_dev_sum about rows' shifts that differ day by day give
    numpy's co-moments of the units, at means near 1e9 too (where Σxy − n·x̄·ȳ has no digits)."""
    rng = np.random.default_rng(5)
    n = 3000
    eng = rng.gamma(3.0, 1 / 3, n)
    units = pl.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "day": rng.integers(0, 3, n),
            "lessons": rng.poisson(5 * eng) + offset,
            "starts": rng.poisson(7 * eng) + offset,
            "streak": (rng.random(n) < 0.2 * np.sqrt(eng)).astype(float),
        }
    )
    metrics = {
        "lessons": {"role": "north_star", "type": "mean"},
        "starts": {"role": "leading", "type": "mean"},
        "streak": {"role": "leading", "type": "proportion", "parent": "starts"},
    }
    write_metrics(tmp_path, metrics)
    shifts = {"lessons": offset + 4.0, "starts": offset + 6.0, "streak": 0.0}
    pl.DataFrame(_shifted_summary(units, metrics, shifts)).write_csv(tmp_path / "e1.csv")
    got = load_dataset(tmp_path).cross.sort(PAIR)
    assert got.select("metric", "other").unique().sort("metric", "other").rows() == [
        ("starts", "lessons"),
        ("streak", "lessons"),
        ("streak", "starts"),
    ]
    for row in got.iter_rows(named=True):
        arm = units.filter(pl.col("variant") == row["variant"])
        x, y = arm[row["metric"]].to_numpy(), arm[row["other"]].to_numpy()
        assert row["n"] == x.size
        want = np.cov(x, y, bias=True)[0, 1] * x.size  # numpy's two-pass co-moment
        assert row["comoment"] == pytest.approx(want, rel=1e-9)


def test_shifted_cross_sums_need_the_same_units_and_the_shifts(tmp_path: Path) -> None:
    """A cross sum over other units than its partner's row, or without the rows' shifts, is
    one clear error naming the column."""
    write_metrics(
        tmp_path,
        {
            "lessons": {"role": "north_star", "type": "mean"},
            "starts": {"role": "leading", "type": "mean"},
        },
    )
    rows = [
        {"experiment": "e", "variant": v, "metric": m, "n": 10 if m == "lessons" else 9}
        | {"sum": 50.0, "sum_sq": 300.0, "shift": 5.0, "dev_sum": 0.0, "dev_sum_sq": 50.0}
        | {"ns_cross_dev_sum": None if m == "lessons" else 3.0}
        for v in ("control", "treatment")
        for m in ("lessons", "starts")
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "e.csv")
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert err.value.column == "ns_cross_dev_sum"
    assert "whose lessons row counts 10 units, not 9" in err.value.message
    pl.DataFrame(rows).drop("shift", "dev_sum", "dev_sum_sq").with_columns(n=10).write_csv(
        tmp_path / "e.csv"
    )
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert "ns_cross_dev_sum needs each row's shift and dev_sum" in err.value.message


def test_an_arm_missing_a_days_cross_sum_has_none(tmp_path: Path) -> None:
    """A dated arm whose cross sum is missing on one day gets no cross row (its covariance is
    assumed zero, and the tree says so), not Σxy of some days set against every day's means."""
    write_metrics(
        tmp_path,
        {
            "lessons": {"role": "north_star", "type": "mean"},
            "starts": {"role": "leading", "type": "mean"},
        },
    )
    rows = [
        {"experiment": "e", "variant": v, "date": f"2026-03-0{d}", "metric": m, "n": 10}
        | {"sum": 50.0, "sum_sq": 300.0}
        | {"ns_cross_sum": None if m == "lessons" or (v, d) == ("treatment", 2) else 260.0}
        for v in ("control", "treatment")
        for d in (1, 2)
        for m in ("lessons", "starts")
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "e.csv")
    cross = load_dataset(tmp_path).cross
    assert cross.select("variant", "n", "comoment").rows() == [("control", 20, 520.0 - 20 * 25.0)]


def test_cross_sum_on_the_north_star_is_an_error(tmp_path: Path) -> None:
    write_metrics(
        tmp_path,
        {
            "lessons": {"role": "north_star", "type": "mean"},
            "starts": {"role": "leading", "type": "mean"},
        },
    )
    rows = [
        {
            "experiment": "e",
            "variant": v,
            "metric": m,
            "n": 10,
            "sum": 50.0,
            "sum_sq": 300.0,
            "ns_cross_sum": 1.0,
        }
        for v in ("control", "treatment")
        for m in ("lessons", "starts")
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "e.csv")
    with pytest.raises(InputError) as err:
        load_dataset(tmp_path)
    assert "ns_cross_sum given for experiment e" in err.value.message
    assert "metric lessons" in err.value.message


def test_sql_engine_covariance_keeps_digits_at_large_means(tmp_path: Path) -> None:
    """The same offset data through the generated SQL on DuckDB (COVAR_POP per date, combined)."""
    pytest.importorskip("duckdb")
    from engine_helpers import write_source

    rng = np.random.default_rng(9)
    n = 20_000
    a = rng.standard_normal(n)
    b = 0.6 * a + 0.8 * rng.standard_normal(n)
    rows = pl.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "date": [f"2026-03-0{d}" for d in rng.integers(1, 6, n)],
            "big": 1e9 + a,
            "other": 1e9 + b,
        }
    ).with_columns(pl.col("date").str.to_date())
    write_metrics(
        tmp_path,
        {
            "other": {"role": "north_star", "type": "mean"},
            "big": {"role": "leading", "type": "mean"},
        },
    )
    (tmp_path / "parts").mkdir()
    rows.write_parquet(tmp_path / "parts" / "offset.parquet")
    write_source(tmp_path, engine="duckdb", path="parts")
    got = load_dataset(tmp_path).cross.filter(pl.col("variant") == "control").row(0, named=True)
    keep = rows.filter(pl.col("variant") == "control")
    da, db = keep["big"].to_numpy() - 1e9, keep["other"].to_numpy() - 1e9
    truth = float(((da - da.mean()) * (db - db.mean())).sum())
    assert got["n"] == keep.height
    assert got["comoment"] == pytest.approx(truth, rel=1e-6)


def test_too_many_pairs_are_not_aggregated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_CROSS_PAIRS no cross statistics are aggregated (the tree then assumes the
    within-experiment covariance zero), and up to it every pair is."""
    import nsexp.io.cross as cross

    rng = np.random.default_rng(2)
    n = 400
    pl.DataFrame(
        {
            "variant": np.where(rng.random(n) < 0.5, "control", "treatment"),
            "ns": rng.normal(5, 1, n),
            "a": rng.normal(3, 1, n),
            "b": rng.normal(2, 1, n),
        }
    ).write_parquet(tmp_path / "e.parquet")
    write_metrics(
        tmp_path,
        {
            "ns": {"role": "north_star", "type": "mean"},
            "a": {"role": "leading", "type": "mean"},
            "b": {"role": "leading", "type": "mean"},
        },
    )
    monkeypatch.setattr(cross, "MAX_CROSS_PAIRS", 2)
    assert set(load_dataset(tmp_path).cross["metric"]) == {"a", "b"}  # a x ns and b x ns
    monkeypatch.setattr(cross, "MAX_CROSS_PAIRS", 1)
    assert load_dataset(tmp_path).cross.height == 0


def _exact_comoment(x: list[int], y: list[int]) -> float:
    """Σ(x − x̄)(y − ȳ) in Python's unbounded integers, (nΣxy − ΣxΣy)/n, rounded once."""
    n = len(x)
    top = n * sum(a * b for a, b in zip(x, y, strict=True)) - sum(x) * sum(y)
    return float(Fraction(top, n))


@pytest.mark.parametrize(
    ("spread", "rows", "gaps", "plain"),
    [
        (2**20, 300_000, False, True),  # many rows, in 64-bit sums
        (2**29, 16, False, True),  # rows · max|D| · max|E| just under 2**62
        (2**40, 2_000, False, False),  # past 64 bits: the masked 128-bit sums
        (2**47, 50, False, False),  # the masked sums' own bound (|D| < 2**48)
        (2**20, 1_000, True, False),  # a missing value: the masked sums
    ],
)
def test_whole_number_pairs_equal_exact_integers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spread: int, rows: int, gaps: bool, plain: bool
) -> None:
    """A pair of integer metrics, one with a CUPED covariate whose gaps count as 0, values of
    either sign: the co-moments from plain 64-bit sums (SumsPlan.cross) equal the exact
    integers' to the rounding and the masked 128-bit sums' to the bit; sums that could pass 64
    bits, or a missing value, take the masked sums."""
    import nsexp.io.sums as sums

    rng = np.random.default_rng(rows)
    a, ns, pre = (rng.integers(-spread + 1, spread, rows, dtype=np.int64) for _ in range(3))
    frame = pl.DataFrame(
        {
            "variant": np.where(np.arange(rows) % 2 == 0, "control", "treatment"),
            "ns": ns,
            "a": pl.Series(a).scatter([3], [None]) if gaps else a,
            "pre": pl.Series(pre).scatter([0, 5], [None, None]),
        }
    )
    frame.write_parquet(tmp_path / "e.parquet")
    write_metrics(
        tmp_path,
        {
            "ns": {"role": "north_star", "type": "mean"},
            "a": {"role": "leading", "type": "mean", "covariate": "pre"},
        },
    )
    plain_pairs: list[int] = []
    cross = sums.SumsPlan.cross

    def spy(self: sums.SumsPlan, wide: pl.DataFrame) -> tuple[pl.DataFrame, list]:
        out, redo = cross(self, wide)
        plain_pairs.append(len(self.pairs) - len(redo))
        return out, redo

    monkeypatch.setattr(sums.SumsPlan, "cross", spy)
    got = load_dataset(tmp_path).cross.sort(PAIR)
    assert plain_pairs == [1 if plain else 0]
    monkeypatch.setattr(sums.SumsPlan, "add_pair", lambda self, pair: False)
    assert got.equals(load_dataset(tmp_path).cross.sort(PAIR))  # the masked sums, to the bit
    assert got.height == 4  # a's value and covariate with the North Star, in each arm
    for row in got.iter_rows(named=True):
        arm = frame.filter(pl.col("variant") == row["variant"]).drop_nulls(["a", "ns"])
        x = arm["a" if row["part"] == "num" else "pre"].fill_null(0).to_list()
        assert row["n"] == arm.height
        assert row["comoment"] == pytest.approx(_exact_comoment(x, arm["ns"].to_list()), rel=1e-13)


def test_eight_bit_proportions_sum_as_integers(tmp_path: Path) -> None:
    """0/1 proportions stored as Int8, UInt8 and booleans over many rows: n, Σx and Σx² equal
    numpy's integer counts; their pair with a North Star of huge values
    (rows · 255 · max|E| past 2**62) takes the masked sums and still equals the exact integers;
    an 8-bit "proportion" holding a 2 is refused."""
    rows = 400_000
    rng = np.random.default_rng(11)
    ns = rng.integers(-(2**45), 2**45, rows, dtype=np.int64)
    frame = pl.DataFrame(
        {
            "variant": np.where(rng.random(rows) < 0.5, "control", "treatment"),
            "ns": ns,
            "a": (rng.random(rows) < 0.3).astype(np.int8),
            "b": (rng.random(rows) < 0.6).astype(np.uint8),
            "c": rng.random(rows) < 0.1,
        }
    )
    frame.write_parquet(tmp_path / "e.parquet")
    proportion = {"role": "leading", "type": "proportion"}
    metrics = {"ns": {"role": "north_star", "type": "mean"}} | {k: proportion for k in "abc"}
    write_metrics(tmp_path, metrics)
    data = load_dataset(tmp_path)
    for row in data.summary.filter(pl.col("metric").is_in(list("abc"))).iter_rows(named=True):
        x = frame.filter(pl.col("variant") == row["variant"])[row["metric"]].cast(pl.Int64)
        total = int(x.to_numpy().sum())
        assert (row["n"], row["sum"], row["sum_sq"]) == (x.len(), total, total)
    for row in data.cross.iter_rows(named=True):
        arm = frame.filter(pl.col("variant") == row["variant"])
        x = arm[row["metric"]].cast(pl.Int64).to_list()
        assert row["comoment"] == pytest.approx(_exact_comoment(x, arm["ns"].to_list()), rel=1e-13)
    assert data.cross.height == 6
    frame.with_columns(frame["a"].scatter(7, 2)).write_parquet(tmp_path / "e.parquet")
    with pytest.raises(InputError, match=r"outside 0\.\.1"):
        load_dataset(tmp_path)
