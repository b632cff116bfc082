"""Explain: every explanation of the model's decision side by side, with target and noise controls."""

import streamlit as st
import torch

from pages.common import keys
from pages.common.badges import BADGE_HELP, badge_markdown, sanity_markdown
from pages.common.image_input import display_image, image_digest
from pages.common.page import open_page
from pages.common.resources import cached_badges, cached_map, sanity_verdicts
from pages.common.targets import choose_target
from xai_core.data import pil_to_tensor
from xai_core.explainers import EXPLAINERS, METHOD_LABELS
from xai_core.imaging import COLORMAPS, colorize, overlay, png_bytes
from xai_core.metrics.badges import sanity_badge
from xai_core.metrics.robustness import NOISE_LEVELS, salt_and_pepper

COLUMNS = 4

selection, card, chosen = open_page(
    "Explain",
    "Why did the model decide this? Each map shows which pixels drove the score of the target class.",
)

for key, default in ((keys.METHODS, list(EXPLAINERS)), (keys.OPACITY, 0.5), (keys.NOISE, 0.0)):
    st.session_state.setdefault(key, default)
with st.sidebar:
    st.header("Display")
    methods = st.multiselect("Methods", list(EXPLAINERS), format_func=METHOD_LABELS.get, key=keys.METHODS)
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)
    opacity = st.slider("Overlay opacity", 0.0, 1.0, step=0.05, key=keys.OPACITY)
    noise = st.select_slider(
        "Salt-and-pepper noise",
        NOISE_LEVELS,
        key=keys.NOISE,
        help="Replace this fraction of pixels by black or white and explain the noisy image.",
    )

# noise hits pixels at the model's input resolution, so resizing cannot average it away
image = salt_and_pepper(card.resize(chosen.image)[0], noise, seed=0) if noise > 0 else chosen.image
digest = chosen.digest if noise == 0 else f"{chosen.digest}:{card.id}:sp{noise}"
target, predictions = choose_target(card, image, digest)

if not methods:
    st.info("Choose at least one method in the sidebar.")
    st.stop()

progress = st.progress(0.0, text="Explaining ...")
maps = {}
not_applicable = {}
for done, method in enumerate(methods, start=1):
    saliency, not_applicable[method] = cached_map(card.id, digest, target, method, image)
    if saliency is not None:
        maps[method] = torch.from_numpy(saliency)[None]
    progress.progress(done / len(methods), text=f"{METHOD_LABELS[method]} done")
progress.empty()

# overlays are drawn at display size, whatever the upload's size, over the part of the image the model sees
shown = display_image(card.field_of_view(image), 224)
cropped = card.field_of_view(chosen.image).shape != chosen.image.shape
original = "Original" + (" (the centre the model sees)" if cropped else "")
tiles = [(original + (f" + {noise:.0%} noise" if noise else ""), shown, None)]
tiles += [(METHOD_LABELS[m], overlay(pil_to_tensor(shown), maps[m], opacity, colormap) if m in maps else None, m) for m in methods]
badge_slots = {}
for row_start in range(0, len(tiles), COLUMNS):
    for column, (title, picture, method) in zip(st.columns(COLUMNS), tiles[row_start : row_start + COLUMNS]):
        with column:
            st.markdown(f"**{title}**")
            if picture is None:
                st.info(f"Not applicable: {not_applicable[method]}.")
                continue
            st.image(picture, width="stretch")
            if method is not None:
                badge_slots[method] = st.empty()
                st.download_button(
                    "PNG",
                    png_bytes(colorize(maps[method], colormap)),
                    file_name=f"{card.id}-{method}.png",
                    mime="image/png",
                    key=f"download:{method}",
                    icon=":material/download:",
                    on_click="ignore",
                )
st.caption(
    f"Target: **{card.classes[target]}**. Maps are min-max normalised per method (LSFT/GSFT show the generator's "
    f"sigmoid output, see the SFT-GAN page); all share the {colormap} colormap "
    "(high relevance at the top of the scale). Downloads hold the coloured map alone at model-input resolution. "
    "Badges score each map on this image (hover the ? for definitions; the Evaluate page averages them over a "
    "dataset) and give its recorded model-randomisation sanity check."
)

# badges last, so the maps show while they are computed
mask = chosen.mask
with st.spinner("Scoring the maps ..."):
    badges = cached_badges(
        card.id, digest, target, tuple(maps), None if mask is None else image_digest(mask), image, {m: maps[m][None] for m in maps}, mask
    )
verdicts = sanity_verdicts()
for method, slot in badge_slots.items():
    with slot.container():
        st.markdown(badge_markdown(badges[method]), help=BADGE_HELP)
        st.markdown(sanity_markdown(*sanity_badge(verdicts, card.id, method)))
