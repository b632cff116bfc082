"""Models and datasets loaded once per process (``st.cache_resource``), and maps cached per input (``st.cache_data``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from xai_core import ImageDataset, ModelCard, layer_gradcams, load_dataset, load_model
from xai_core.attribution import conv_layers_in_execution_order
from xai_core.captioning import Captioner, caption_images, load_captioner, word_cgmas, word_explanations
from xai_core.data import FOLDER_PREFIX, UPLOAD_PREFIX
from xai_core.explainers import build_explainer, explain_image, method_passes, seconds_per_pass
from xai_core.generative.dcgan import LatentGenerator, load_gan
from xai_core.imaging import to_uint8
from xai_core.metrics import suite
from xai_core.metrics.badges import image_badges
from xai_core.models import Prediction
from xai_core.models.zoo import named_architectures
from xai_core.sftgan import explain_relevance

from . import keys


@st.cache_resource(show_spinner="Loading model ...")
def cached_model(model_id: str) -> ModelCard:
    return load_model(model_id)


@st.cache_resource(show_spinner="Loading dataset ...", max_entries=32)
def cached_dataset(name: str, split: str = "test") -> ImageDataset:
    return load_dataset(name, split)


def dataset_by_name(name: str, split: str = "test") -> ImageDataset:
    """The dataset a page works on: this session's upload set (``upload:``), a ``folder:`` through the engine's own
    cache (re-read when a file changes), any other through :func:`cached_dataset`."""
    if name.startswith(UPLOAD_PREFIX):
        own = st.session_state.get(keys.SESSION_UPLOAD)
        return own if own is not None and own.name == name else load_dataset(name, split)
    if name.startswith(FOLDER_PREFIX):
        with st.spinner("Loading your images ..."):
            return load_dataset(name, split)
    return cached_dataset(name, split)


def forget_model(model_id: str) -> None:
    """Drop what the caches hold about ``model_id`` after it was added or removed in the browser, so that a model
    registered again under the same id is loaded afresh: its card, and the per-input caches (keyed by model id
    among other things, so cleared whole) and the stores of dataset-scale results that name it."""
    cached_model.clear(model_id)
    cached_conv_layer_names.clear(model_id)
    for cache in (cached_predictions, cached_map, cached_layer_gradcams, cached_cgma_relevance, cached_badges):
        cache.clear()
    store = relevance_averages()
    for key in [key for key in store if key[0] == model_id]:
        del store[key]


@st.cache_data(show_spinner="Listing the torchvision and timm architectures ...")
def cached_architectures() -> list[str]:
    """Every ``torchvision:<name>`` and ``timm:<name>`` architecture a user's weights can be loaded into."""
    return named_architectures()


@st.cache_resource
def model_lock(model_id: str) -> threading.Lock:
    """Serialises explanations on one shared model: hooks on a module see every thread's forward pass."""
    return threading.Lock()


@st.cache_data(max_entries=512, show_spinner=False)
def cached_predictions(model_id: str, image_digest: str, _image: torch.Tensor, k: int = 5) -> list[Prediction]:
    """Top-k predictions for one image, computed under the model's lock."""
    with model_lock(model_id):
        return cached_model(model_id).predict(_image, k=k)


def _one_map(model_id: str, target: int, method: str, image: torch.Tensor, on_progress=None) -> tuple[np.ndarray | None, str]:
    card = cached_model(model_id)
    report = None if on_progress is None else (lambda fraction, _: on_progress(fraction))
    with model_lock(model_id):
        explanation = explain_image(card, image, [method], target, on_progress=report)
    if method in explanation.maps:
        return explanation.maps[method][0, 0].numpy(), ""
    return None, explanation.not_applicable[method]


@st.cache_data(max_entries=512, show_spinner=False)
def cached_map(model_id: str, image_digest: str, target: int, method: str, _image: torch.Tensor) -> tuple[np.ndarray | None, str]:
    """One method's map for one image, (float32 [H,W] in [0,1], ""), or (None, why the method does not apply);
    keyed by (model, image digest, target, method)."""
    return _one_map(model_id, target, method, _image)


LONG_MAPS_KEPT = 32


@st.cache_resource
def _long_maps() -> dict:
    """Maps that took long (computed on request), shared by every session, the last LONG_MAPS_KEPT."""
    return {}


def long_map(model_id: str, image_digest: str, target: int, method: str) -> tuple[np.ndarray | None, str] | None:
    """A long map computed before (by :func:`compute_long_map`), or None."""
    return _long_maps().get((model_id, image_digest, target, method))


def compute_long_map(
    model_id: str, image_digest: str, target: int, method: str, image: torch.Tensor, on_progress: Callable[[float], None]
) -> tuple[np.ndarray | None, str]:
    """Like :func:`cached_map`, reporting ``on_progress(fraction)`` as it goes (a cached function cannot drive a
    progress bar), and kept for :func:`long_map`."""
    store = _long_maps()
    store[(model_id, image_digest, target, method)] = _one_map(model_id, target, method, image, on_progress)
    while len(store) > LONG_MAPS_KEPT:
        store.pop(next(iter(store)))
    return store[(model_id, image_digest, target, method)]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_method_passes(model_id: str, methods: tuple[str, ...]) -> dict[str, int]:
    """{method: passes through the model one map costs} (see :func:`xai_core.explainers.method_passes`)."""
    with model_lock(model_id):
        return method_passes(cached_model(model_id), methods)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_seconds_per_pass(model_id: str, image_shape: tuple[int, ...], _image: torch.Tensor) -> float:
    """Seconds of one forward pass of an image of this shape through the model (for a heavy map's estimate)."""
    with model_lock(model_id):
        return seconds_per_pass(cached_model(model_id), _image)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_layer_gradcams(model_id: str, image_digest: str, target: int, _image: torch.Tensor) -> tuple[list[str], np.ndarray]:
    """(conv layer names, Grad-CAMs float32 [L,H,W]) from one forward and one backward pass."""
    card = cached_model(model_id)
    with model_lock(model_id):
        result = layer_gradcams(card.model, card.preprocess(_image), target)
    return result.names, result.maps[0].numpy()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_cgma_relevance(model_id: str, image_digest: str, target: int, kind: str, _image: torch.Tensor) -> dict:
    """CGMA-ablation analysis of one image: relevance float [eta], blackout maps float [eta,h,w], and the
    conv layer count (to label the CGMAs)."""
    card = cached_model(model_id)
    with model_lock(model_id):
        inputs = card.preprocess(_image)
        analysis = explain_relevance(build_explainer(kind, card), inputs, target)
        n_layers = len(conv_layers_in_execution_order(card.model, inputs))
    return {"relevance": analysis.relevance[0].numpy(), "blackout": analysis.blackout[0].numpy(), "n_layers": n_layers}


