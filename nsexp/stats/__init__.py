"""Pure statistics on sufficient statistics: numpy and scipy only, vectorised over metrics.

Import from the submodules (nsexp.stats.compare, ...): this package imports nothing itself, so
a light module such as nsexp.stats.multiplicity does not load scipy.
"""
