"""Reading stays bounded: limits on metrics, columns, rows, cells and experiment × arm × metric
figures checked before the work they bound, duplicate column names refused, overflowing sums
refused with the column named, and the number of passes over a file independent of the number
of metrics."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from helpers import CliRunner, write_metrics

import nsexp.config.catalog as catalog_module
import nsexp.io.dataset as dataset_module
import nsexp.io.files as files
import nsexp.io.limits as limits_module
from nsexp.analysis.settings import BOOTSTRAP_CHOICES
from nsexp.config.catalog import load_catalog
from nsexp.errors import InputError
from nsexp.io import load_dataset
from nsexp.io.limits import UPLOAD_LIMITS, Limits, check_resamples
from nsexp.io.overflow import check_finite_sums

NS = {"lessons": {"role": "north_star", "type": "mean"}}


def catalog_of(n: int, broken: bool = False) -> dict[str, dict]:
    tables = {f"m{i}": {"role": "leading", "type": "mean"} for i in range(n)}
    if broken:
        tables["m0"] = {"role": "kpi"}
    return NS | tables


def units_csv(path: Path, columns: list[str], rows: int = 6, cell: str = "1") -> Path:
    lines = [",".join(["variant", *columns])]
    lines += [
        ",".join([("control", "treat")[r % 2], *(cell for _ in columns)]) for r in range(rows)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_catalog_limit_is_checked_before_any_metric(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(catalog_module, "MAX_METRICS", 5)
    write_metrics(tmp_path, catalog_of(5, broken=True))  # 6 metrics, one of them invalid
    with pytest.raises(InputError) as refused:
        load_catalog(tmp_path / "metrics.toml")
    assert "declares 6 metrics, more than the limit of 5" in refused.value.message
    write_metrics(tmp_path, catalog_of(4))
    assert len(load_catalog(tmp_path / "metrics.toml").metrics) == 5


def test_columns_limit_in_a_csv(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_COLUMNS", 10)
    write_metrics(tmp_path, NS)
    units_csv(tmp_path / "x.csv", ["lessons", *(f"c{i}" for i in range(9))])
    with pytest.raises(InputError) as refused:
        load_dataset(tmp_path)
    assert "x.csv: has 11 columns, more than the limit of 10" in refused.value.message
    assert "split the metrics over several files" in refused.value.message


def test_quoted_names_are_counted_as_one_column(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_COLUMNS", 3)
    path = tmp_path / "q.csv"
    path.write_text('\ufeffvariant,lessons,"a, b"\ncontrol,1,2\n')
    assert files._csv_header(path) == ["variant", "lessons", "a, b"]
    files.check_width(path)


def test_a_header_line_past_the_cap_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(files, "MAX_HEADER_BYTES", 50)
    path = units_csv(tmp_path / "long.csv", [f"column_{i}" for i in range(10)])
    with pytest.raises(InputError, match="header line longer than 50 bytes"):
        files.check_width(path)


def test_parquet_columns_and_metadata_limits(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "w.parquet"
    pl.DataFrame({"variant": ["c"], **{f"c{i}": [1] for i in range(20)}}).write_parquet(path)
    monkeypatch.setattr(files, "MAX_COLUMNS", 10)
    with pytest.raises(InputError, match="has 21 columns, more than the limit of 10"):
        files.check_width(path)
    monkeypatch.setattr(files, "MAX_COLUMNS", 100)
    files.check_width(path)
    monkeypatch.setattr(files, "MAX_PARQUET_FOOTER_BYTES", 100)
    with pytest.raises(InputError, match="bytes of Parquet metadata, more than 100"):
        files.check_width(path)


def test_duplicate_column_names_are_refused(tmp_path: Path) -> None:
    write_metrics(tmp_path, NS)
    (tmp_path / "d.csv").write_text("variant,lessons,x,x\ncontrol,1,2,3\ntreat,1,2,3\n")
    with pytest.raises(InputError) as refused:
        load_dataset(tmp_path)
    assert refused.value.message.startswith(f"{tmp_path / 'd.csv'}: column 'x': appears twice")


def count_passes(monkeypatch) -> list[int]:
    calls = [0]
    real_collect, real_all = pl.LazyFrame.collect, pl.collect_all

    def collect(self, *args, **kwargs):
        calls[0] += 1
        return real_collect(self, *args, **kwargs)

    def collect_all(queries, *args, **kwargs):
        calls[0] += 1
        return real_all(queries, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", collect)
    monkeypatch.setattr(pl, "collect_all", collect_all)
    return calls


@pytest.mark.parametrize("cell", ["1", ""])  # numbers, or all-empty columns read as text
def test_passes_over_a_file_do_not_grow_with_the_metrics(
    tmp_path: Path, monkeypatch, cell: str
) -> None:
    counts = []
    for n in (5, 60):
        folder = tmp_path / f"{n}{cell or 'empty'}"
        folder.mkdir()
        write_metrics(folder, catalog_of(n))
        columns = ["lessons", *(f"m{i}" for i in range(n))]
        units_csv(folder / "x.csv", columns, cell=cell)
        if not cell:  # the North Star needs values
            frame = pl.read_csv(folder / "x.csv", infer_schema_length=0)
            frame.with_columns(lessons=pl.lit("1")).write_csv(folder / "x.csv")
        calls = count_passes(monkeypatch)
        load_dataset(folder)
        counts.append(calls[0])
        monkeypatch.undo()
    assert counts[0] == counts[1], counts


def test_overflowing_unit_sums_name_the_column(tmp_path: Path) -> None:
    write_metrics(
        tmp_path,
        NS | {"mps": {"role": "leading", "type": "ratio", "numerator": "m", "denominator": "s"}},
    )
    (tmp_path / "x.csv").write_text(
        "variant,lessons,m,s\ncontrol,1,1,1e200\ncontrol,2,1,1\ntreat,1,1,1\ntreat,2,2,1\n"
    )
    with pytest.raises(InputError) as refused:
        load_dataset(tmp_path)
    message = refused.value.message
    assert "column 's'" in message and "den_sum_sq" in message and "rescale" in message


def test_finite_sums_pass_and_cover_every_sum() -> None:
    from nsexp.config.catalog import parse_catalog
    from nsexp.io.schema import SUMMARY_SCHEMA

    catalog = parse_catalog({"metrics": NS})
    row = {c: None for c in SUMMARY_SCHEMA} | {
        "experiment": "e", "variant": "c", "metric": "lessons", "n": 2, "sum": 1.0, "sum_sq": 1.0,
    }  # fmt: skip
    frame = pl.DataFrame([row], schema=SUMMARY_SCHEMA)
    check_finite_sums(frame, catalog, Path("x.csv"))
    with pytest.raises(InputError, match=r"column 'lessons'.*sum_sq"):
        check_finite_sums(frame.with_columns(sum_sq=pl.lit(float("inf"))), catalog, Path("x.csv"))


def fail(*args, **kwargs):
    raise AssertionError("called where it must not be")


def refuse_reading(monkeypatch) -> None:
    """Make any read of a data file's rows fail the test: a refusal must come before it."""
    monkeypatch.setattr(dataset_module, "_read_all", fail)


