"""The app's pages (listed by app.py's st.navigation) and their shared helpers in pages.ui."""
