"""Pure statistics on sufficient statistics: numpy and scipy only, vectorised over metrics."""

from nsexp.stats.arms import ArmSums, estimate
from nsexp.stats.compare import Comparison, compare
from nsexp.stats.equivalence import is_flat, units_needed
from nsexp.stats.multiplicity import CORRECTIONS, Correction, adjust
from nsexp.stats.srm import SRM_THRESHOLD, srm_test

__all__ = [
    "CORRECTIONS",
    "SRM_THRESHOLD",
    "ArmSums",
    "Comparison",
    "Correction",
    "adjust",
    "compare",
    "estimate",
    "is_flat",
    "srm_test",
    "units_needed",
]
