"""Streamlit helpers the pages share, one module per job: nav (pages and links), url (state in
the query string), frame (the data and settings every page reads), sidebar, loaders (cached
calls into nsexp) and widgets. Not pages: app.py lists the pages it serves."""
