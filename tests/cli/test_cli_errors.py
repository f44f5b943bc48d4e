"""The CLI's bad-input corpus (exit 2, one `error:` line naming file, column or key, and fix)
and the inputs that look odd but are not errors (exit 0, finite explained results)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import METRICS, CliRunner, make_units, write_frame, write_metrics, write_toml

Setup = Callable[[Path], tuple[list[str], tuple[str, ...]]]


def base(tmp: Path, frame: pl.DataFrame | None = None, name: str = "exp.csv") -> Path:
    """A valid data dir: a small two-arm experiment and the standard metrics.toml."""
    data = frame if frame is not None else make_units(1, {"control": 200, "treatment": 200})
    write_frame(data, tmp / name)
    write_metrics(tmp)
    return tmp / name


def summary(tmp: Path, **changes: Any) -> Path:
    """A valid summary file with two arms of the North Star; `changes` edit the treatment row."""
    rows = [
        {
            "experiment": "s",
            "variant": "control",
            "metric": "lessons",
            "n": 100,
            "sum": 500.0,
            "sum_sq": 2900.0,
        },
        {
            "experiment": "s",
            "variant": "treatment",
            "metric": "lessons",
            "n": 100,
            "sum": 520.0,
            "sum_sq": 3100.0,
        }
        | changes,
    ]
    pl.DataFrame(rows).write_csv(tmp / "sums.csv")
    write_metrics(tmp, {"lessons": METRICS["lessons"]})
    return tmp / "sums.csv"


def catalog(tmp: Path, **overrides: dict[str, Any]) -> Path:
    """The standard data with a metrics.toml whose tables are changed by `overrides`."""
    base(tmp)
    write_metrics(tmp, {m: {**spec, **overrides.get(m, {})} for m, spec in METRICS.items()})
    return tmp


def case_missing_path(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(tmp / "nowhere")], ("nowhere", "no such file", "pass a data directory")


def case_corrupt_parquet(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "broken.parquet").write_bytes(b"PAR1 this is not really parquet at all PAR1")
    return [str(tmp)], ("broken.parquet", "cannot read", "valid CSV or Parquet")


def case_corrupt_csv(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "binary.csv").write_bytes(b"variant,lessons\n\xff\xfe\x00\x81,\x00\x9f\n")
    return [str(tmp)], ("binary.csv",)


def case_empty_file(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "empty.csv").write_bytes(b"")
    return [str(tmp)], ("empty.csv", "empty", "export the data again")


def case_header_only(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "header.csv").write_text("variant,lessons,retained,minutes,sessions,clicks,errors\n")
    return [str(tmp)], ("header.csv", "no rows", "export the data again")


def case_no_data_files(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    write_metrics(tmp)
    return [str(tmp)], (str(tmp), "no CSV or Parquet files", "add experiment data")


def case_not_a_data_file(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    (tmp / "notes.txt").write_text("hello")
    return [str(tmp / "notes.txt")], ("notes.txt", "not a CSV or Parquet", ".csv")


def case_missing_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).rename({"variant": "arm"})
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'variant'", "no variant column", "[columns]")


def case_missing_metric_column(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp, make_units(1, {"control": 50, "treatment": 50}).drop("clicks"))
    return [str(tmp)], (
        "metrics.toml",
        "column 'clicks'",
        "no data file has it",
        "[metrics.clicks]",
    )


def case_non_numeric_metric(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("lots"))
        .otherwise(pl.col("clicks").cast(pl.String))
        .alias("clicks")
    )
    base(tmp, frame)
    return [str(tmp)], (
        "exp.csv",
        "column 'clicks'",
        "'lots'",
        "not numbers",
        "export the metric as numbers",
    )


def _bad_n(tmp: Path, n: int) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, n=n))], ("sums.csv", "column 'n'", f"n = {n}", "positive whole")


def case_zero_n(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _bad_n(tmp, 0)


def case_negative_n(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _bad_n(tmp, -5)


def case_fractional_n(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, n=10.5))], ("sums.csv", "column 'n'", "whole number")


def case_impossible_sum_sq(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    # sum 520 over 100 units needs sum_sq >= 520^2 / 100 = 2704
    return [str(summary(tmp, sum_sq=2000.0))], (
        "sums.csv",
        "column 'sum_sq'",
        "impossible",
        "sum²/n",
    )


def case_negative_variance(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    rows = [
        {
            "experiment": "s",
            "variant": v,
            "metric": "lessons",
            "n": 10,
            "mean": 5.0,
            "variance": var,
        }
        for v, var in (("control", 1.0), ("treatment", -1.0))
    ]
    pl.DataFrame(rows).write_csv(tmp / "moments.csv")
    write_metrics(tmp, {"lessons": METRICS["lessons"]})
    return [str(tmp)], ("moments.csv", "column 'variance'", "negative variance", "ddof=1")


def case_missing_sum(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, sum=None))], ("sums.csv", "column 'sum'", "fill in")


def case_unknown_role(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"role": "kpi"})
    return [str(tmp)], ("metrics.toml", "[metrics.clicks]", "'kpi'", "north_star, leading")


def case_unknown_type(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"type": "count"})
    return [str(tmp)], ("metrics.toml", "[metrics.clicks]", "'count'", "proportion, mean, ratio")


def case_unknown_direction(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"direction": "up"})
    return [str(tmp)], ("metrics.toml", "[metrics.clicks]", "'up'", "increase or decrease")


def case_no_north_star(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, lessons={"role": "leading"})
    return [str(tmp)], ("metrics.toml", "north_star", "found none", "mark the one metric")


def case_two_north_stars(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"role": "north_star"})
    return [str(tmp)], ("metrics.toml", "lessons, clicks", "exactly one")


def case_ratio_without_denominator(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    metrics = dict(METRICS)
    metrics["minutes_per_session"] = {"role": "leading", "type": "ratio", "numerator": "minutes"}
    write_metrics(tmp, metrics)
    return [str(tmp)], ("metrics.toml", "[metrics.minutes_per_session]", "denominator")


def case_bad_metrics_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "metrics.toml").write_text('[metrics.lessons\nrole = "north_star"\n')
    return [str(tmp)], ("metrics.toml", "not valid TOML", "fix the TOML syntax")


def case_bad_experiments_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "experiments.toml").write_text("[experiments.exp]\ncontrol = \n")
    return [str(tmp)], ("experiments.toml", "not valid TOML", "fix the TOML syntax")


def case_missing_metrics_file(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--metrics", str(tmp / "other.toml")], (
        "other.toml",
        "not found",
        "--metrics",
    )


def case_control_not_in_data(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    write_toml(tmp / "experiments.toml", {"experiments": {"exp": {"control": "baseline"}}})
    return [str(tmp)], ("experiments.toml", "[experiments.exp]", "'baseline'", "control, treatment")


def case_split_names_unknown_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    split = {"expected_split": {"control": 0.5, "b": 0.5}}
    write_toml(tmp / "experiments.toml", {"experiments": {"exp": split}})
    return [str(tmp)], ("experiments.toml", "expected_split", "'b'", "use the variants found")


def case_mapped_column_clashes(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.col("variant").alias("version")
    )
    base(tmp, frame)
    write_metrics(tmp, columns={"variant": "version"})
    return [str(tmp)], ("exp.csv", "column 'variant'", "'version'", "remove the mapping")


def case_unknown_columns_key(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    write_metrics(tmp, columns={"arm": "version"})
    return [str(tmp)], ("metrics.toml", "[columns]", "'arm'", "experiment, variant")


def case_one_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp, make_units(1, {"control": 80}))
    return [str(tmp)], ("exp.csv", "only one variant", "column 'variant'", "needs a control")


def case_unknown_experiment(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--experiment", "nope"], ("'nope'", "use one of: exp")


def case_alpha_not_a_number(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--alpha", "five"], ("--alpha", "'five'", "nsexp --help")


def _alpha_out_of_range(tmp: Path, alpha: str) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--alpha", alpha], ("alpha", "not a significance level", "between 0 and 0.5")


def case_alpha_too_big(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _alpha_out_of_range(tmp, "0.7")


def case_alpha_zero(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _alpha_out_of_range(tmp, "0")


def case_alpha_negative(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _alpha_out_of_range(tmp, "-0.05")


def case_alpha_nan(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _alpha_out_of_range(tmp, "nan")


def case_alpha_inf(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _alpha_out_of_range(tmp, "inf")


def case_bad_correction(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--correction", "bonferroni"], ("--correction", "'bonferroni'", "holm")


def case_proportion_above_one(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        (pl.col("errors") * 3).alias("errors")
    )
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'errors'", "outside 0..1", 'type = "mean"')


def case_proportion_negative(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        (pl.col("errors") - 1).alias("errors")
    )
    base(tmp, frame, "exp.parquet")
    return [str(tmp)], ("exp.parquet", "column 'errors'", "outside 0..1")


def case_summary_conversions_above_n(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    rows = [
        {"experiment": "s", "variant": v, "metric": "errors", "n": 100, "sum": k, "sum_sq": k}
        for v, k in (("control", 5.0), ("treatment", 130.0))
    ]
    pl.DataFrame(rows).write_csv(tmp / "sums.csv")
    write_metrics(tmp, {"lessons": METRICS["lessons"], "errors": METRICS["errors"]})
    return [str(tmp)], ("sums.csv", "column 'sum'", "130 conversions", "between 0 and n")


def case_summary_unknown_metric(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, metric="revenue"))], (
        "sums.csv",
        "column 'metric'",
        "'revenue'",
        "[metrics.revenue]",
    )


def case_summary_ratio_without_cross_sums(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    rows = [
        {"experiment": "s", "variant": v, "metric": m, "n": 100, "sum": 500.0, "sum_sq": 3000.0}
        for v in ("control", "treatment")
        for m in ("lessons", "minutes_per_session")
    ]
    pl.DataFrame(rows).write_csv(tmp / "sums.csv")
    ratio = {"minutes_per_session": METRICS["minutes_per_session"]}
    write_metrics(tmp, {"lessons": METRICS["lessons"]} | ratio)
    return [str(tmp)], ("sums.csv", "column 'den_sum'", "den_sum, den_sum_sq and num_den_sum")


def case_summary_impossible_den_sum_sq(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    rows = [
        {"experiment": "s", "variant": v, "metric": m, "n": 100, "sum": 500.0, "sum_sq": 3000.0}
        | ({"den_sum": 300.0, "den_sum_sq": 500.0, "num_den_sum": 1600.0} if m != "lessons" else {})
        for v in ("control", "treatment")
        for m in ("lessons", "minutes_per_session")
    ]
    pl.DataFrame(rows).write_csv(tmp / "sums.csv")
    ratio = {"minutes_per_session": METRICS["minutes_per_session"]}
    write_metrics(tmp, {"lessons": METRICS["lessons"]} | ratio)
    # 300 over 100 units needs den_sum_sq >= 300^2 / 100 = 900
    return [str(tmp)], ("sums.csv", "column 'den_sum_sq'", "impossible", "den_sum²/n")


def case_summary_infinite_sum(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, sum=float("inf")))], ("sums.csv", "column 'sum'", "no finite sum")


def case_summary_duplicate_rows(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    path = summary(tmp)
    frame = pl.read_csv(path)
    pl.concat([frame, frame.tail(1)]).write_csv(path)
    return [str(tmp)], ("sums.csv", "repeat the same", "one row per key")


def case_bad_dates(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.lit("yesterday").alias("date")
    )
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'date'", "'yesterday'", "ISO dates")


def case_rows_without_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(None).otherwise(pl.col("variant")).alias("variant")
    )
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'variant'", "3 rows have no variant", "fill in")


def case_rows_without_experiment(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}, experiment="e").with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(None)
        .otherwise(pl.col("experiment"))
        .alias("experiment")
    )
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'experiment'", "1 rows have no experiment", "fill in")


def case_summary_rows_without_experiment(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return [str(summary(tmp, experiment=None))], ("sums.csv", "column 'experiment'", "fill in")


def case_same_experiment_in_two_files(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}, experiment="dup")
    base(tmp, frame, "a.csv")
    write_frame(frame, tmp / "b.parquet")
    return [str(tmp)], ("a.csv", "b.parquet", "more than one file", "keep each experiment")


def case_north_star_missing_for_an_experiment(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp, make_units(1, {"control": 50, "treatment": 50}), "with_ns.csv")
    write_frame(make_units(2, {"control": 50, "treatment": 50}).drop("lessons"), tmp / "no_ns.csv")
    return [str(tmp)], ("no_ns.csv", "column 'lessons'", "North Star", "no_ns")


def case_arm_missing_a_metric(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    rows = [
        {"experiment": "s", "variant": v, "metric": m, "n": 100, "sum": 30.0, "sum_sq": 30.0}
        for v in ("control", "treatment")
        for m in ("lessons", "errors")
        if (v, m) != ("control", "errors")
    ]
    pl.DataFrame(rows).write_csv(tmp / "sums.csv")
    write_metrics(tmp, {"lessons": METRICS["lessons"], "errors": METRICS["errors"]})
    return [str(tmp)], ("sums.csv", "errors", "control", "variant")


# ----------------------------------------------- issue 14: hostile input, each one line, exit 2

NESTED = "x = " + "[" * 600 + "]" * 600 + "\n"  # about 1 KB; tomllib recurses per level


def case_nested_metrics_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "metrics.toml").write_text(NESTED)
    return [str(tmp)], ("metrics.toml", "nested too deeply", "flatten")


def case_nested_experiments_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "experiments.toml").write_text(NESTED)
    return [str(tmp)], ("experiments.toml", "nested too deeply", "flatten")


def case_nested_source_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "source.toml").write_text(NESTED)
    return [str(tmp)], ("source.toml", "nested too deeply", "flatten")


def case_too_many_metrics(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    from nsexp.config.catalog import MAX_METRICS

    base(tmp)
    extra = {f"m{i}": {"role": "leading", "type": "mean"} for i in range(MAX_METRICS)}
    write_metrics(tmp, {**METRICS, **extra})
    return [str(tmp)], ("metrics.toml", f"more than the limit of {MAX_METRICS:,}", "split")


def case_too_many_columns(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    from nsexp.io.files import MAX_COLUMNS

    base(tmp)
    header = ",".join(["variant", "lessons", *(f"c{i}" for i in range(MAX_COLUMNS))])
    (tmp / "wide.csv").write_text(header + "\n" + "control,1" + ",0" * MAX_COLUMNS + "\n")
    return [str(tmp)], ("wide.csv", f"{MAX_COLUMNS + 2:,} columns", f"at most {MAX_COLUMNS:,}")


def case_header_line_too_long(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    from nsexp.io.files import MAX_HEADER_BYTES

    base(tmp)
    (tmp / "long.csv").write_text("variant,lessons," + "x" * MAX_HEADER_BYTES + "\ncontrol,1,2\n")
    return [str(tmp)], ("long.csv", "header line longer than", "columns per file")


def case_too_many_parquet_columns(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    from nsexp.io.files import MAX_COLUMNS

    base(tmp)
    frame = pl.DataFrame({f"c{i}": [1] for i in range(MAX_COLUMNS + 1)})
    frame.with_columns(variant=pl.lit("control")).write_parquet(tmp / "wide.parquet")
    return [str(tmp)], ("wide.parquet", "more than the limit", "columns per file")


def case_duplicate_column_names(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    (tmp / "dup.csv").write_text("variant,lessons,lessons\ncontrol,1,2\ntreatment,2,3\n")
    return [str(tmp)], ("dup.csv", "column 'lessons'", "appears twice", "distinct name")


def case_unit_values_overflow_the_sums(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.when(pl.int_range(pl.len()) < 2)
        .then(1e308)
        .otherwise(pl.col("minutes"))
        .alias("minutes")
    )
    base(tmp, frame)
    return [str(tmp)], ("exp.csv", "column 'minutes'", "too large to add up", "rescale")


def case_unit_squares_overflow(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    frame = make_units(1, {"control": 50, "treatment": 50}).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(1e200)
        .otherwise(pl.col("lessons"))
        .alias("lessons")
    )
    base(tmp, frame, "exp.parquet")
    return [str(tmp)], ("exp.parquet", "column 'lessons'", "sum of their squares", "rescale")


def case_wide_summary_without_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    """The fuzzer's 4-row TypeError: an empty variant cell and differing control figures."""
    head = "experiment,variant,metric,count_c,count_t,mean_c,mean_t,variance_c,variance_t\n"
    rows = ("e,a,lessons,100,100,1.0,1.1,1,1\n", "e,,lessons,101,100,1.2,1.1,1,1\n")
    (tmp / "wide.csv").write_text(head + "".join(rows * 2))
    write_metrics(tmp, {"lessons": METRICS["lessons"]})
    return [str(tmp)], ("wide.csv", "column 'variant'", "rows have no variant", "fill in")


