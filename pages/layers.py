"""Layers & CGMA: the Grad-CAM of every conv layer, the positions CGMAs end at, and the CGMAs."""

import streamlit as st
import torch

from pages.common import keys
from pages.common.image_input import display_image
from pages.common.page import open_page
from pages.common.resources import cached_layer_gradcams
from pages.common.targets import choose_target
from xai_core import cumulative_gradcam_averages, layer_positions
from xai_core.attribution import DEFAULT_ETA
from xai_core.imaging import colorize, fit_to_side

COLUMNS = 8
MAX_ETA = 32

selection, card, chosen = open_page(
    "Layers & CGMA",
    "Grad-CAM at every convolutional layer, shallow to deep, from one forward and one backward pass; "
    "the highlighted layers are where the Cumulative Grad-CAM Averages end (SFT-GAN paper, §3.1).",
)
target, _ = choose_target(card, chosen.image, chosen.digest)
requested_eta = st.session_state.setdefault(keys.ETA, DEFAULT_ETA)
if type(requested_eta) is not int or not 1 <= requested_eta <= MAX_ETA:
    st.session_state[keys.ETA] = min(max(requested_eta, 1), MAX_ETA) if type(requested_eta) is int else DEFAULT_ETA
    st.warning(
        f"eta (the number of CGMAs) must be a whole number from 1 to {MAX_ETA}; "
        f"{requested_eta!r} was replaced by {st.session_state[keys.ETA]}."
    )
eta = st.sidebar.number_input("CGMAs (eta)", min_value=1, max_value=MAX_ETA, step=1, key=keys.ETA)

with st.spinner("One forward and one backward pass ..."):
    names, layer_maps = cached_layer_gradcams(card.id, chosen.digest, target, chosen.image)
positions = layer_positions(len(names), int(eta))
cgmas = cumulative_gradcam_averages(torch.from_numpy(layer_maps)[None], int(eta))[0]

left, right = st.columns([1, 7])
left.image(display_image(card.field_of_view(chosen.image), 128), caption=chosen.caption)  # what the maps cover
right.markdown(
    f"**{len(names)} conv layers** in `{card.id}`; CGMA k averages layers 0..pos[k], pos = {positions} (target **{card.classes[target]}**)."
)


def strip(maps, captions):
    for row_start in range(0, len(maps), COLUMNS):
        for column, saliency, caption in zip(
            st.columns(COLUMNS), maps[row_start : row_start + COLUMNS], captions[row_start : row_start + COLUMNS]
        ):
            column.image(fit_to_side(colorize(torch.as_tensor(saliency)), 112), caption=caption)


st.subheader("Grad-CAM of every conv layer")
strip(list(layer_maps), [("★ " if i in positions else "") + f"{i}: {name}" for i, name in enumerate(names)])
st.subheader(f"The {len(positions)} CGMAs")
strip(list(cgmas), [f"CGMA {k} (layers 0..{p})" for k, p in enumerate(positions)])
