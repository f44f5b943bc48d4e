"""Reading data as it is shipped: column mappings, booleans, moments, ids, dates and checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import METRIC_COLUMNS, METRICS, make_units, write_frame, write_metrics, write_toml

from nsexp.analysis.readout import build_readout
from nsexp.analysis.settings import Settings
from nsexp.errors import InputError
from nsexp.io import default_data_dir, load_dataset, totals

RTOL = 1e-9
FIGURES = ("control_mean", "treatment_mean", "abs_ci_low", "rel_ci_high", "p_value", "p_adjusted")


def figures(root: Path, experiment: str | None = None) -> pl.DataFrame:
    """The readout's result figures for a data directory, sorted."""
    results = build_readout(load_dataset(root), Settings(), experiment=experiment).results
    return results.sort("experiment", "variant", "metric")


def assert_same_figures(a: pl.DataFrame, b: pl.DataFrame) -> None:
    """Two result frames agree on keys, counts and every figure to 1e-9."""
    assert a.select("experiment", "variant", "metric").equals(
        b.select("experiment", "variant", "metric")
    )
    assert a["n_control"].to_list() == b["n_control"].to_list()
    for col in FIGURES:
        np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=RTOL, err_msg=col)


def fresh(tmp_path: Path, name: str) -> Path:
    """A new empty subdirectory."""
    d = tmp_path / name
    d.mkdir()
    return d