def parquet_units(path: Path, rows: int) -> Path:
    pl.DataFrame(
        {"variant": ["control", "treat"] * (rows // 2), "lessons": [1.0, 2.0] * (rows // 2)}
    ).write_parquet(path, row_group_size=rows // 4)
    return path


def test_rows_limit_is_checked_from_parquet_metadata_before_reading(
    tmp_path: Path, monkeypatch
) -> None:
    write_metrics(tmp_path, NS)
    parquet_units(tmp_path / "a.parquet", 600)
    parquet_units(tmp_path / "b.parquet", 600)
    refuse_reading(monkeypatch)
    with pytest.raises(InputError) as refused:
        load_dataset(tmp_path, limits=Limits(rows=1_000))
    message = refused.value.message
    assert message.startswith(f"{tmp_path / 'b.parquet'}: the data files hold at least 1,200 rows")
    assert "more than the limit of 1,000; aggregate the units first" in message
    assert "NSEXP_MAX_ROWS" not in message  # an upload's limit is not the reader's to raise
    monkeypatch.setenv("NSEXP_MAX_ROWS", "1_000")
    with pytest.raises(InputError, match=r"1,200 rows.*or raise NSEXP_MAX_ROWS"):
        load_dataset(tmp_path)


def test_cells_limit_counts_every_column_of_a_csv_before_reading(
    tmp_path: Path, monkeypatch
) -> None:
    write_metrics(tmp_path, NS)
    units_csv(tmp_path / "x.csv", ["lessons", "a", "b"], rows=10)  # 4 columns × 10 rows
    refuse_reading(monkeypatch)
    with pytest.raises(InputError, match=r"at least 40 cells \(rows × columns\).*limit of 39"):
        load_dataset(tmp_path, limits=Limits(cells=39))
    monkeypatch.undo()
    assert load_dataset(tmp_path, limits=Limits(rows=10, cells=40)).summary.height > 0


def test_csv_rows_are_its_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    for text in ("variant\n", "variant\nc\nt\n", "variant\nc\nt", "variant\r\nc\r\nt\r\n"):
        path.write_text(text, newline="")
        assert limits_module._line_breaks(path) == 1 + pl.read_csv(path).height, text
    path.write_text("")
    assert limits_module._line_breaks(path) == 0


def test_without_limits_no_file_is_measured(tmp_path: Path, monkeypatch) -> None:
    """The CLI's default: no limit, and no extra pass over the files."""
    write_metrics(tmp_path, NS)
    parquet_units(tmp_path / "a.parquet", 8)
    monkeypatch.delenv("NSEXP_MAX_ROWS", raising=False)
    monkeypatch.setattr(limits_module, "_shape", fail)
    assert Limits.from_env() == Limits(operator=True)
    assert load_dataset(tmp_path).summary.height == 2


def test_arm_metrics_limit_is_checked_before_any_statistic(tmp_path: Path) -> None:
    write_metrics(tmp_path, NS | {"clicks": {"role": "vanity", "type": "mean"}})
    rows = [
        f"e{e},{v},{m},10,{10 + e},{30 + e}"
        for e in range(3)
        for v in ("control", "treat")
        for m in ("lessons", "clicks")
    ]
    (tmp_path / "s.csv").write_text("experiment,variant,metric,n,sum,sum_sq\n" + "\n".join(rows))
    with pytest.raises(InputError) as refused:
        load_dataset(tmp_path, limits=Limits(arm_metrics=11))
    assert refused.value.message == (
        "the data holds 12 experiment × arm × metric figures (3 experiments), more than the "
        "limit of 11 per readout; read fewer experiments at a time (e.g. one quarter's), or "
        "fewer metrics"
    )
    assert len(load_dataset(tmp_path, limits=Limits(arm_metrics=12)).experiments) == 3


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1e9", "1.5"])
def test_a_bad_limit_in_the_environment_is_one_message(monkeypatch, raw: str) -> None:
    monkeypatch.setenv("NSEXP_MAX_CELLS", raw)
    with pytest.raises(InputError) as refused:
        Limits.from_env()
    assert refused.value.message.startswith(f"NSEXP_MAX_CELLS={raw!r} is not a positive whole")


def test_limits_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("NSEXP_MAX_ROWS", " 10_000_000 ")
    monkeypatch.setenv("NSEXP_MAX_ARM_METRICS", "40000")
    monkeypatch.setenv("NSEXP_MAX_CELLS", "")
    assert Limits.from_env() == Limits(rows=10_000_000, arm_metrics=40_000, operator=True)
    assert set(limits_module.ENV.values()) == {
        "NSEXP_MAX_ROWS", "NSEXP_MAX_CELLS", "NSEXP_MAX_ARM_METRICS",
    }  # fmt: skip


def test_an_upload_at_the_documented_portfolio_size_fits() -> None:
    """1,000 experiments × 10 arms × 3 metrics (issue 19) is within an upload's limits."""
    assert UPLOAD_LIMITS.arm_metrics is not None and UPLOAD_LIMITS.arm_metrics >= 1_000 * 10 * 3


@pytest.mark.parametrize("command", ["readout", "tree", "proxies"])
def test_the_cli_refuses_past_its_environment_limits_with_one_line(
    tmp_path: Path, monkeypatch, run_cli: CliRunner, command: str
) -> None:
    write_metrics(tmp_path, NS)
    parquet_units(tmp_path / "a.parquet", 20)
    monkeypatch.setenv("NSEXP_MAX_ROWS", "10")
    code, out, err = run_cli(command, tmp_path)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"error: {tmp_path / 'a.parquet'}: the data files hold at least 20 rows, more than the "
        "limit of 10; aggregate the units first: summary rows (one per experiment, arm and "
        "metric), or raise NSEXP_MAX_ROWS"
    ]
    monkeypatch.delenv("NSEXP_MAX_ROWS")
    assert run_cli(command, tmp_path)[0] == 0


def test_resamples_limit_counts_units_times_resamples() -> None:
    limits = Limits(unit_resamples=1_000_000)
    check_resamples(1_000, 1_000, limits)  # at the limit
    with pytest.raises(InputError) as refused:
        check_resamples(1_001, 1_000, limits)
    assert refused.value.message == (
        "a bootstrap of 1,000 resamples of 1,001 units draws up to 1,001,000 weights, more than "
        "the limit of 1,000,000 per request; run `nsexp readout --bootstrap N` on the data, "
        "where it has no limit"
    )
    check_resamples(10**9, 10**5, Limits.from_env())  # the CLI's and the operator's: none
    # the demo's 100,000-unit experiment at the largest bootstrap a link may ask for
    check_resamples(100_000, max(BOOTSTRAP_CHOICES), UPLOAD_LIMITS)
