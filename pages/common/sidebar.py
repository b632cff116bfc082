"""The shared sidebar: model and dataset pickers built from the registries."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from xai_core import CheckpointError, list_datasets, list_models
from xai_core.models import model_info

from . import keys

DEFAULT_MODEL = "vgg-mnist"


@dataclass(frozen=True)
class Selection:
    model_id: str
    dataset: str


def _follow_model_dataset() -> None:
    """When the model changes, switch the dataset to the one it was trained on (if registered)."""
    trained_on = model_info(st.session_state[keys.MODEL_ID]).get("dataset")
    if trained_on in list_datasets():
        st.session_state[keys.DATASET_NAME] = trained_on


def ensure_app_router() -> None:
    """Route every run through app.py's ``st.navigation``.

    On a fresh server, Streamlit serves the first request for a sub-page URL with its legacy
    multipage mode (it sees a ``pages/`` folder and runs the page file directly, with the wrong
    navigation) until some run has called ``st.navigation``. Leave that mode and rerun once.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def keep_widget_state_across_pages() -> None:
    """Widgets on another page are new widgets; re-assigning their keys keeps the user's choices."""
    for key in list(st.session_state):
        if key in keys.KEPT_WIDGETS or key.startswith(keys.SAMPLE_INDEX):
            st.session_state[key] = st.session_state[key]


def render_sidebar() -> Selection:
    ensure_app_router()
    keep_widget_state_across_pages()
    try:
        models = list_models()
    except CheckpointError as error:
        st.error(f"The model manifests cannot be read: {error}")
        st.stop()
    datasets = list_datasets()
    if keys.MODEL_ID not in st.session_state:
        st.session_state[keys.MODEL_ID] = DEFAULT_MODEL if DEFAULT_MODEL in models else models[0]
        _follow_model_dataset()
    st.session_state.setdefault(keys.DATASET_NAME, datasets[0])
    with st.sidebar:
        st.header("Model and data")
        st.selectbox(
            "Model",
            models,
            key=keys.MODEL_ID,
            on_change=_follow_model_dataset,
            format_func=lambda model_id: _model_label(model_id),
        )
        st.selectbox("Dataset", datasets, key=keys.DATASET_NAME)
    return Selection(st.session_state[keys.MODEL_ID], st.session_state[keys.DATASET_NAME])


def _model_label(model_id: str) -> str:
    accuracy = model_info(model_id).get("metrics", {}).get("test_accuracy")
    return model_id if accuracy is None else f"{model_id} ({accuracy:.1%})"
