"""Sample ratio mismatch per experiment: did each arm get the share of units it was planned to?

A failed check makes an experiment's readout untrusted; when no split was declared the equal
split is only assumed, and the message (and the Data page) says how to declare the planned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from nsexp.config.toml import toml_key
from nsexp.io import Dataset, Experiment
from nsexp.stats.srm import srm_test


@dataclass(frozen=True)
class Srm:
    """Sample ratio mismatch check of one experiment."""

    p_value: float
    mismatch: bool
    counts: dict[str, int]
    expected: dict[str, float]
    assumed: bool = False  # no expected_split declared: equal shares assumed

    def problem(self, experiment: str) -> str:
        """The mismatch as a data problem a reason can quote; when the split was only assumed
        equal, how to declare the planned one."""
        observed = " / ".join(f"{v} {n:,}" for v, n in self.counts.items())
        planned = " / ".join(f"{s * 100:g}%" for s in self.expected.values())
        p = "p < 0.001" if self.p_value < 0.001 else f"p = {self.p_value:.3f}"
        if not self.assumed:
            return (
                f"sample ratio mismatch: {observed} units against a planned {planned} split ({p})"
            )
        shares = ", ".join(f"{toml_key(v)} = <share>" for v in self.counts)
        return (
            f"sample ratio mismatch: {observed} units against an equal {planned} split ({p}), "
            "assumed because no expected_split is declared; if the split was unequal by design, "
            f"declare it in experiments.toml: [experiments.{toml_key(experiment)}] "
            f"expected_split = {{ {shares} }}"
        )


def srm_checks(
    dataset: Dataset, experiments: Mapping[str, Experiment] | None = None
) -> dict[str, Srm]:
    """The SRM check of each experiment (all, unless given) against its planned split (equal
    when undeclared)."""
    experiments = dataset.experiments if experiments is None else experiments
    counts = (
        dataset.units.filter(pl.col("experiment").is_in(list(experiments)))
        .group_by("experiment", "variant")
        .agg(pl.col("units").sum())
        .sort("experiment", "variant")
    )
    arms: dict[str, dict[str, int]] = {}
    for eid, variant, units in counts.iter_rows():  # one pass, not a frame per experiment
        arms.setdefault(eid, {})[variant] = units
    shares = [
        experiments[e].info.expected_split.get(v, 1.0)
        for e, v in counts.select("experiment", "variant").iter_rows()
    ]
    tested = srm_test(counts.with_columns(pl.Series("share", shares, dtype=pl.Float64)))
    out = {}
    for eid, p_value, mismatch in tested.select("experiment", "p_value", "mismatch").iter_rows():
        split = experiments[eid].info.expected_split
        total = sum(split.values()) if split else len(arms[eid])
        out[eid] = Srm(
            p_value=float(p_value),
            mismatch=bool(mismatch),
            counts=arms[eid],
            expected={v: split.get(v, 1.0) / total for v in arms[eid]},
            assumed=not split,
        )
    return out
