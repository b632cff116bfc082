"""Explain: every explanation of the model's decision side by side, with target and noise controls."""

import streamlit as st
import torch

from pages.common import keys
from pages.common.badges import BADGE_HELP, badge_markdown, sanity_markdown
from pages.common.image_input import display_image, image_digest
from pages.common.page import open_page
from pages.common.resources import (
    cached_badges,
    cached_map,
    cached_method_passes,
    cached_seconds_per_pass,
    compute_long_map,
    long_map,
    sanity_verdicts,
)
from pages.common.targets import choose_target
from xai_core.data import pil_to_tensor
from xai_core.explainers import EXPLAINERS, METHOD_LABELS, ON_REQUEST_PASSES
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


def progress_of(bar, method: str):
    """The callback that moves ``bar`` as a long map is computed."""
    return lambda done: bar.progress(done, text=f"{METHOD_LABELS[method]}: {done:.0%}")


# every tile's place first, in the chosen order; then the maps fill in cheapest first; a map needing more than
# ON_REQUEST_PASSES passes through the model (Score-CAM on a wide last layer) waits for a click
passes = cached_method_passes(card.id, tuple(methods))
heavy = {method for method in methods if passes[method] > ON_REQUEST_PASSES}
shown = display_image(card.field_of_view(image), 224)  # overlays at display size, over the part the model sees
cropped = card.field_of_view(chosen.image).shape != chosen.image.shape
original = "Original" + (" (the centre the model sees)" if cropped else "")
slots: dict[str, tuple] = {}
titles = [original + (f" + {noise:.0%} noise" if noise else ""), *(METHOD_LABELS[m] for m in methods)]
for row_start in range(0, len(titles), COLUMNS):
    for column, position in zip(st.columns(COLUMNS), range(row_start, min(row_start + COLUMNS, len(titles)))):
        column.markdown(f"**{titles[position]}**")
        if position == 0:
            column.image(shown, width="stretch")
        else:
            slots[methods[position - 1]] = (column.empty(), column.empty(), column.empty())

maps = {}
requested = st.session_state.setdefault(keys.HEAVY_REQUESTED, set())
for method in sorted(methods, key=passes.get):
    picture_slot, download_slot, _ = slots[method]
    if method not in heavy:
        saliency, reason = cached_map(card.id, digest, target, method, image)
    elif (done := long_map(card.id, digest, target, method)) is not None:
        saliency, reason = done
    elif (card.id, digest, target, method) in requested:
        with picture_slot.container():
            saliency, reason = compute_long_map(card.id, digest, target, method, image, progress_of(st.progress(0.0), method))
    else:
        per_pass = cached_seconds_per_pass(card.id, tuple(image.shape), image)
        with picture_slot.container():
            st.info(f"{passes[method]:,} passes through {card.id}, about {passes[method] * per_pass:.0f} s here: runs on request.")
            # a callback, not the button's return value: a click survives the app router's one-off rerun
            st.button(
                f"Compute {METHOD_LABELS[method]}",
                key=f"compute:{method}",
                on_click=requested.add,
                args=((card.id, digest, target, method),),
            )
        continue
    if saliency is None:
        picture_slot.info(f"Not applicable: {reason}.")
        continue
    maps[method] = torch.from_numpy(saliency)[None]
    picture_slot.image(overlay(pil_to_tensor(shown), maps[method], opacity, colormap), width="stretch")
    download_slot.download_button(
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
    "dataset) and give its recorded model-randomisation sanity check. Maps appear cheapest first; a method needing "
    f"more than {ON_REQUEST_PASSES} passes through the model (Score-CAM on a wide last layer) runs when you ask."
)

# badges last, so the maps show while they are computed
mask = chosen.mask
with st.spinner("Scoring the maps ..."):
    badges = cached_badges(
        card.id, digest, target, tuple(maps), None if mask is None else image_digest(mask), image, {m: maps[m][None] for m in maps}, mask
    )
verdicts = sanity_verdicts()
for method in maps:
    with slots[method][2].container():
        st.markdown(badge_markdown(badges[method]), help=BADGE_HELP)
        st.markdown(sanity_markdown(*sanity_badge(verdicts, card.id, method)))