@st.cache_data(max_entries=256, show_spinner=False)
def cached_badges(
    model_id: str,
    image_digest: str,
    target: int,
    methods: tuple[str, ...],
    mask_digest: str | None,
    _image: torch.Tensor,
    _maps: dict[str, torch.Tensor],
    _mask: torch.Tensor | None,
) -> dict[str, dict[str, float]]:
    """Per-image metrics of each method's map ({method: {metric: value}}, see :func:`image_badges`); keyed by
    (model, image digest, target, methods, mask digest). _maps: {method: Tensor[1,1,H,W]}, _mask: Tensor[1,H,W]."""
    card = cached_model(model_id)
    with model_lock(model_id):
        return image_badges(card, _image, {m: _maps[m] for m in methods}, target, _mask)


@st.cache_data(max_entries=8, show_spinner=False)
def _sanity_verdicts(path: str, modified: float) -> dict[tuple[str, str], dict]:
    return suite.load_sanity_verdicts(Path(path))


def sanity_verdicts() -> dict[tuple[str, str], dict]:
    """The recorded cascading-randomisation verdicts ({(model id, method): entry}; empty when none), re-read
    when the file changes."""
    path = suite.SANITY_VERDICTS_PATH
    return _sanity_verdicts(str(path), path.stat().st_mtime) if path.exists() else {}


@st.cache_resource
def evaluation_results() -> dict:
    """Evaluation runs shared by every session, oldest first: {config key: (EvaluationResult, seconds)}."""
    return {}


@st.cache_resource
def relevance_averages() -> dict:
    """Dataset/model-pair average relevance, shared by every session: {(model, dataset, kind, n): (mean, std)}."""
    return {}


@st.cache_resource(show_spinner="Loading GAN ...")
def cached_gan(gan_id: str) -> LatentGenerator:
    return load_gan(gan_id)


@st.cache_resource
def latent_sensitivities() -> dict:
    """Latent sensitivity samples shared by every session: {(gan id, class, samples, seed): LatentSensitivity}."""
    return {}


@st.cache_data(max_entries=32, show_spinner=False)
def cached_conv_layer_names(model_id: str) -> list[str]:
    """The model's conv layers (names as in named_modules), in execution order."""
    card = cached_model(model_id)
    with model_lock(model_id):
        example = torch.zeros(1, card.in_channels, *card.input_size)
        return [name for name, _ in conv_layers_in_execution_order(card.model, example)]


@st.cache_data(max_entries=64, show_spinner=False)
def cached_concept_preview(dataset: str, concept: str | None, count: int, seed: int) -> list[np.ndarray]:
    """A few images of a registered concept set (or of a random set when ``concept`` is None): uint8 [H,W] or [H,W,3] each."""
    from xai_core.data.concepts import build_concept, random_concept_set

    images = random_concept_set(dataset, count, seed) if concept is None else build_concept(dataset, concept, count, seed)
    return [to_uint8(image) for image in images]


@st.cache_resource
def tcav_results() -> dict:
    """TCAV runs shared by every session, oldest first: {config key: (TCAVResult, seconds)}."""
    return {}


@st.cache_resource(show_spinner="Loading captioner ...")
def cached_captioner(captioner_id: str) -> Captioner:
    return load_captioner(captioner_id)


@st.cache_data(max_entries=512, show_spinner=False)
def cached_caption(captioner_id: str, image_digest: str, _image: torch.Tensor) -> list[str]:
    """The captioner's greedy caption of one image float Tensor[3,H,W] in [0,1], as words (under the captioner's lock)."""
    with model_lock(captioner_id):
        return caption_images(cached_captioner(captioner_id), _image[None])[0]


@st.cache_data(max_entries=128, show_spinner=False)
def cached_word_maps(
    captioner_id: str, image_digest: str, words: tuple[str, ...], method: str, _image: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """One captioning method's map of every word of ``words`` said about one image: (maps float32 [W,H,W] in [0,1],
    the captioner's probability of each word float32 [W]); keyed by (captioner, image digest, words, method)."""
    with model_lock(captioner_id):
        explanation = word_explanations(cached_captioner(captioner_id), _image, list(words), (method,))
    return explanation.maps[method][:, 0].detach().numpy(), explanation.probabilities.numpy()


@st.cache_data(max_entries=128, show_spinner=False)
def cached_word_cgmas(captioner_id: str, image_digest: str, words: tuple[str, ...], _image: torch.Tensor) -> np.ndarray:
    """Every word's CGMAs (the SFT-GAN generators' condition): float32 [W, eta, H, W] in [0, 1]."""
    with model_lock(captioner_id):
        return word_cgmas(cached_captioner(captioner_id), _image, list(words)).numpy()
