"""The baseline of the browser benchmark: a blank Streamlit page, served the same way as the app."""

import streamlit as st

st.write("ready")
