"""The opening every analysis page shares: sidebar, title, model, image, or a message and a stop."""

from __future__ import annotations

import streamlit as st

from xai_core import CheckpointError, ModelCard

from .image_input import SelectedImage, choose_image, show_current_image
from .resources import cached_model
from .sidebar import Selection, render_sidebar


def open_page(title: str, caption: str) -> tuple[Selection, ModelCard, SelectedImage]:
    """Render the sidebar and heading, load the chosen model and image; stops the run when either is missing."""
    selection = render_sidebar()
    st.title(title)
    st.caption(caption)
    try:
        card = cached_model(selection.model_id)
    except CheckpointError as error:
        st.error(f"Model {selection.model_id} cannot be loaded: {error}")
        st.stop()
    chosen = choose_image(selection.dataset)
    if chosen is None:
        st.stop()
    show_current_image(chosen)
    return selection, card, chosen
