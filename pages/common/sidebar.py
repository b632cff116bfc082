"""The shared sidebar: model and dataset pickers built from the registries, plus the user's own images (a folder
on this machine, or uploaded files and zip archives) as datasets of this session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from xai_core import CheckpointError, DatasetUnavailable, list_datasets, list_models
from xai_core.data import FOLDER_PREFIX, UPLOAD_PREFIX, dataset_from_files, remember_upload
from xai_core.data.decode import ACCEPTED_EXTENSIONS, MAX_IMAGE_BYTES
from xai_core.data.registry import TORCHVISION_PREFIX
from xai_core.data.uploads import MAX_ARCHIVE_BYTES, MAX_UPLOAD_IMAGES, uploaded_dataset
from xai_core.models import model_info

from . import keys
from .resources import dataset_by_name

DEFAULT_MODEL = "vgg-mnist"
SKIPPED_SHOWN = 10


@dataclass(frozen=True)
class Selection:
    model_id: str
    dataset: str


def user_datasets() -> list[str]:
    """The ``folder:`` and ``upload:`` datasets this session added to the picker, oldest first."""
    return list(st.session_state.get(keys.USER_DATASETS, []))


def keep_session_upload() -> None:
    """Put this session's upload set back in the process's memory if it was dropped while the session was idle, so
    that the engine (an evaluation, a report) finds it by name."""
    own_upload = st.session_state.get(keys.SESSION_UPLOAD)
    if own_upload is not None:
        remember_upload(own_upload)


def _add_user_dataset(name: str) -> None:
    """Offer ``name`` in the picker (once) and choose it; the page shows a sample of it."""
    names = [n for n in user_datasets() if n != name and not (name.startswith(UPLOAD_PREFIX) and n.startswith(UPLOAD_PREFIX))]
    st.session_state[keys.USER_DATASETS] = [*names, name]
    st.session_state[keys.DATASET_NAME] = name
    st.session_state[keys.IMAGE_SOURCE] = keys.SOURCE_DATASET


def _follow_model_dataset() -> None:
    """When the model changes, switch the dataset to the one it was trained on when that loads here (a registered
    name, or a folder/torchvision root that exists). A model registered without its training data (manifest
    ``"dataset": ""``) or trained on data not here keeps the current dataset."""
    st.session_state.pop(keys.DATASET_NOTICE, None)
    model_id = st.session_state[keys.MODEL_ID]
    try:
        trained_on = model_info(model_id).get("dataset") or ""
    except KeyError:  # removed from its manifest since the list was drawn
        return
    if not trained_on or trained_on == st.session_state.get(keys.DATASET_NAME):
        return
    if trained_on in list_datasets():
        st.session_state[keys.DATASET_NAME] = trained_on
    elif trained_on.startswith((FOLDER_PREFIX, TORCHVISION_PREFIX)):
        try:
            dataset_by_name(trained_on)
        except DatasetUnavailable as error:
            current = st.session_state.get(keys.DATASET_NAME, "the current dataset")
            notice = f"{model_id} was trained on {trained_on}, which is not here ({error}); keeping {current}."
            st.session_state[keys.DATASET_NOTICE] = notice
            return
        _add_user_dataset(trained_on)


def _forget_data_messages() -> None:
    """Another dataset was chosen: the messages about a typed folder or an upload no longer apply."""
    for key in (keys.DATASET_FOLDER_ERROR, keys.DATASET_UPLOAD_NOTES, keys.DATASET_NOTICE):
        st.session_state.pop(key, None)


def _use_folder() -> None:
    """The folder field changed: load its images (``folder:<path>``, or a bare path) and choose them; on failure
    keep the previous dataset and say why."""
    text = (st.session_state.get(keys.DATASET_FOLDER) or "").strip()
    st.session_state.pop(keys.DATASET_FOLDER_ERROR, None)
    if not text:
        return
    path = text[len(FOLDER_PREFIX) :] if text.startswith(FOLDER_PREFIX) else text
    name = FOLDER_PREFIX + str(Path(path).expanduser())
    try:
        dataset_by_name(name)
    except DatasetUnavailable as error:
        st.session_state[keys.DATASET_FOLDER_ERROR] = f"Cannot use {text}: {error}"
        return
    _add_user_dataset(name)


def _use_uploads() -> None:
    """Files were added to the uploader: make them this session's upload set and choose it (unreadable files are
    skipped and listed); when none is usable, keep the previous dataset and say why."""
    uploads = st.session_state.get(keys.DATASET_UPLOADS) or []
    if not uploads:
        return  # cleared, or a new page's empty uploader: the upload set stays
    try:
        dataset = dataset_from_files([(upload.name, upload.getvalue()) for upload in uploads])
    except DatasetUnavailable as error:
        st.session_state[keys.DATASET_UPLOAD_NOTES] = {"error": str(error)}
        return
    st.session_state[keys.SESSION_UPLOAD] = dataset
    st.session_state[keys.DATASET_UPLOAD_NOTES] = {"skipped": dataset.info["skipped"]}
    remember_upload(dataset)
    _add_user_dataset(dataset.name)


def dataset_label(name: str) -> str:
    """How the picker shows a dataset: an upload set as "Your uploads (N images)", others by name. A function of the
    name alone (and the process's upload sets), as widget labels must be."""
    if not name.startswith(UPLOAD_PREFIX):
        return name
    try:
        return f"Your uploads ({len(uploaded_dataset(name))} images)"
    except DatasetUnavailable:
        return "Your uploads"


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


def _your_images() -> None:
    """The folder field and the multi-file uploader, with what went wrong or was skipped."""
    with st.expander("Your images", expanded=keys.DATASET_FOLDER_ERROR in st.session_state):
        st.text_input(
            "Folder on this machine",
            key=keys.DATASET_FOLDER,
            on_change=_use_folder,
            placeholder="/path/to/images",
            help="Image files directly in the folder (unlabelled: the prediction is the target), or one sub-folder per "
            "class. Images are centre-cropped to 224x224; the test split is 20 % of the files.",
        )
        st.file_uploader(
            f"Or upload images / .zip archives (up to {MAX_UPLOAD_IMAGES} images, {MAX_IMAGE_BYTES // 2**20} MB each, "
            f"{MAX_ARCHIVE_BYTES // 2**20} MB unzipped)",
            type=[*ACCEPTED_EXTENSIONS, "zip"],
            accept_multiple_files=True,
            max_upload_size=MAX_ARCHIVE_BYTES // 2**20,  # the server's cap is raised for model weights
            key=keys.DATASET_UPLOADS,
            on_change=_use_uploads,
        )
    if keys.DATASET_FOLDER_ERROR in st.session_state:
        st.error(st.session_state[keys.DATASET_FOLDER_ERROR])
    notes = st.session_state.get(keys.DATASET_UPLOAD_NOTES) or {}
    if "error" in notes:
        st.error(f"The upload was not used: {notes['error']}")
    skipped = notes.get("skipped") or []
    if skipped:
        more = f"\n- ... and {len(skipped) - SKIPPED_SHOWN} more" if len(skipped) > SKIPPED_SHOWN else ""
        st.warning(f"{len(skipped)} file(s) skipped:\n- " + "\n- ".join(skipped[:SKIPPED_SHOWN]) + more)


def render_sidebar() -> Selection:
    ensure_app_router()
    keep_widget_state_across_pages()
    try:
        models = list_models()
    except CheckpointError as error:
        st.error(f"The model manifests cannot be read: {error}")
        st.stop()
    if st.session_state.get(keys.MODEL_ID) not in models:
        st.session_state[keys.MODEL_ID] = DEFAULT_MODEL if DEFAULT_MODEL in models else models[0]
        _follow_model_dataset()
    datasets = list_datasets()
    st.session_state.setdefault(keys.DATASET_NAME, datasets[0])
    keep_session_upload()
    options = list(dict.fromkeys([*datasets, *user_datasets(), st.session_state[keys.DATASET_NAME]]))
    with st.sidebar:
        st.header("Model and data")
        st.selectbox(
            "Model",
            models,
            key=keys.MODEL_ID,
            on_change=_follow_model_dataset,
            format_func=lambda model_id: _model_label(model_id),
        )
        st.selectbox("Dataset", options, key=keys.DATASET_NAME, format_func=dataset_label, on_change=_forget_data_messages)
        if keys.DATASET_NOTICE in st.session_state:
            st.info(st.session_state[keys.DATASET_NOTICE])
        _your_images()
    return Selection(st.session_state[keys.MODEL_ID], st.session_state[keys.DATASET_NAME])


def _model_label(model_id: str) -> str:
    accuracy = model_info(model_id).get("metrics", {}).get("test_accuracy")
    return model_id if accuracy is None else f"{model_id} ({accuracy:.1%})"