@pytest.fixture
def frame() -> pl.DataFrame:
    """A two-arm unit-level frame with an experiment column, unit ids and dates."""
    return make_units(
        41,
        {"control": 600, "treatment": 640},
        effects={"treatment": {"clicks": 1.2}},
        experiment="onboarding",
        days=5,
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_columns_mapping(tmp_path: Path, frame: pl.DataFrame, suffix: str) -> None:
    plain, mapped = fresh(tmp_path, "plain"), fresh(tmp_path, "mapped")
    write_frame(frame, plain / f"data{suffix}")
    write_metrics(plain)
    renamed = frame.rename(
        {"variant": "version", "experiment": "exp", "unit_id": "user", "date": "day"}
    )
    write_frame(renamed, mapped / f"data{suffix}")
    columns = {"variant": "version", "experiment": "exp", "unit_id": "user", "date": "day"}
    write_metrics(mapped, columns=columns)
    assert_same_figures(figures(plain), figures(mapped))
    assert load_dataset(mapped).has_dates


def test_missing_mapped_variant_names_the_users_column(tmp_path: Path, frame: pl.DataFrame):
    write_frame(frame.rename({"variant": "arm"}), tmp_path / "data.csv")
    write_metrics(tmp_path, columns={"variant": "version"})
    with pytest.raises(Exception, match="column 'version'"):
        load_dataset(tmp_path)


BOOL_TEXT = {
    "lower": ("true", "false"),
    "upper": ("TRUE", "FALSE"),
    "title": ("True", "False"),
}


@pytest.mark.parametrize("style", list(BOOL_TEXT))
def test_boolean_text_in_csv_counts_as_0_1(tmp_path: Path, frame: pl.DataFrame, style: str):
    yes, no = BOOL_TEXT[style]
    numeric, text = fresh(tmp_path, "numeric"), fresh(tmp_path, "text")
    as_ints = frame.with_columns(pl.col("retained").cast(pl.Int64))
    write_frame(as_ints, numeric / "data.csv")
    as_text = frame.with_columns(
        pl.when(pl.col("retained")).then(pl.lit(yes)).otherwise(pl.lit(no)).alias("retained"),
        pl.when(pl.col("errors") == 1).then(pl.lit(yes)).otherwise(pl.lit(no)).alias("errors"),
    )
    write_frame(as_text, text / "data.csv")
    for d in (numeric, text):
        write_metrics(d)
    assert_same_figures(figures(numeric), figures(text))


def test_boolean_parquet_counts_as_0_1(tmp_path: Path, frame: pl.DataFrame) -> None:
    ints, bools = fresh(tmp_path, "ints"), fresh(tmp_path, "bools")
    write_frame(frame.with_columns(pl.col("retained").cast(pl.Int64)), ints / "d.parquet")
    write_frame(frame.with_columns(pl.col("errors").cast(pl.Boolean)), bools / "d.parquet")
    for d in (ints, bools):
        write_metrics(d)
    assert_same_figures(figures(ints), figures(bools))


def summary_rows(frame: pl.DataFrame, moments: bool, by_date: bool) -> pl.DataFrame:
    """Summary rows of `frame` computed in numpy: sums, or mean and sample variance."""
    keys = ["experiment", "variant", *(["date"] if by_date else [])]
    rows: list[dict[str, Any]] = []
    for key, part in frame.group_by(keys, maintain_order=True):
        base = dict(zip(keys, key, strict=True))
        for metric, spec in METRICS.items():
            num_col = spec.get("numerator", metric)
            y = part[num_col].cast(pl.Float64).to_numpy()
            row = base | {"metric": metric, "n": len(y)}
            if moments:
                # one unit has no sample variance: NaN, as pandas' .var() writes it
                row |= {"mean": y.mean(), "variance": np.var(y, ddof=1) if len(y) > 1 else np.nan}
            else:
                row |= {"sum": y.sum(), "sum_sq": (y * y).sum()}
            if spec["type"] == "ratio":
                x = part[spec["denominator"]].cast(pl.Float64).to_numpy()
                row |= {
                    "den_sum": x.sum(),
                    "den_sum_sq": (x * x).sum(),
                    "num_den_sum": (x * y).sum(),
                }
            rows.append(row)
    return pl.DataFrame(rows)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_moments_equal_sums_equal_units(tmp_path: Path, frame: pl.DataFrame, suffix: str):
    """mean + variance rows, sum + sum_sq rows and the unit rows all read out the same."""
    dirs = {name: fresh(tmp_path, name) for name in ("units", "sums", "moments", "daily")}
    write_frame(frame, dirs["units"] / f"onboarding{suffix}")
    write_frame(summary_rows(frame, False, False), dirs["sums"] / f"s{suffix}")
    write_frame(summary_rows(frame, True, False), dirs["moments"] / f"s{suffix}")
    write_frame(summary_rows(frame, False, True), dirs["daily"] / f"s{suffix}")
    for d in dirs.values():
        write_metrics(d)
    want = figures(dirs["units"])
    for name in ("sums", "moments", "daily"):
        assert_same_figures(want, figures(dirs[name]))
    assert load_dataset(dirs["daily"]).has_dates


def test_daily_rows_add_up_to_totals(tmp_path: Path, frame: pl.DataFrame) -> None:
    daily = summary_rows(frame, False, True)
    write_frame(daily, tmp_path / "s.csv")
    write_metrics(tmp_path)
    got = totals(load_dataset(tmp_path).summary).sort("variant", "metric")
    want = (
        daily.group_by("variant", "metric")
        .agg(pl.col("n").sum(), pl.col("sum").sum(), pl.col("sum_sq").sum())
        .sort("variant", "metric")
    )
    assert got["n"].to_list() == want["n"].to_list()
    np.testing.assert_allclose(got["sum"].to_numpy(), want["sum"].to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(got["sum_sq"].to_numpy(), want["sum_sq"].to_numpy(), rtol=RTOL)


def test_moments_with_a_single_unit_row(tmp_path: Path) -> None:
    """n = 1 has no sample variance; an empty variance is accepted there and only there."""
    rows = [
        {
            "experiment": "e",
            "variant": "control",
            "metric": "lessons",
            "n": 1,
            "mean": 4.0,
            "variance": None,
        },
        {
            "experiment": "e",
            "variant": "treatment",
            "metric": "lessons",
            "n": 3,
            "mean": 5.0,
            "variance": 1.0,
        },
    ]
    pl.DataFrame(rows).write_csv(tmp_path / "s.csv")
    write_metrics(tmp_path, {"lessons": METRICS["lessons"]})
    row = build_readout(load_dataset(tmp_path)).results.row(0, named=True)
    assert row["control_mean"] == 4.0 and row["treatment_mean"] == 5.0
    assert row["p_value"] is None and "fewer than 2 units" in row["note"]


def test_file_stem_is_the_experiment_id(tmp_path: Path, frame: pl.DataFrame) -> None:
    write_frame(frame.drop("experiment"), tmp_path / "dark_mode.parquet")
    write_frame(frame.drop("experiment"), tmp_path / "streaks.csv")
    write_metrics(tmp_path)
    assert sorted(load_dataset(tmp_path).experiments) == ["dark_mode", "streaks"]


def test_csv_ids_that_look_like_numbers_stay_text(tmp_path: Path, frame: pl.DataFrame) -> None:
    units = frame.with_columns(
        pl.lit("058875").alias("experiment"),
        pl.when(pl.col("variant") == "control")
        .then(pl.lit("00"))
        .otherwise(pl.lit("01"))
        .alias("variant"),
    )
    write_frame(units, fresh(tmp_path, "u") / "u.csv")
    write_metrics(tmp_path / "u")
    summary = summary_rows(frame, False, False).with_columns(
        pl.lit("007").alias("experiment"),
        pl.when(pl.col("variant") == "control")
        .then(pl.lit("00"))
        .otherwise(pl.lit("01"))
        .alias("variant"),
    )
    write_frame(summary, fresh(tmp_path, "s") / "s.csv")
    write_metrics(tmp_path / "s")
    for name, eid in (("u", "058875"), ("s", "007")):
        with pytest.raises(InputError, match="no variant named like a control"):
            load_dataset(tmp_path / name)  # "00"/"01": nothing says which is the control
        ds = load_dataset(tmp_path / name, control="00")
        assert list(ds.experiments) == [eid]
        assert ds.experiments[eid].variants == ("00", "01")
        assert ds.experiments[eid].control == "00"


def test_control_from_experiments_toml(tmp_path: Path, frame: pl.DataFrame) -> None:
    write_frame(frame, tmp_path / "d.csv")
    write_metrics(tmp_path)
    write_toml(
        tmp_path / "experiments.toml", {"experiments": {"onboarding": {"control": "treatment"}}}
    )
    readout = build_readout(load_dataset(tmp_path)).experiments["onboarding"]
    assert readout.experiment.control == "treatment"
    assert [t.variant for t in readout.treatments] == ["control"]


def test_units_in_two_variants_make_the_experiment_invalid(tmp_path: Path, frame: pl.DataFrame):
    crossed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 3)
        .then(pl.lit("u700"))
        .otherwise(pl.col("unit_id"))
        .alias("unit_id")
    )
    crossed = crossed.with_columns(
        pl.when(pl.col("unit_id") == "u700")
        .then(pl.lit("u0"))
        .otherwise(pl.col("unit_id"))
        .alias("unit_id")
    )
    # u0 now appears in control (row 0..2) and in treatment (the old u700)
    write_frame(crossed, tmp_path / "d.parquet")
    write_metrics(tmp_path)
    t = build_readout(load_dataset(tmp_path)).experiments["onboarding"].treatments[0]
    assert t.verdict == "invalid"
    assert "1 units were exposed to more than one variant" in t.reasons[0].text


