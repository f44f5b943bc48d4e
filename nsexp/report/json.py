"""The readout as plain data (the CLI's --format json); field names are a fixed contract."""

from __future__ import annotations

import math
from typing import Any

from nsexp.analysis.readout import ExperimentReadout, Readout, TreatmentReadout

DEPTH_FIELDS = (
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
)

# issue 11: which test and intervals each figure came from, whether the metric may decide the
# verdict, and the planned sample the --sequential boundary was tuned to.
METHOD_FIELDS = ("method", "ci_method", "rel_ci_method", "decisive", "sequential_n")

METRIC_FIELDS = (
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
    *DEPTH_FIELDS,
    *METHOD_FIELDS,
)

TIMELINE_FIELDS = (
    "n_control",
    "n_treatment",
    "rel_effect",
    "rel_ci_low",
    "rel_ci_high",
    "p_value",
)


def clean(x: Any) -> Any:
    """NaN and infinities become None: JSON has no NaN, and a gap beats a wrong number."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def treatment_dict(t: TreatmentReadout) -> dict[str, Any]:
    """One comparison: verdict, North Star status, reasons and every metric's figures."""
    ns = t.north_star
    timeline = {} if t.timeline is None else {"north_star_timeline": timeline_list(t)}
    return {
        "variant": t.variant,
        "verdict": t.verdict,
        "north_star_status": t.north_star_status,
        "reasons": list(t.reasons),
        "north_star_units_needed": clean(ns["units_needed"]),
        "north_star_days_needed": clean(ns.get("days_needed")),
        "north_star_mde": clean(ns.get("mde")),
        "metrics": [
            {k: clean(row.get(k)) for k in METRIC_FIELDS} for row in t.metrics.iter_rows(named=True)
        ],
        **timeline,
    }


def timeline_list(t: TreatmentReadout) -> list[dict[str, Any]]:
    """The North Star's cumulative figures per date (only for dated data)."""
    if t.timeline is None:
        return []
    return [
        {
            "date": row["date"].isoformat(),
            **{k: clean(row[k]) for k in TIMELINE_FIELDS},
        }
        for row in t.timeline.iter_rows(named=True)
    ]


def experiment_dict(e: ExperimentReadout) -> dict[str, Any]:
    """One experiment with its SRM check and comparisons."""
    info = e.experiment.info
    return {
        "experiment": e.id,
        "name": info.title,
        "owner": info.owner,
        "hypothesis": info.hypothesis,
        "control": e.experiment.control,
        "variants": list(e.experiment.variants),
        "units": e.units,
        "first_date": e.first_date.isoformat() if e.first_date else None,
        "last_date": e.last_date.isoformat() if e.last_date else None,
        "days": e.days,
        "srm": {
            "p_value": clean(e.srm.p_value),
            "mismatch": e.srm.mismatch,
            "counts": e.srm.counts,
            "expected_split": e.srm.expected,
            "expected_split_assumed": e.srm.assumed,
        },
        "notes": list(e.notes),
        "comparisons": [treatment_dict(t) for t in e.treatments],
    }


def readout_dict(readout: Readout) -> dict[str, Any]:
    """The whole readout, with the settings and methods that produced it."""
    s = readout.settings
    return {
        "settings": {
            "alpha": s.alpha,
            "correction": s.correction,
            "sequential": s.sequential,
            "sequential_n": s.sequential_n,
            "cuped": s.cuped,
            "engine": s.engine,
            "bootstrap": s.bootstrap,
            "seed": s.seed,
        },
        "methods": s.methods(),
        "north_star": readout.catalog.north_star.id,
        "data_fingerprint": readout.fingerprint,
        "experiments": [experiment_dict(e) for e in readout.experiments.values()],
    }
