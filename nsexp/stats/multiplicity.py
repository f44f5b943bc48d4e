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

    NaN p-values (untestable metrics) stay NaN and do not count towards a family's size. One
    sort by family and p for every family at once; the step-down's running maximum (Holm) and
    the step-up's running minimum from the largest p (BH) are scans within each family.
    """
    import numpy as np  # here, not at import: the CLI's --help needs only the names above

    p = np.asarray(p, dtype=float)
    if method == "none":
        return p.copy()
    out = np.full(p.size, np.nan)
    rows = np.flatnonzero(~np.isnan(p))
    if rows.size == 0:
        return out
    codes = np.unique(np.asarray(family)[rows], return_inverse=True)[1].ravel()
    order = np.lexsort((p[rows], codes))
    rows, codes, q = rows[order], codes[order], p[rows][order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    group = np.cumsum(np.r_[True, codes[1:] != codes[:-1]]) - 1
    m = np.diff(np.r_[starts, q.size])[group]  # tests in the row's family
    rank = np.arange(q.size) - starts[group] + 1  # the row's rank by p within it
    if method == "holm":
        out[rows] = _scan(np.minimum((m - rank + 1) * q, 1.0), starts[group], np.maximum)
    else:
        scaled = np.minimum(m / rank * q, 1.0)[::-1]  # from the largest p of each family down
        last = (q.size - 1 - (starts[group] + m - 1))[::-1]
        out[rows] = _scan(scaled, last, np.minimum)[::-1]
    return out


def _scan(values: np.ndarray, first: np.ndarray, op: np.ufunc) -> np.ndarray:
    """The running `op` (maximum or minimum) of `values` within runs, `first[i]` being the
    start of row i's run: log2(longest run) vectorised steps (Hillis & Steele 1986), exact."""
    import numpy as np

    out = values.copy()
    index = np.arange(values.size)
    step = 1
    while step <= (index - first).max(initial=0):
        later = index[step:][index[step:] - step >= first[step:]]
        out[later] = op(out[later], out[later - step])
        step *= 2
    return out
