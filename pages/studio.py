"""Studio: one subject (a dataset image, the current upload or a GAN sample) with every explanation of it side by
side: the prediction, the chosen attribution maps, LSFT and GSFT under one normalisation and colormap with their
badges, the chosen generator's CGMA relevance, and for a GAN sample the latent sliders that drive it all."""

from __future__ import annotations

import streamlit as st
import torch

from pages.common import keys
from pages.common.badges import BADGE_HELP, badge_markdown
from pages.common.image_input import dataset_image, display_image, show_current_image, uploaded_image
from pages.common.latent import gan_sidebar, latent_controls, latent_sliders
from pages.common.resources import (
    cached_badges,
    cached_cgma_relevance,
    cached_map,
    cached_method_passes,
    cached_model,
    cached_predictions,
    long_map,
)
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages, render_sidebar
from xai_core import CheckpointError, ModelCard
from xai_core.attribution.base import normalise_maps
from xai_core.data import pil_to_tensor
from xai_core.explainers import EXPLAINERS, METHOD_LABELS, ON_REQUEST_PASSES
from xai_core.imaging import COLORMAPS, overlay
from xai_core.reports.charts import relevance_figure, top_k_figure
from xai_core.sftgan import choose_generator
from xai_core.sftgan.data import slot_layers

GENERATOR_METHODS = ("lsft", "gsft")
ATTRIBUTION_METHODS = [method for method in EXPLAINERS if method not in GENERATOR_METHODS]
DEFAULT_METHODS = ["saliency", "grad_cam"]
SUBJECTS = (keys.SUBJECT_DATASET, keys.SUBJECT_UPLOAD, keys.SUBJECT_GAN)
COLUMNS = 4
TILE_SIDE = 224


def _follow_image_source() -> None:
    """A dataset image or an upload chosen here is the current image of every page."""
    subject = st.session_state[keys.STUDIO_SUBJECT]
    if subject != keys.SUBJECT_GAN:
        st.session_state[keys.IMAGE_SOURCE] = keys.SOURCE_UPLOAD if subject == keys.SUBJECT_UPLOAD else keys.SOURCE_DATASET


def unified_view(card: ModelCard, image: torch.Tensor, digest: str, true_label: int | None, caption: str, colormap: str) -> None:
    """The subject ``image`` (Tensor[C,H,W] in [0,1]) through ``card``: original, prediction, maps with badges, and
    the CGMA relevance of the chosen generator. The target is the predicted class."""
    predictions = cached_predictions(card.id, digest, image, k=5)
    target = predictions[0].label
    shown = display_image(card.field_of_view(image), TILE_SIDE)
    picture, chart = st.columns([1, 2])
    picture.image(shown, caption=caption)
    chart.plotly_chart(top_k_figure(predictions, true_label=true_label, height=220), key="studio_prediction_chart")
    methods = [*st.session_state[keys.STUDIO_METHODS], *GENERATOR_METHODS]
    slots, maps, reasons = {}, {}, {}
    for row_start in range(0, len(methods), COLUMNS):  # every tile's place first: each map fills in as it is done
        for column, method in zip(st.columns(COLUMNS), methods[row_start : row_start + COLUMNS]):
            column.markdown(f"**{METHOD_LABELS[method]}**")
            slots[method] = (column.empty(), column.empty())
    passes = cached_method_passes(card.id, tuple(methods))
    for method in methods:
        if passes[method] > ON_REQUEST_PASSES and long_map(card.id, digest, target, method) is None:
            slots[method][0].info(f"{passes[method]:,} passes through {card.id}: compute it on the Explain page, then it shows here.")
            continue
        saliency, reasons[method] = long_map(card.id, digest, target, method) or cached_map(card.id, digest, target, method, image)
        if saliency is None:
            slots[method][0].info(f"Not applicable: {reasons[method]}.")
            continue
        maps[method] = normalise_maps(torch.from_numpy(saliency)[None])
        slots[method][0].image(overlay(pil_to_tensor(shown), maps[method], 0.5, colormap), width="stretch")
    badges = cached_badges(card.id, digest, target, tuple(maps), None, image, {m: maps[m][None] for m in maps}, None)
    for method in maps:
        slots[method][1].markdown(badge_markdown(badges[method]), help=BADGE_HELP)
    st.caption(
        f"Target: the predicted class, **{card.classes[target]}**. Every map is min-max normalised to [0, 1] (LSFT and "
        f"GSFT too, unlike the Explain page) and drawn in the {colormap} colormap over the part of the image the model "
        "sees; the badges score the maps as shown."
    )
    kind = st.session_state[keys.SFTGAN_KIND]
    choice = choose_generator(card, kind)
    try:
        analysis = cached_cgma_relevance(card.id, digest, target, kind, image)
    except CheckpointError as error:
        st.error(f"The {METHOD_LABELS[kind]} generator cannot be loaded: {error}")
        return
    st.plotly_chart(
        relevance_figure(
            analysis["relevance"],
            slot_layers(analysis["n_layers"]),
            title=f"{METHOD_LABELS[kind]} (`{choice.generator_id}`): relevance of each CGMA, this image",
            height=260,
        ),
        key="studio_relevance_chart",
    )


