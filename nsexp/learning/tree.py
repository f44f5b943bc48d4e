"""The North Star tree with evidence on every edge: does moving the child move its parent?

An edge is a metric (the child) and the metric it is meant to drive (its `parent` in
metrics.toml). Every metric also gets an edge straight to the North Star (`in_tree` false when
that is not its declared parent), so vanity metrics, guardrails and inputs of inputs are judged
against the North Star too; `nsexp tree --north-star-edges` (and its alias `nsexp proxies`) is
those edges.

The comparisons counted are the valid ones (treatment versus control, verdict not `invalid`:
`valid_results`, the one definition every count of the portfolio uses), with relative lifts
oriented by each metric's direction, so a positive correlation always means "improving the
child goes with improving the parent". In a comparison the child `moved` when it was
significant after the correction (MOVED), and the parent `followed` when it moved too, the same
way (FOLLOWED); both are defined here once. Per edge, one Edge record (nsexp.analysis.learned):
- `n_comparisons`, `n_moved`, `parent_followed` (of those moved, the share where the parent
  followed; `n_parent_followed` the count);
- `corrected_correlation` of the true effects with its 95% interval, and `slope` (the parent's
  relative effect per 1% of the child's) with its interval: method of moments with the
  within-experiment sampling covariance removed (nsexp.stats.evidence; Tripuraneni et al. 2023);
  that covariance is `computed` from the cross sums where every comparison of the edge has them
  (nsexp.analysis.within), else `assumed_zero` (`n_within_computed` says for how many it was);
- `label`, the first that applies: `too_few` (fewer than MIN_COMPARISONS comparisons;
  `comparisons_needed` more would do), `predictive` (corrected r ≥ PREDICTIVE_CORRELATION and
  its interval above 0), `vanity` (moved ≥ VANITY_MIN_MOVED times, the parent followed in fewer
  than VANITY_MAX_FOLLOWED of them, and corrected r < VANITY_MAX_CORRELATION or undefined),
  `weak` (the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

import numpy as np
import polars as pl

from nsexp.analysis.learned import Edge
from nsexp.analysis.readout import Judgement
from nsexp.config.catalog import Catalog
from nsexp.stats.evidence import MIN_COMPARISONS, EdgeEstimates, edge_evidence

Label = Literal["predictive", "weak", "vanity", "too_few"]
LABELS: tuple[Label, ...] = ("predictive", "weak", "vanity", "too_few")
LABEL_MEANINGS: dict[str, str] = {
    "predictive": "experiments that move it also move what it should drive",
    "weak": "it tracks what it should drive loosely, or the record cannot tell yet",
    "vanity": "it moves often, and what it should drive does not follow",
    "too_few": "not enough experiments to judge",
}
# A guardrail is not meant to drive the North Star: its edge's label in guardrail terms.
GUARDRAIL_WORDS: dict[str, str] = {
    "predictive": "tracks the North Star",
    "weak": "loosely tied",
    "vanity": "independent",
    "too_few": "too few",
}
GUARDRAIL_MEANINGS: dict[str, str] = {
    "tracks the North Star": "a guardrail whose harm shows in the North Star too",
    "loosely tied": "a guardrail that goes with the North Star only loosely, or the record "
    "cannot tell yet",
    "independent": "a guardrail that moves often while the North Star does not follow: its "
    "harm does not show in the North Star, so it is watched on its own",
}
PREDICTIVE_CORRELATION = 0.5
VANITY_MIN_MOVED = 3
VANITY_MAX_FOLLOWED = 0.5
VANITY_MAX_CORRELATION = 0.3


class Resampling(NamedTuple):
    """How learning bootstraps over whole experiments: the draws, their seed and the interval
    level (one record: only tests change it, to fewer draws)."""

    n_boot: int = 2000
    seed: int = 2023
    level: float = 0.95


RESAMPLING = Resampling()

EDGE_COLUMNS = (
    "experiment",
    "variant",
    "child",
    "parent",
    "effect",
    "se",
    "significant",
    "parent_effect",
    "parent_se",
    "parent_significant",
    "within_cov",
)
MOVED = pl.col("significant").fill_null(False)  # the child moved: significant, corrected
SAME_SIGN = pl.col("effect").sign() == pl.col("parent_effect").sign()
FOLLOWED = MOVED & SAME_SIGN & pl.col("parent_significant").fill_null(False)


@dataclass(frozen=True)
class TreeEvidence:
    """The catalog's tree, one Edge record per edge, and the comparisons behind them (one row
    per valid comparison x edge: EDGE_COLUMNS, `in_tree`, `moved` and `followed`)."""

    catalog: Catalog
    edges: tuple[Edge, ...]
    comparisons: pl.DataFrame

    def edge(self, child: str, parent: str | None = None) -> Edge | None:
        """One edge (the child's declared edge when no parent is given), or None."""
        parent = parent or self.catalog.metrics[child].parent or self.catalog.north_star.id
        return next((e for e in self.edges if (e.child, e.parent) == (child, parent)), None)

    def north_star_edges(self) -> TreeEvidence:
        """Only the edges into the North Star, with their comparisons."""
        ns = self.catalog.north_star.id
        return replace(
            self,
            edges=tuple(e for e in self.edges if e.parent == ns),
            comparisons=self.comparisons.filter(pl.col("parent") == ns),
        )


def tree_edges(catalog: Catalog) -> list[tuple[str, str, bool]]:
    """(child, parent, in_tree): the declared edges, then every other metric's edge to the
    North Star."""
    declared = catalog.edges()
    ns = catalog.north_star.id
    extra = [
        (m.id, ns, False)
        for m in catalog.metrics.values()
        if m.id != ns and (m.id, ns) not in declared
    ]
    return [(c, p, True) for c, p in declared] + extra


def valid_results(readout: Judgement) -> pl.DataFrame:
    """The result rows of the valid comparisons (verdict not `invalid`: the data can be trusted),
    with the verdict and direction-oriented effects (`effect`, `se`, `sign`): what every count
    and estimate learned from the portfolio is over."""
    verdicts = readout.verdicts.select("experiment", "variant", "verdict")
    sign = pl.when(pl.col("direction") == "decrease").then(-1.0).otherwise(1.0)
    return (
        readout.results.join(verdicts, on=["experiment", "variant"])
        .filter(pl.col("verdict") != "invalid")
        .with_columns((pl.col("rel_effect") * sign).alias("effect"), pl.col("rel_se").alias("se"))
        .with_columns(sign.alias("sign"))
    )


def paired(
    readout: Judgement, edges: list[tuple[str, str, bool]], valid: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per valid comparison x edge measuring both metrics: the child's oriented effect
    (`effect`, `se`, `significant`, `sign`) and the parent's (`parent_` the same) side by side,
    with whether the child `moved` and the parent `followed` (`valid`: the readout's
    valid_results, where the caller has them)."""
    rows = (valid_results(readout) if valid is None else valid).select(
        "experiment", "variant", "metric", "effect", "se", "significant", "sign"
    )
    wanted = pl.DataFrame(
        edges, schema={"child": pl.String, "parent": pl.String, "in_tree": pl.Boolean}, orient="row"
    )
    parent = rows.select(
        "experiment",
        "variant",
        pl.col("metric").alias("parent"),
        *(pl.col(c).alias(f"parent_{c}") for c in ("effect", "se", "significant", "sign")),
    )
    return (
        wanted.join(rows.rename({"metric": "child"}), on="child")
        .join(parent, on=["experiment", "variant", "parent"])
        .with_columns(MOVED.alias("moved"), FOLLOWED.fill_null(False).alias("followed"))
    )


def edge_comparisons(
    readout: Judgement, edges: list[tuple[str, str, bool]], valid: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per valid comparison x edge with both estimates (EDGE_COLUMNS, `in_tree`,
    `moved`, `followed`), the child's and the parent's oriented effects side by side, with their
    within-experiment covariance where computed (`valid` as for paired)."""
    within = readout.within.select("experiment", "variant", "metric", "other", "lift_cov")
    both_ways = pl.concat(
        [within, within.rename({"metric": "other", "other": "metric"}).select(within.columns)]
    ).unique(["experiment", "variant", "metric", "other"], keep="first")
    keys = ["experiment", "variant", "child", "parent"]
    return (
        paired(readout, edges, valid)
        .join(
            both_ways.rename({"metric": "child", "other": "parent"}),
            on=keys,
            how="left",
        )
        .with_columns(
            (pl.col("lift_cov") * pl.col("sign") * pl.col("parent_sign")).alias("within_cov")
        )
        .drop_nulls(["effect", "se", "parent_effect", "parent_se"])
        .filter((pl.col("se") > 0) & (pl.col("parent_se") > 0))
        .select(*EDGE_COLUMNS, "in_tree", "moved", "followed")
        .sort("experiment", "variant")
    )


def edge_quality(
    frame: pl.DataFrame,
    *,
    within: bool = True,
    resampling: Resampling = RESAMPLING,
) -> list[Edge]:
    """One Edge record per edge of an edge_comparisons frame, in the frame's edge order;
    `within` False ignores the computed within-experiment covariances (assumes zero)."""
    if frame.height == 0:
        return []
    order = frame.select("child", "parent").unique(maintain_order=True)
    slots = frame.select("experiment", "variant").unique().sort("experiment", "variant")
    indexed = frame.join(order.with_row_index("_edge"), on=["child", "parent"]).join(
        slots.with_row_index("_slot"), on=["experiment", "variant"]
    )
    e, s = indexed["_edge"].to_numpy(), indexed["_slot"].to_numpy()
    shape = (order.height, slots.height)

    def grid(column: str) -> np.ndarray:
        out = np.zeros(shape)
        out[e, s] = indexed[column].cast(pl.Float64).fill_null(0.0).to_numpy()
        return out

    mask = np.zeros(shape, bool)
    mask[e, s] = True
    cov = grid("within_cov") if within else np.zeros(shape)
    est = edge_evidence(
        mask,
        grid("effect"),
        grid("parent_effect"),
        grid("se"),
        grid("parent_se"),
        cov,
        slots["experiment"].to_numpy(),
        **resampling._asdict(),
    )
    table = _with_labels(
        _counts(frame, within).join(_estimates(order, est), on=["child", "parent"])
    )
    return [Edge(**row) for row in table.iter_rows(named=True)]


def _counts(frame: pl.DataFrame, within: bool) -> pl.DataFrame:
    """Per edge: comparisons, experiments, moved, followed and how many had cross sums."""
    computed = pl.col("within_cov").is_not_null().sum() if within else pl.lit(0)
    return frame.group_by("child", "parent", maintain_order=True).agg(
        pl.col("in_tree").first(),
        pl.len().alias("n_comparisons"),
        pl.col("experiment").n_unique().alias("n_experiments"),
        MOVED.sum().alias("n_moved"),
        (MOVED & SAME_SIGN).sum().alias("n_same_sign"),
        FOLLOWED.sum().alias("n_parent_followed"),
        computed.cast(pl.UInt32).alias("n_within_computed"),
    )


def _estimates(order: pl.DataFrame, est: EdgeEstimates) -> pl.DataFrame:
    """The vectorised estimates as columns beside each edge."""
    names = {
        "naive_correlation": "naive",
        "corrected_correlation": "corrected",
        "correlation_ci_low": "ci_low",
        "correlation_ci_high": "ci_high",
        "slope": "slope",
        "slope_ci_low": "slope_low",
        "slope_ci_high": "slope_high",
        "intercept": "intercept",
        "true_sd": "true_sd_x",
        "parent_true_sd": "true_sd_y",
    }
    return order.with_columns(
        pl.Series(out, getattr(est, name), dtype=pl.Float64) for out, name in names.items()
    ).with_columns(pl.col(pl.Float64).fill_nan(None))


def _with_labels(table: pl.DataFrame) -> pl.DataFrame:
    """Shares, `within_covariance`, the label and how many comparisons a too_few edge needs."""
    corr, low = pl.col("corrected_correlation"), pl.col("correlation_ci_low")
    share = pl.when(pl.col("n_moved") > 0).then(pl.col("n_parent_followed") / pl.col("n_moved"))
    label = (
        pl.when(pl.col("n_comparisons") < MIN_COMPARISONS)
        .then(pl.lit("too_few"))
        .when((corr >= PREDICTIVE_CORRELATION).fill_null(False) & (low > 0).fill_null(False))
        .then(pl.lit("predictive"))
        .when(
            (pl.col("n_moved") >= VANITY_MIN_MOVED)
            & (share < VANITY_MAX_FOLLOWED).fill_null(False)
            & (corr < VANITY_MAX_CORRELATION).fill_null(True)
        )
        .then(pl.lit("vanity"))
        .otherwise(pl.lit("weak"))
    )
    every = pl.col("n_within_computed") == pl.col("n_comparisons")
    return table.with_columns(
        share.alias("parent_followed"),
        pl.when(pl.col("n_moved") > 0)
        .then(pl.col("n_same_sign") / pl.col("n_moved"))
        .alias("sign_agreement"),
        pl.when(every)
        .then(pl.lit("computed"))
        .otherwise(pl.lit("assumed_zero"))
        .alias("within_covariance"),
        label.alias("label"),
        # the count is unsigned (pl.len()): cast before subtracting, or 20 − 56 wraps to 2**32 − 36
        (MIN_COMPARISONS - pl.col("n_comparisons").cast(pl.Int64))
        .clip(lower_bound=0)
        .alias("comparisons_needed"),
    )


def label_words(label: str, role: str) -> str:
    """How an edge's label reads on every surface: 'too few' for too_few, and a guardrail's
    in guardrail terms (GUARDRAIL_WORDS), never 'vanity'."""
    return GUARDRAIL_WORDS[label] if role == "guardrail" else label.replace("_", " ")


def label_meaning(edge: Edge) -> str:
    """What the edge's label means, in the terms its `label_words` use."""
    return GUARDRAIL_MEANINGS.get(edge.words) or LABEL_MEANINGS[edge.label]


def named(edge: Edge, catalog: Catalog) -> Edge:
    """The edge with its `name` (child → parent, by label) and `label_words` filled in."""
    child, parent = catalog.metrics[edge.child], catalog.metrics.get(edge.parent)
    return replace(
        edge,
        name=f"{child.label} → {parent.label if parent else edge.parent}",
        label_words=label_words(edge.label, child.role),
    )


def tree_evidence(
    readout: Judgement,
    *,
    resampling: Resampling = RESAMPLING,
    valid: pl.DataFrame | None = None,
) -> TreeEvidence:
    """Every edge of the readout's catalog with its evidence over the valid comparisons, named
    (`named`), in the catalog's edge order (`valid` as for paired)."""
    edges = tree_edges(readout.catalog)
    frame = edge_comparisons(readout, edges, valid)
    order = {(c, p): i for i, (c, p, _) in enumerate(edges)}
    records = [named(e, readout.catalog) for e in edge_quality(frame, resampling=resampling)]
    records.sort(key=lambda e: order[(e.child, e.parent)])
    return TreeEvidence(catalog=readout.catalog, edges=tuple(records), comparisons=frame)
