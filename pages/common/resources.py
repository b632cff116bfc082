"""Models and datasets loaded once per process through ``st.cache_resource`` (read-only objects)."""

from __future__ import annotations

import streamlit as st

from xai_core import ImageDataset, ModelCard, load_dataset, load_model


@st.cache_resource(show_spinner="Loading model ...")
def cached_model(model_id: str) -> ModelCard:
    return load_model(model_id)


@st.cache_resource(show_spinner="Loading dataset ...")
def cached_dataset(name: str, split: str = "test") -> ImageDataset:
    return load_dataset(name, split)
