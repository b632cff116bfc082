"""Choosing the image to explain: a dataset sample by class and index, or a safely decoded upload."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st
import torch
from PIL import Image

from xai_core import DatasetUnavailable, ImageDecodeError
from xai_core.data import decode_image, pil_to_tensor
from xai_core.data.decode import ACCEPTED_EXTENSIONS, MAX_IMAGE_BYTES, MAX_WORKING_SIDE, limit_side
from xai_core.imaging import fit_to_side, to_uint8

from . import keys
from .resources import dataset_by_name
from .sidebar import dataset_label

DISPLAY_SIDE = 256
THUMBNAIL_SIDE = 128
GALLERY_SIZE = 8  # uploads a session keeps to switch between


@dataclass(frozen=True)
class SelectedImage:
    """image: float Tensor[C,H,W] in [0,1]; mask: Tensor[1,H,W] or None; digest identifies the pixels."""

    image: torch.Tensor
    label: int | None
    class_name: str | None
    mask: torch.Tensor | None
    caption: str
    digest: str


def image_digest(image: torch.Tensor) -> str:
    """Identifies an image by its shape and pixels (the cache key of everything computed from it)."""
    digest = hashlib.sha256(str(tuple(image.shape)).encode())
    digest.update(image.numpy().tobytes())
    return digest.hexdigest()[:16]


def choose_image(dataset_name: str) -> SelectedImage | None:
    """Render the image-source widgets; returns the chosen image, or None (with a message shown)."""
    source = st.radio("Image source", [keys.SOURCE_DATASET, keys.SOURCE_UPLOAD], key=keys.IMAGE_SOURCE, horizontal=True)
    if source == keys.SOURCE_UPLOAD:
        return uploaded_image()
    return dataset_image(dataset_name)


def dataset_image(dataset_name: str) -> SelectedImage | None:
    """A test image of the dataset, by class and position; unlabelled data (a folder of photos, an upload set) by
    position alone, with its file name, and no true class (the prediction is the target)."""
    try:
        dataset = dataset_by_name(dataset_name, "test")
    except DatasetUnavailable as error:
        st.error(f"Dataset {dataset_name!r} is not available on this machine: {error}")
        return None
    class_column, index_column = st.columns(2)
    if dataset.labelled:
        options = [keys.ALL_CLASSES, *dataset.classes]
        if st.session_state.get(keys.CLASS_FILTER) not in options:
            st.session_state[keys.CLASS_FILTER] = keys.ALL_CLASSES
        chosen_class = class_column.selectbox("Class", options, key=keys.CLASS_FILTER)
    else:
        chosen_class = keys.ALL_CLASSES
        class_column.caption(f"{len(dataset)} unlabelled images: the model's prediction is the target.")
    members = (
        list(range(len(dataset))) if chosen_class == keys.ALL_CLASSES else dataset.indices_of_class(dataset.classes.index(chosen_class))
    )
    if not members:
        st.warning(f"No test images of class {chosen_class!r}.")
        return None
    index_key = f"{keys.SAMPLE_INDEX}:{dataset_name}:{chosen_class}"
    st.session_state.setdefault(index_key, 1)
    if st.session_state[index_key] > len(members):
        st.session_state[index_key] = 1
    position = index_column.number_input(f"Image (1-{len(members)})", min_value=1, max_value=len(members), step=1, key=index_key)
    index = members[int(position) - 1]
    image, _, mask = dataset[index]
    label = dataset.label_of(index)
    files = dataset.info.get("files") or []
    shown_name = dataset_label(dataset_name)
    caption = f"{shown_name} test #{index}" + (f": {files[index]}" if index < len(files) else "")
    return SelectedImage(image, label, None if label is None else dataset.classes[label], mask, caption, image_digest(image))


def gallery() -> dict[str, SelectedImage]:
    """This session's uploaded images, oldest first, by the digest of their file's bytes (at most GALLERY_SIZE)."""
    return st.session_state.setdefault(keys.GALLERY, {})


def _add_to_gallery(name: str, data: bytes) -> None:
    """Decode an uploaded file into the gallery and make it the current upload; a file that cannot be used leaves
    both as they were and says why (kept in session state until the next upload)."""
    file_digest = hashlib.sha256(data).hexdigest()[:16]
    images = gallery()
    st.session_state.pop(keys.UPLOAD_ERROR, None)
    if file_digest not in images:
        try:
            picture = decode_image(data)
        except ImageDecodeError as error:
            st.session_state[keys.UPLOAD_ERROR] = f"Cannot use {name}: {error}"
            return
        caption = f"upload: {name} ({picture.width}x{picture.height}, {picture.mode})"
        image = pil_to_tensor(limit_side(picture, MAX_WORKING_SIDE))
        images[file_digest] = SelectedImage(image, None, None, None, caption, image_digest(image))
        while len(images) > GALLERY_SIZE:
            images.pop(next(iter(images)))
    st.session_state[keys.GALLERY_CURRENT] = file_digest


def uploaded_image() -> SelectedImage | None:
    """Render the file uploader and, once there are several, the gallery of this session's uploads; returns the
    current upload (safely decoded, longer side at most MAX_WORKING_SIDE), or None (with a message shown).

    The current upload stays current on every page, whatever page it was given on, until another file is uploaded
    or another gallery image is chosen: a page's uploader starts empty, the gallery does not."""
    upload = st.file_uploader(
        f"Image file (up to {MAX_IMAGE_BYTES // 2**20} MB)",
        type=list(ACCEPTED_EXTENSIONS),
        max_upload_size=MAX_IMAGE_BYTES // 2**20,  # the server's cap is raised for model weights
        key=keys.UPLOAD,
    )
    if upload is not None and upload.file_id != st.session_state.get(keys.UPLOAD_SEEN):
        st.session_state[keys.UPLOAD_SEEN] = upload.file_id  # each file is read once, not on every rerun
        _add_to_gallery(upload.name, upload.getvalue())
    if keys.UPLOAD_ERROR in st.session_state:
        st.error(st.session_state[keys.UPLOAD_ERROR])
    images = gallery()
    if st.session_state.get(keys.GALLERY_CURRENT) not in images:
        if not images:
            st.info("Upload a PNG, JPEG, GIF, BMP, TIFF or WebP image.")
            return None
        st.session_state[keys.GALLERY_CURRENT] = next(reversed(images))
    if len(images) > 1:
        st.selectbox(
            f"Your uploads this session ({len(images)}, the last {GALLERY_SIZE} kept)",
            list(images),
            key=keys.GALLERY_CURRENT,
            format_func=lambda file_digest: images[file_digest].caption.removeprefix("upload: "),
        )
    return images[st.session_state[keys.GALLERY_CURRENT]]


def show_current_image(chosen: SelectedImage) -> None:
    """The sidebar's thumbnail of the image every page explains, with where it comes from."""
    with st.sidebar:
        st.image(display_image(chosen.image, THUMBNAIL_SIDE), caption=f"Current image: {chosen.caption}")


def display_image(image: torch.Tensor, side: int = DISPLAY_SIDE) -> Image.Image:
    """Tensor[C,H,W] in [0,1] (C = 1 or 3) -> PIL ``L``/``RGB`` image whose longer side is ``side`` (imaging.fit_to_side)."""
    return Image.fromarray(fit_to_side(to_uint8(image), side))