ensure_app_router()
keep_widget_state_across_pages()
st.title("Studio")
st.caption(
    "The unified view (unified XAI framework, §3.4): one subject at a time with the CNN's prediction, its attribution "
    "maps, the SFT-GAN maps (Guna et al.) and which CGMAs the generator relies on, all on one scale; a GAN sample comes "
    "with the latent sliders that regenerate it and re-explain it."
)
subject_of_source = keys.SUBJECT_UPLOAD if st.session_state.get(keys.IMAGE_SOURCE) == keys.SOURCE_UPLOAD else keys.SUBJECT_DATASET
if st.session_state.get(keys.STUDIO_SUBJECT) != keys.SUBJECT_GAN:  # the current image, whichever page chose it
    st.session_state[keys.STUDIO_SUBJECT] = subject_of_source
st.session_state.setdefault(keys.STUDIO_METHODS, DEFAULT_METHODS)
st.session_state.setdefault(keys.SFTGAN_KIND, "lsft")
subject = st.session_state[keys.STUDIO_SUBJECT]
if subject == keys.SUBJECT_GAN:  # the sidebar first: it re-assigns the kept widgets, this page's radio among them
    gan = gan_sidebar()
else:
    selection = render_sidebar()
st.radio("Subject", SUBJECTS, key=keys.STUDIO_SUBJECT, horizontal=True, on_change=_follow_image_source)
with st.sidebar:
    st.header("Display")
    st.multiselect("Attribution maps", ATTRIBUTION_METHODS, format_func=METHOD_LABELS.get, key=keys.STUDIO_METHODS)
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)
    st.radio("CGMA relevance of", GENERATOR_METHODS, format_func=METHOD_LABELS.get, key=keys.SFTGAN_KIND, horizontal=True)

if subject == keys.SUBJECT_GAN:
    if gan.card_id is None:
        st.info(f"No CNN trained on {gan.info['dataset']} is available to read the generated images.")
        st.stop()
    card = cached_model(gan.card_id)
    controls = latent_controls(gan)

    @st.fragment
    def gan_subject() -> None:
        """The sliders and everything they drive: the only part that reruns when a slider moves."""
        sliders, view = st.columns([1, 3])
        with sliders:
            sample = latent_sliders(gan, controls)
        with view:
            subject_class = f"class {gan.class_name} · " if gan.class_name else ""
            caption = f"{gan.gan_id} · {subject_class}seed {gan.seed} · {sample.edits} slider(s) moved"
            true_label = gan.label if gan.card_id in gan.domain_cnns else None
            unified_view(card, sample.image, sample.digest, true_label, caption, colormap)

    gan_subject()
else:
    try:
        card = cached_model(selection.model_id)
    except CheckpointError as error:
        st.error(f"Model {selection.model_id} cannot be loaded: {error}")
        st.stop()
    chosen = uploaded_image() if subject == keys.SUBJECT_UPLOAD else dataset_image(selection.dataset)
    if chosen is None:
        st.stop()
    show_current_image(chosen)
    unified_view(card, chosen.image, chosen.digest, chosen.label, chosen.caption, colormap)