def test_repeated_unit_rows_make_the_experiment_invalid(tmp_path: Path, frame: pl.DataFrame):
    repeated = pl.concat([frame, frame.head(4)])
    write_frame(repeated, tmp_path / "d.parquet")
    write_metrics(tmp_path)
    t = build_readout(load_dataset(tmp_path)).experiments["onboarding"].treatments[0]
    assert t.verdict == "invalid" and "appear on more than one row" in t.reasons[0].text


def test_nan_cells_are_missing_values(tmp_path: Path, frame: pl.DataFrame) -> None:
    """NaN in a float column (Parquet) is a missing value: left out and noted, like null."""
    every_9th = pl.int_range(pl.len()) % 9 == 0
    nan_frame = frame.with_columns(
        pl.when(every_9th).then(float("nan")).otherwise(pl.col("lessons")).alias("lessons"),
        pl.when(every_9th).then(float("nan")).otherwise(pl.col("minutes")).alias("minutes"),
    )
    null_frame = frame.with_columns(
        pl.when(every_9th).then(None).otherwise(pl.col("lessons")).alias("lessons"),
        pl.when(every_9th).then(None).otherwise(pl.col("minutes")).alias("minutes"),
    )
    a, b = fresh(tmp_path, "nan"), fresh(tmp_path, "null")
    write_frame(nan_frame, a / "d.parquet")
    write_frame(null_frame, b / "d.parquet")
    for d in (a, b):
        write_metrics(d)
    got, want = figures(a), figures(b)
    assert_same_figures(want, got)
    assert all(np.isfinite(got["p_value"].to_numpy()))
    missing = 1240 // 9 + 1
    notes = load_dataset(a).experiments["onboarding"].notes
    gap = f"lessons: {missing} of 1240 units have no finite value (empty, NaN or infinite)"
    assert f"{gap} and are left out." in notes


