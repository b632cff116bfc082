"""gan_studio page (being written)."""

import streamlit as st

from pages.common.sidebar import ensure_app_router

ensure_app_router()
st.title("gan_studio")
