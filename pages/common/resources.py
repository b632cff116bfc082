"""Models and datasets loaded once per process (``st.cache_resource``), and maps cached per input (``st.cache_data``)."""

from __future__ import annotations

import threading

import numpy as np
import streamlit as st
import torch

from xai_core import ImageDataset, ModelCard, explain, layer_gradcams, load_dataset, load_model
from xai_core.models import Prediction


@st.cache_resource(show_spinner="Loading model ...")
def cached_model(model_id: str) -> ModelCard:
    return load_model(model_id)


@st.cache_resource(show_spinner="Loading dataset ...")
def cached_dataset(name: str, split: str = "test") -> ImageDataset:
    return load_dataset(name, split)


@st.cache_resource
def model_lock(model_id: str) -> threading.Lock:
    """Serialises explanations on one shared model: hooks on a module see every thread's forward pass."""
    return threading.Lock()


@st.cache_data(max_entries=512, show_spinner=False)
def cached_predictions(model_id: str, image_digest: str, _image: torch.Tensor, k: int = 5) -> list[Prediction]:
    """Top-k predictions for one image, computed under the model's lock."""
    with model_lock(model_id):
        return cached_model(model_id).predict(_image, k=k)


@st.cache_data(max_entries=512, show_spinner=False)
def cached_map(model_id: str, image_digest: str, target: int, method: str, _image: torch.Tensor) -> np.ndarray:
    """One method's map for one image, float32 [H,W] in [0,1]; keyed by (model, image digest, target, method)."""
    card = cached_model(model_id)
    with model_lock(model_id):
        return explain(card, _image, [method], target)[method][0, 0].numpy()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_layer_gradcams(model_id: str, image_digest: str, target: int, _image: torch.Tensor) -> tuple[list[str], np.ndarray]:
    """(conv layer names, Grad-CAMs float32 [L,H,W]) from one forward and one backward pass."""
    card = cached_model(model_id)
    with model_lock(model_id):
        result = layer_gradcams(card.model, card.preprocess(_image), target)
    return result.names, result.maps[0].numpy()
