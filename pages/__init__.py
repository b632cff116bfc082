"""Streamlit pages (thin: widgets and layout only; every computation lives in xai_core)."""
