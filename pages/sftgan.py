"""SFT-GAN: Grad-CAM next to the LSFT and GSFT generators' maps, and which CGMAs the generator relies on."""

import json

import streamlit as st
import torch

from pages.common import keys
from pages.common.image_input import display_image
from pages.common.page import open_page
from pages.common.resources import cached_cgma_relevance, cached_dataset, cached_map, cached_model, model_lock, relevance_averages
from pages.common.targets import choose_target
from xai_core import CheckpointError
from xai_core.data import pil_to_tensor
from xai_core.explainers import METHOD_LABELS, build_explainer
from xai_core.imaging import COLORMAPS, colorize, fit_to_side, overlay
from xai_core.reports.charts import relevance_figure
from xai_core.sftgan import average_relevance, choose_generator, generator_info
from xai_core.sftgan.data import slot_layers

METHODS = ("grad_cam", "lsft", "gsft")

selection, card, chosen = open_page(
    "SFT-GAN",
    "Conditional GANs that explain a CNN from the Cumulative Grad-CAM Averages (CGMAs) of all its conv layers "
    "(Guna et al., §3.2). LSFT feeds CGMA k to SFT block k; GSFT feeds all CGMAs to every block.",
)
for key, default in ((keys.SFTGAN_KIND, "lsft"), (keys.RELEVANCE_IMAGES, 200)):
    st.session_state.setdefault(key, default)
with st.sidebar:
    st.header("Display")
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)
    kind = st.radio("Interpret generator", ("lsft", "gsft"), format_func=METHOD_LABELS.get, key=keys.SFTGAN_KIND, horizontal=True)
target, _ = choose_target(card, chosen.image, chosen.digest)
choices = {generator_kind: choose_generator(card, generator_kind) for generator_kind in ("lsft", "gsft")}  # what explain_image uses
st.info(
    " ".join(
        f"{METHOD_LABELS[k]} uses `{c.generator_id}` ({c.reason}"
        + (f"; held-out Dice vs Grad-CAM {c.val_dice:.3f})." if c.val_dice is not None else ").")
        for k, c in choices.items()
    )
    + (
        ""
        if "trained for" in choices[kind].reason
        else f" Train generators for {card.id} on your images with `python -m xai_core train-sftgan --kind {kind} "
        f"--pairs {card.id}@folder:/path/to/images`."
    )
)

with st.spinner("CGMAs and generators ..."):
    explained = {m: cached_map(card.id, chosen.digest, target, m, chosen.image) for m in METHODS}
    unavailable = [reason for _, reason in explained.values() if reason]
    if unavailable:
        st.error(f"An SFT-GAN generator cannot be used: {unavailable[0]}")
        st.stop()
    maps = {m: torch.from_numpy(saliency)[None] for m, (saliency, _) in explained.items()}
    try:
        analysis = cached_cgma_relevance(card.id, chosen.digest, target, kind, chosen.image)
    except CheckpointError as error:
        st.error(f"An SFT-GAN generator cannot be loaded: {error}")
        st.stop()

shown = display_image(card.field_of_view(chosen.image), 224)  # the maps cover the part of the image the model sees
for column, (title, picture) in zip(
    st.columns(4), [("Original", shown)] + [(METHOD_LABELS[m], overlay(pil_to_tensor(shown), maps[m], 0.5, colormap)) for m in METHODS]
):
    column.markdown(f"**{title}**")
    column.image(picture, width="stretch")
info = generator_info(choices[kind].generator_id)
st.caption(
    f"Target **{card.classes[target]}**. `{info['id']}` learned from "
    f"{', '.join(sorted({p['dataset'] for p in info['pairs']}))} (train splits only). Grad-CAM is the last conv "
    "layer's, the map the generators learned to imitate."
)

layers = slot_layers(analysis["n_layers"])
st.subheader(f"Which CGMAs does {METHOD_LABELS[kind]} rely on? (§5)")
left, right = st.columns([3, 2])
left.plotly_chart(
    relevance_figure(analysis["relevance"], layers, title=f"{METHOD_LABELS[kind]}: relevance of each CGMA, this image"),
    key="relevance_chart",
)
right.markdown(
    "Relevance of CGMA k = sum over pixels of |L(S) - L(S with CGMA k zeroed)|: how much the map changes when the "
    "generator no longer sees that stage of the CNN. Large bars for early CGMAs mean the map depends on shallow "
    "layers too, not only on the final one."
)
rows = [{"cgma": k, "last_layer": layer, "relevance": float(value)} for k, (layer, value) in enumerate(zip(layers, analysis["relevance"]))]
right.download_button(
    "Relevance (JSON)",
    json.dumps({"model": card.id, "generator": kind, "target": target, "cgmas": rows}, indent=2),
    file_name=f"{card.id}-{kind}-relevance.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
)

st.markdown("**Blackout maps**: the generator's map with one CGMA removed")
for column, (k, blackout) in zip(st.columns(len(layers)), enumerate(analysis["blackout"])):
    column.image(fit_to_side(colorize(torch.from_numpy(blackout)[None], colormap), 112), caption=f"without CGMA {k}")

st.subheader(f"Average relevance over {selection.dataset} for {card.id}")
count = st.number_input("Images (first N of the test split)", min_value=8, max_value=2000, step=8, key=keys.RELEVANCE_IMAGES)
store = relevance_averages()
store_key = (card.id, selection.dataset, kind, int(count))
requested = st.session_state.pop(keys.RELEVANCE_REQUESTED, False)
if store_key not in store and requested:
    dataset = cached_dataset(selection.dataset)
    images = dataset.float_images(slice(0, min(int(count), len(dataset))))
    progress = st.progress(0.0, text="Ablating CGMAs ...")
    with model_lock(card.id):
        mean, per_image = average_relevance(
            build_explainer(kind, cached_model(card.id)),
            card.preprocess,
            images,
            on_progress=lambda done: progress.progress(done, text=f"{done:.0%} of {len(images)} images"),
        )
    progress.empty()
    store[store_key] = (mean.numpy(), per_image.std(dim=0).numpy(), len(images))
elif store_key not in store:
    # A callback, not the button's return value: a click survives the app router's one-off rerun.
    st.button(
        "Compute the average relevance",
        icon=":material/bar_chart:",
        on_click=st.session_state.__setitem__,
        args=(keys.RELEVANCE_REQUESTED, True),
    )
if store_key in store:
    mean, std, n = store[store_key]
    st.plotly_chart(
        relevance_figure(mean, layers, error=std, title=f"{METHOD_LABELS[kind]}: mean relevance +- std over {n} images"),
        key="average_relevance_chart",
    )
else:
    st.caption("Runs the generator 9 times per image (original and 8 ablations); the result is kept for every session.")
