"""nsexp: the Streamlit app. Pages live in pages/; every view is a shareable link.

This entry file opens the frame every page shares (the data on view, the settings in the URL,
the sidebar) before the page runs, so each page file starts with its own content.
"""

# pandas before any page: Altair (and Streamlit's dataframes) use it when already imported,
# found in sys.modules, so a session that reaches a chart while another session's first
# dataframe is still importing pandas met a half-initialised module (AttributeError on a cold
# server under load, bench/load.py). An import here waits until pandas is complete.
from pathlib import Path

import pandas  # noqa: F401
import streamlit as st

from pages.ui import frame, identity, loaders, nav, sidebar, storage, url

FAVICON = Path(__file__).parent / "static" / "favicon.png"

# The icon is a file the app serves itself: a ":material/…" icon made every page fetch it from
# a font CDN.
st.set_page_config(page_title="nsexp", page_icon=FAVICON, layout="wide")

# The top bar is designed for six or seven pages at 1024 px (Portfolio, Review, Readout, North
# Star, Insights, Data): one-word titles without icons, so none folds into "N more". No help
# texts: each page's own caption says what it holds, and the six tooltips were six Markdown
# blocks every fresh tab of every page rendered (bench/browser.py).
page = st.navigation(
    [
        st.Page(
            nav.PORTFOLIO,
            title="Portfolio",
            default=True,
        ),
        st.Page(
            nav.REVIEW,
            title="Review",
            url_path="review",
        ),
        st.Page(
            nav.READOUT,
            title="Readout",
            url_path="readout",
        ),
        st.Page(
            nav.NORTH_STAR,
            title="North Star",
            url_path="north_star",
        ),
        st.Page(
            nav.INSIGHTS,
            title="Insights",
            url_path="insights",
        ),
        st.Page(
            nav.DATA,
            title="Data",
            url_path="data",
        ),
    ],
    position="top",
)
url.carry_params(page)
nav.tab_title(page.title)  # the page names what it shows, where it knows more (nav.tab_title)
data = frame.data_context()
storage.clean_on_start(str(data.root))  # staging left by a stopped server: once per process
storage.mark_opened(data.path)  # restarts the workspace's expiry clock
settings = frame.settings_from_url()
if page.url_path != "data":  # the Data page analyses nothing: no analysis controls there
    found = loaders.quiet_dataset(data)
    covariate = found is not None and any(m.covariate for m in found.catalog.metrics.values())
    pinned = frame.pinned_settings(data) if page.url_path == "readout" else None
    sidebar.analysis_controls(pinned or settings, covariate, frozen=pinned is not None)
    sidebar.data_note(data)
identity.account_controls()  # sign in / out, when the secrets configure OpenID Connect
frame.remember(frame.Frame(data, settings.without("bootstrap"), settings.bootstrap))
page.run()
storage.announce_saved()  # a new workspace's link and delete code, once, after any page switch
