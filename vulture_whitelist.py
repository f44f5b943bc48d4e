"""Vulture's reviewed false positives (`vulture --min-confidence 60 nsexp app.py pages
vulture_whitelist.py`, in `make test`): names used in ways vulture cannot see. Each entry says
why; a name that is really unused is deleted, never listed here."""

import nsexp
from nsexp.analysis.learned import Edge
from nsexp.analysis.results import MetricResult
from nsexp.report import charts
from nsexp.stats.evidence import EdgeEstimates
from pages.ui import frame, loaders, preload

# MetricResult's fields are filled positionally from the results frame (metric_results) and
# read by name through dataclasses.fields() into the JSON, CSV and pins.
MetricResult.cuped_theta
MetricResult.cuped_slope_control
MetricResult.cuped_slope_treatment
MetricResult.non_inferiority_p

# nsexp.learning.tree._estimates reads these fields with getattr from a table of names.
EdgeEstimates.corrected
EdgeEstimates.ci_low
EdgeEstimates.ci_high
EdgeEstimates.slope_low
EdgeEstimates.slope_high
EdgeEstimates.true_sd_x
EdgeEstimates.true_sd_y

# A pin's schema_version is written and read by name (dataclasses.asdict into the pin's JSON).
_.schema_version

# pages/ui/url.py's Bound: the keyword arguments a widget call receives by name (**bound).
_.on_change

# Edge's fields are filled by name from the evidence table (nsexp.learning.tree.edge_quality)
# and read through dataclasses.asdict() into `nsexp tree` / `nsexp proxies` JSON.
Edge.n_experiments
Edge.n_same_sign
Edge.n_within_computed
Edge.true_sd
Edge.parent_true_sd

# Property setters with an effect: psycopg's read-only session (io/engines/postgres.py) and
# numpy's frozen array (stats/meta.py _draw_counts, an lru_cached array shared by callers).
_.read_only
_.writeable

# pages/ui/loaders.py names the cached, error-reporting wrappers for help() and the docs.
_.__doc__

# AppTest runs (tests/conftest.py, bench/app_render.py) take the navigated PagesManager from the
# one module that may touch Streamlit's runtime; vulture does not scan tests/ and bench/.
frame.navigated_pages_manager

# The package's module __getattr__ (PEP 562) answers `nsexp.__version__` on first use.
nsexp.__getattr__

# serve.py (the served entry point, `make run`) warms the caches at start-up with them; vulture's
# paths are the package, app.py and pages.
loaders.warm_up
loaders.warm_nearby

# serve.py wraps Streamlit's ASGI app in it (the first view's browser code, named early).
preload.PreloadMiddleware
# The forest plot as an Altair chart: the pages draw charts.forest_spec, its JSON filled into a
# template Altair builds once per shape; the tests validate forest_plot's spec against
# Vega-Lite's schema and hold forest_spec equal to it byte for byte (the reference).
charts.forest_plot