def case_password_in_source_url(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    url = "postgresql://analyst:hun@ter/2xyz@host/db"
    (tmp / "source.toml").write_text(f'engine = "postgres"\nurl = "{url}"\ntable = "t"\n')
    return [str(tmp)], ("source.toml", "postgresql://***@host/db", "NSEXP_PG_PASSWORD")


def case_password_in_source_dsn(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    dsn = "host=h dbname=d password=hunter2"
    (tmp / "source.toml").write_text(f'engine = "postgres"\nurl = "{dsn}"\ntable = "t"\n')
    return [str(tmp)], ("source.toml", "password=***", "PGPASSWORD")


# ------------------------------------- issue 19 item 8: tracebacks and silently ignored options


def case_negative_seed(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    args = [str(tmp), "--bootstrap", "10", "--seed", "-1"]
    return args, ("--seed -1", "is negative", "--seed 0")


def case_sequential_n_without_sequential(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--sequential-n", "100"], ("--sequential-n", "add --sequential")


def case_control_that_applies_to_no_experiment(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    write_toml(tmp / "experiments.toml", {"experiments": {"exp": {"control": "control"}}})
    return [str(tmp), "--control", "nosuch"], (
        "experiments.toml",
        "--control 'nosuch' applies to no experiment",
        "exp: 'control'",
        "drop --control",
    )


def case_control_not_a_variant(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    return [str(tmp), "--control", "nosuch"], ("'nosuch'", "control, treatment", "variants")


def case_covariate_is_the_metric_itself(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, lessons={"covariate": "lessons"})
    return [str(tmp)], ("metrics.toml", "[metrics.lessons]", "own column", "before the experiment")


def case_covariate_is_the_mapped_column(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"column": "clicks", "covariate": "clicks"})
    return [str(tmp)], ("[metrics.clicks]", "covariate = 'clicks'", "own column")


def case_empty_column(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, clicks={"column": ""})
    return [str(tmp)], ("metrics.toml", "[metrics.clicks]", 'column = ""', "leave column out")


def case_empty_covariate(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    catalog(tmp, lessons={"covariate": " "})
    return [str(tmp)], ("[metrics.lessons]", 'covariate = ""', "column name")


def case_start_not_a_date(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    write_toml(tmp / "experiments.toml", {"experiments": {"exp": {"start": "yesterday"}}})
    return [str(tmp)], ("experiments.toml", "[experiments.exp]", "'yesterday'", "ISO date")


def case_start_a_number(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    base(tmp)
    write_toml(tmp / "experiments.toml", {"experiments": {"exp": {"start": 20260131}}})
    return [str(tmp)], ("experiments.toml", "start = 20260131", "not a date")


def case_segment_by_an_id(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    from nsexp.io.segment import MAX_SEGMENT_VALUES

    base(tmp)
    return [str(tmp), "--segment", "unit_id"], (
        "exp.csv",
        "column 'unit_id'",
        "400 distinct values",
        f"2 to {MAX_SEGMENT_VALUES} values",
    )


# -------------------------------------- issue 19 item 9: encodings, compressed files, file names


def _recoded(tmp: Path, name: str, encoding: str) -> None:
    """The standard data with one file re-saved in another encoding."""
    base(tmp)
    path = tmp / name
    path.write_text(path.read_text(encoding="utf-8"), encoding=encoding)


def case_utf16_csv(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    _recoded(tmp, "exp.csv", "utf-16")  # with its byte-order mark
    return [str(tmp)], ("exp.csv", "is UTF-16 text", "save it as UTF-8")


def case_utf16_csv_without_a_bom(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    _recoded(tmp, "exp.csv", "utf-16-le")
    return [str(tmp)], ("exp.csv", "is UTF-16 text", "save it as UTF-8")


def case_utf16_metrics_toml(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    _recoded(tmp, "metrics.toml", "utf-16")
    return [str(tmp)], ("metrics.toml", "is UTF-16 text", "save it as UTF-8")


def _gzip_csv(tmp: Path, extra: bytes) -> tuple[list[str], tuple[str, ...]]:
    import gzip

    path = base(tmp)
    path.write_bytes(gzip.compress(path.read_bytes() + extra, compresslevel=1))
    return [str(tmp)], ("exp.csv", "is gzip-compressed", "decompress it")


def case_small_gzip_csv(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    return _gzip_csv(tmp, b"")


def case_gzip_csv_past_the_header_limit(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    """Compressed bytes past MAX_HEADER_BYTES with no newline byte: the same message."""
    from nsexp.io.files import MAX_HEADER_BYTES

    args, fragments = _gzip_csv(tmp, b"")
    rng = np.random.default_rng(3)
    noise = rng.integers(11, 256, MAX_HEADER_BYTES + 1000, dtype=np.uint8).tobytes()
    path = tmp / "exp.csv"
    path.write_bytes(path.read_bytes() + noise)
    return args, fragments


def case_zip_named_csv(tmp: Path) -> tuple[list[str], tuple[str, ...]]:
    import zipfile

    path = base(tmp)
    text = path.read_bytes()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("exp.csv", text)
    return [str(tmp)], ("exp.csv", "is a ZIP archive", "decompress it")


CASES: dict[str, Setup] = {
    name.removeprefix("case_"): fn
    for name, fn in dict(globals()).items()
    if name.startswith("case_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_exits_2_with_one_error_line(
    tmp_path: Path, run_cli: CliRunner, name: str
) -> None:
    args, fragments = CASES[name](tmp_path)
    assert_one_error(*run_cli("readout", *args), fragments)


def assert_one_error(code: int, out: str, err: str, fragments: tuple[str, ...]) -> None:
    """Exit 2, nothing on stdout, one `error:` line holding every fragment."""
    assert code == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    assert "hun" not in err and "2xyz" not in err  # no part of a password is ever printed
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


MEAN = ("--baseline-mean", "5", "--baseline-variance", "20", "--daily-units", "1000")
PLAN_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nan_mean": (
        ("--baseline-mean", "nan", "--baseline-variance", "1", "--effect", "0.02"),
        ("--baseline-mean nan", "not a finite number"),
    ),
    "inf_effect": ((*MEAN, "--effect", "inf"), ("--effect inf", "not a finite number")),
    "nan_daily_units": (
        ("--proportion", "0.2", "--effect", "0.02", "--daily-units", "nan"),
        ("--daily-units nan", "not a finite number"),
    ),
    "tiny_effect": ((*MEAN, "--effect", "1e-300"), ("--effect 1e-300", "too small to detect")),
    "tiny_effect_on_a_proportion": (
        ("--proportion", "0.2", "--effect", "1e-300", "--daily-units", "100"),
        ("--effect 1e-300", "too small to detect", "larger --effect"),
    ),
    "huge_effect": ((*MEAN, "--effect", "1e300"), ("--effect 1e+300", "at most ±10")),
    "no_metrics": ((*MEAN, "--effect", "0.1", "--metrics", "0"), ("--metrics", "1 to 10,000")),
    "nan_skewness": ((*MEAN, "--effect", "0.1", "--skewness", "nan"), ("--skewness nan",)),
    "huge_skewness": ((*MEAN, "--effect", "0.1", "--skewness", "1e6"), ("--skewness", "±10000")),
    "skewness_of_a_proportion": (
        ("--proportion", "0.2", "--effect", "0.1", "--skewness", "2"),
        ("--skewness is for mean metrics",),
    ),
    "huge_mean_and_variance": (
        ("--baseline-mean", "1e308", "--baseline-variance", "1e308", "--effect", "0.02"),
        ("--baseline-mean 1e+308", "other units"),
    ),
    "huge_variance": (
        ("--baseline-mean", "5", "--baseline-variance", "1e308", "--effect", "0.02"),
        ("--baseline-variance 1e+308", "other units"),
    ),
}


@pytest.mark.parametrize("name", sorted(PLAN_CASES))
def test_bad_plan_input_exits_2_with_one_error_line(run_cli: CliRunner, name: str) -> None:
    args, fragments = PLAN_CASES[name]
    daily = () if "--daily-units" in args else ("--daily-units", "100")
    assert_one_error(*run_cli("plan", *args, *daily), fragments)


def test_an_empty_current_directory_is_named_by_its_path(
    tmp_path: Path, run_cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nsexp readout .` names the directory, not "."."""
    write_metrics(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("readout", ".")
    assert_one_error(code, out, err, (f"error: {tmp_path}: ", "no CSV or Parquet files"))
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    code, out, err = run_cli("readout", "..")
    assert_one_error(code, out, err, (f"error: {tmp_path}: ",))


def test_an_error_exits_2_from_a_real_process(tmp_path: Path) -> None:
    """The console entry point: `python -m nsexp` prints one line and exits 2, no traceback."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "nsexp", "readout", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1


# ------------------------------------------------------------------------------- not errors


def strict_json(text: str) -> dict[str, Any]:
    """Parse JSON, refusing NaN and Infinity tokens."""

    def refuse(token: str) -> None:
        raise AssertionError(f"{token} in JSON output")

    return json.loads(text, parse_constant=refuse)


def fine_units(tmp: Path, **columns: pl.Expr) -> None:
    """The base experiment with some columns replaced."""
    frame = make_units(3, {"control": 300, "treatment": 300})
    base(tmp, frame.with_columns(**columns) if columns else frame, "exp.parquet")


TREATMENT = pl.col("variant") == "treatment"


def ok_zero_variance_equal(tmp: Path) -> dict[str, str]:
    fine_units(tmp, clicks=pl.lit(2.0))
    return {"clicks": "does not vary within either arm"}


def ok_zero_variance_different(tmp: Path) -> dict[str, str]:
    fine_units(tmp, clicks=pl.when(TREATMENT).then(3.0).otherwise(2.0))
    return {"clicks": "does not vary within either arm"}


def ok_zero_conversions_in_control(tmp: Path) -> dict[str, str]:
    fine_units(tmp, errors=pl.when(TREATMENT).then(pl.col("errors")).otherwise(0))
    return {"errors": "control value is 0"}


def ok_zero_conversions_in_treatment(tmp: Path) -> dict[str, str]:
    fine_units(tmp, errors=pl.when(TREATMENT).then(0).otherwise(pl.col("errors")))
    return {}


def ok_zero_conversions_in_both(tmp: Path) -> dict[str, str]:
    fine_units(tmp, errors=pl.lit(0))
    return {"errors": "control value is 0"}


def ok_nan_and_empty_cells(tmp: Path) -> dict[str, str]:
    gap = pl.int_range(pl.len()) % 5 == 0
    fine_units(
        tmp,
        lessons=pl.when(gap).then(float("nan")).otherwise(pl.col("lessons")),
        clicks=pl.when(gap).then(None).otherwise(pl.col("clicks")),
    )
    return {}


def ok_infinite_cells(tmp: Path) -> dict[str, str]:
    every_7th = pl.int_range(pl.len()) % 7 == 0
    fine_units(tmp, lessons=pl.when(every_7th).then(float("inf")).otherwise(pl.col("lessons")))
    return {}


def ok_nan_text_in_csv(tmp: Path) -> dict[str, str]:
    frame = make_units(3, {"control": 300, "treatment": 300}).with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(pl.lit("NaN"))
        .otherwise(pl.col("lessons").cast(pl.String))
        .alias("lessons")
    )
    base(tmp, frame)
    return {}


def ok_one_unit_in_an_arm(tmp: Path) -> dict[str, str]:
    base(tmp, make_units(3, {"control": 300, "treatment": 1}), "exp.parquet")
    return {"lessons": "fewer than 2 units"}


def ok_metric_empty_in_one_arm(tmp: Path) -> dict[str, str]:
    fine_units(tmp, clicks=pl.when(TREATMENT).then(None).otherwise(pl.col("clicks")))
    return {"clicks": "fewer than 2 units"}


def ok_metric_column_all_empty_in_csv(tmp: Path) -> dict[str, str]:
    frame = make_units(3, {"control": 300, "treatment": 300}).with_columns(
        pl.lit(None, dtype=pl.String).alias("clicks")
    )
    base(tmp, frame)
    return {"clicks": "fewer than 2 units"}


def ok_summary_with_one_unit(tmp: Path) -> dict[str, str]:
    summary(tmp, n=1, sum=5.0, sum_sq=25.0)
    return {"lessons": "fewer than 2 units"}


OK_CASES: dict[str, Callable[[Path], dict[str, str]]] = {
    name.removeprefix("ok_"): fn
    for name, fn in dict(globals()).items()
    if name.startswith("ok_") and callable(fn)
}


@pytest.mark.parametrize("name", sorted(OK_CASES))
def test_odd_but_valid_input_gives_explained_results(
    tmp_path: Path, run_cli: CliRunner, name: str
) -> None:
    notes = OK_CASES[name](tmp_path)
    code, out, err = run_cli("readout", tmp_path, "--format", "json")
    assert code == 0, err
    doc = strict_json(out)
    for experiment in doc["experiments"]:
        for comparison in experiment["comparisons"]:
            assert comparison["verdict"] and comparison["reasons"]
            for m in comparison["metrics"]:
                figures = [m[k] for k in ("abs_effect", "p_value", "rel_effect", "rel_ci_low")]
                # every figure is a finite number, or missing with a note saying why
                if any(f is None for f in figures):
                    assert m["note"], m
                assert all(f is None or math.isfinite(f) for f in figures)
                if m["metric"] in notes:
                    assert notes[m["metric"]] in (m["note"] or ""), m
    for fmt in ("table", "markdown"):
        code, out, err = run_cli("readout", tmp_path, "--format", fmt)
        assert code == 0 and out and not err