def test_a_metric_missing_from_one_file_is_a_note(tmp_path: Path, frame: pl.DataFrame) -> None:
    write_frame(frame, tmp_path / "a.parquet")
    other = make_units(42, {"control": 300, "treatment": 300}, experiment="other")
    write_frame(other.drop("clicks"), tmp_path / "b.parquet")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path))
    notes = readout.experiments["other"].notes
    assert any("b.parquet has no column for clicks" in n for n in notes)
    metrics = [m.metric for m in readout.experiments["other"].treatments[0].metrics]
    assert "clicks" not in metrics and "lessons" in metrics


def test_unit_and_summary_files_side_by_side(tmp_path: Path, frame: pl.DataFrame) -> None:
    write_frame(frame, tmp_path / "onboarding.parquet")
    other = make_units(43, {"control": 500, "variant_b": 520}, experiment="pricing")
    write_frame(summary_rows(other, True, False), tmp_path / "warehouse.csv")
    write_metrics(tmp_path)
    readout = build_readout(load_dataset(tmp_path))
    assert sorted(readout.experiments) == ["onboarding", "pricing"]
    assert readout.experiments["pricing"].srm.counts == {"control": 500, "variant_b": 520}


def test_dates_as_text_datetime_and_date(tmp_path: Path, frame: pl.DataFrame) -> None:
    as_date = fresh(tmp_path, "date")
    write_frame(frame, as_date / "d.parquet")
    as_datetime = fresh(tmp_path, "datetime")
    write_frame(frame.with_columns(pl.col("date").cast(pl.Datetime)), as_datetime / "d.parquet")
    as_text = fresh(tmp_path, "text")
    write_frame(frame, as_text / "d.csv")
    for d in (as_date, as_datetime, as_text):
        write_metrics(d)
    readouts = [
        build_readout(load_dataset(d)).experiments["onboarding"]
        for d in (as_date, as_datetime, as_text)
    ]
    first = frame["date"].min()
    assert isinstance(first, dt.date)
    for r in readouts:
        assert (r.first_date, r.days) == (first, (frame["date"].max() - first).days + 1)


def test_default_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NSEXP_DATA_DIR", raising=False)
    assert default_data_dir() == Path("data")
    monkeypatch.setenv("NSEXP_DATA_DIR", "/srv/experiments")
    assert default_data_dir() == Path("/srv/experiments")


