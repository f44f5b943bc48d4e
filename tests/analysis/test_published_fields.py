"""The result model declares each published figure once (label, kind of number, JSON place,
CSV), and the JSON, CSV, page table and Markdown are read off that declaration."""

from __future__ import annotations

from dataclasses import fields
from typing import get_args

import pytest

from nsexp import format as fmt
from nsexp.analysis.results import CSV_FIELDS, FIGURES, JSON_FIELDS, MetricResult
from nsexp.analysis.settings import Settings
from nsexp.report.figures import compact_columns, metric_table
from nsexp.report.markdown import headers

# The readout JSON's per-metric fields as published before they were declared on the model:
# the contract (names only grow; a new field takes the next place).
PUBLISHED = (
    "metric",
    "label",
    "role",
    "type",
    "direction",
    "n_control",
    "n_treatment",
    "control_mean",
    "treatment_mean",
    "abs_effect",
    "abs_ci_low",
    "abs_ci_high",
    "rel_effect",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
    "p_adjusted",
    "significant",
    "practical_threshold",
    "note",
    "variance_reduction",
    "mde",
    "units_needed",
    "days_needed",
    "abs_ci_adj_low",
    "abs_ci_adj_high",
    "rel_ci_adj_low",
    "rel_ci_adj_high",
    "chance_to_win",
    "expected_loss",
    "rel_cred_low",
    "rel_cred_high",
    "guardrail_status",
    "non_inferiority_margin",
    "non_inferiority_p",
    "guardrail_power",
    "rel_ci_boot_low",
    "rel_ci_boot_high",
    "method",
    "ci_method",
    "rel_ci_method",
    "decisive",
    "sequential_n",
    "equivalence_ci_low",
    "equivalence_ci_high",
    "better",
    "worse",
    "flat",
    "engine",
    "rel_post_mean",
    "trusted",
    "prior_mean",
    "prior_sd",
    "prior_source",
    "prior_comparisons",
)


def test_the_json_keeps_its_published_fields_in_order() -> None:
    assert JSON_FIELDS[: len(PUBLISHED)] == PUBLISHED
    places = sorted(f.json for f in FIGURES.values() if f.json is not None)
    assert places == list(range(len(JSON_FIELDS)))  # one place per field, no gap


def test_every_field_declares_how_it_is_published() -> None:
    kinds = set(get_args(fmt.Kind))
    for f in fields(MetricResult):
        figure = f.metadata["figure"]
        assert figure.label and figure.kind in kinds, f.name
    labels = [f.label for f in FIGURES.values()]
    assert len(labels) == len(set(labels))  # a header names one figure
    assert set(CSV_FIELDS) <= set(JSON_FIELDS)  # the CSV carries published figures only


@pytest.mark.parametrize("engine", ["frequentist", "bayesian"])
def test_markdown_and_page_table_name_a_figure_alike(engine: str) -> None:
    settings = Settings(alpha=0.1, engine=engine)
    table = metric_table([], settings).columns
    assert set(headers(settings)) <= set(table)
    assert set(compact_columns(settings)) <= set(table)
    assert "Adjusted CI (90%, Holm)" in table and "CI (90%)" in table
