"""Multiple-testing corrections applied within families, vectorised over all families at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Correction = Literal["holm", "bh", "none"]
CORRECTIONS: tuple[Correction, ...] = ("holm", "bh", "none")
CORRECTION_NAMES = {
    "holm": "Holm step-down (family-wise error rate)",
    "bh": "Benjamini–Hochberg (false discovery rate)",
    "none": "no correction",
}


def adjust(p: np.ndarray, family: np.ndarray, method: Correction) -> np.ndarray:
    """Adjusted p-values: Holm (1979) or Benjamini–Hochberg (1995) within each family.

    NaN p-values (untestable metrics) stay NaN and do not count towards a family's size.
    """
    import numpy as np  # here, not at import: the CLI's --help needs only the names above
    import polars as pl

    p = np.asarray(p, dtype=float)
    if method == "none":
        return p.copy()
    frame = pl.DataFrame({"p": p, "family": family, "row": np.arange(p.size)}).filter(
        pl.col("p").is_not_nan()
    )
    m = pl.len().over("family")
    rank = pl.int_range(1, pl.len() + 1).over("family")
    frame = frame.sort("family", "p")
    if method == "holm":
        scaled = ((m - rank + 1) * pl.col("p")).clip(upper_bound=1.0)
        adjusted = scaled.cum_max().over("family")
    else:
        scaled = (m / rank * pl.col("p")).clip(upper_bound=1.0)
        adjusted = scaled.reverse().cum_min().reverse().over("family")
    frame = frame.with_columns(adjusted.alias("adjusted"))
    out = np.full(p.size, np.nan)
    out[frame["row"].to_numpy()] = frame["adjusted"].to_numpy()
    return out