def test_csv_whole_numbers_then_a_fraction_far_down(tmp_path: Path) -> None:
    """Type inference sees the first rows only: a late 2.5 or a late text id must still read."""
    n = 12_000
    frame = pl.DataFrame(
        {
            "variant": ["control", "treatment"] * (n // 2),
            "unit_id": [str(i) for i in range(n - 1)] + ["u-last"],
            "lessons": [1, 2, 3, 4] * (n // 4),
        }
    ).with_columns(
        pl.when(pl.int_range(pl.len()) == n - 1)
        .then(pl.lit("2.5"))
        .otherwise(pl.col("lessons").cast(pl.String))
        .alias("lessons")
    )
    frame.write_csv(tmp_path / "late.csv")
    write_metrics(tmp_path, {"lessons": METRICS["lessons"]})
    row = build_readout(load_dataset(tmp_path)).results.row(0, named=True)
    values = frame["lessons"].cast(pl.Float64).to_numpy()
    variant = frame["variant"].to_numpy()
    assert row["treatment_mean"] == pytest.approx(values[variant == "treatment"].mean(), rel=RTOL)
    assert row["control_mean"] == pytest.approx(values[variant == "control"].mean(), rel=RTOL)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_daily_moments_with_a_one_unit_day(tmp_path: Path, frame: pl.DataFrame, suffix: str):
    """A day on which an arm saw one unit (variance NaN) still adds up to the unit-level result."""
    first_day = frame["date"].min()
    lone = (pl.col("variant") == "control") & (pl.col("date") == first_day)
    trimmed = pl.concat([frame.filter(lone).head(1), frame.filter(~lone)])
    units, daily = fresh(tmp_path, "units"), fresh(tmp_path, "daily")
    write_frame(trimmed, units / f"onboarding{suffix}")
    moments = summary_rows(trimmed, True, True)
    assert moments.filter(pl.col("n") == 1).height == len(METRICS)
    write_frame(moments, daily / f"s{suffix}")
    for d in (units, daily):
        write_metrics(d)
    assert_same_figures(figures(units), figures(daily))


def test_utf8_byte_order_marks_are_read_as_nothing(tmp_path: Path) -> None:
    """A CSV whose first column is `variant`, metrics.toml and experiments.toml, each saved
    with a UTF-8 byte-order mark (as Windows editors do), read as without it."""
    frame = make_units(4, {"control": 200, "treatment": 200}).select("variant", *METRIC_COLUMNS)
    plain, marked = fresh(tmp_path, "plain"), fresh(tmp_path, "bom")
    for d in (plain, marked):
        write_frame(frame, d / "exp.csv")
        write_metrics(d)
        write_toml(d / "experiments.toml", {"experiments": {"exp": {"control": "control"}}})
    for name in ("exp.csv", "metrics.toml", "experiments.toml"):
        path = marked / name
        path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8-sig")
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert_same_figures(figures(plain), figures(marked))
    assert load_dataset(marked).experiments["exp"].control == "control"


def test_fingerprint_is_the_same_wherever_the_files_sit(tmp_path: Path) -> None:
    """The same files hash alike in any folders (CI clones the repo elsewhere): names and bytes,
    not the folders' paths, order the hash."""
    from nsexp.io.dataset import fingerprint

    def lay_out(data: str, catalog: str) -> str:
        files = [tmp_path / data / "runs.csv", tmp_path / catalog / "metrics.toml"]
        for f, text in zip(files, ("variant,x\nA,1\n", "[metrics]\n"), strict=True):
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(text)
        return fingerprint(files)

    assert lay_out("a/data", "z/catalog") == lay_out("z/data", "a/catalog")
    assert lay_out("b/data", "c/catalog") != fingerprint([tmp_path / "b/data/runs.csv"])


def test_the_fingerprint_hashed_beside_the_scan_is_the_files_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files are hashed in a thread while they are read: the same fingerprint as hashing
    them after, and where the thread could not read a file, hashed again by the caller."""
    from nsexp.io import dataset

    write_metrics(tmp_path)
    write_frame(make_units(7, {"control": 200, "treatment": 200}), tmp_path / "units.parquet")
    want = dataset.fingerprint([tmp_path / "units.parquet", tmp_path / "metrics.toml"])
    assert load_dataset(tmp_path).fingerprint == want
    real, calls = dataset.fingerprint, []

    def flaky(paths: list[Path]) -> str:
        calls.append(paths)
        if len(calls) == 1:
            raise OSError("the file was replaced while it was hashed")
        return real(paths)

    monkeypatch.setattr(dataset, "fingerprint", flaky)
    assert load_dataset(tmp_path).fingerprint == want and len(calls) == 2
