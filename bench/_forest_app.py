"""The readout's forest plot of push_reminders alone (pages.ui.experiment.forest, the readout's
own call): bench/browser.py opens it in fresh tabs beside the blank page, so the chart's cost in
the browser is one number."""

import streamlit as st

from nsexp.analysis.readout import ExperimentReadout, build_readout
from nsexp.io import default_data_dir, load_dataset
from nsexp.report.figures import every_treatment
from pages.ui import experiment


@st.cache_resource
def _push_reminders() -> ExperimentReadout:
    return build_readout(load_dataset(default_data_dir())).experiments["push_reminders"]


st.set_page_config(layout="wide")  # the readout's width (app.py), so the plot's too
e = _push_reminders()
experiment.forest(e, every_treatment(e.treatments, e.treatments[0].variant))
