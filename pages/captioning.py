"""Captioning: a captioner's caption of a scene word by word, each word's Grad-CAM, LSFT-GAN, GSFT-GAN and saliency maps
of its CNN encoder, and how much of each map lies on the object the word names (SFT-GAN paper §4.3.7, §6.2)."""

import json

import numpy as np
import pandas as pd
import streamlit as st
import torch
from PIL import Image

from pages.common import keys
from pages.common.image_input import display_image, image_digest, uploaded_image
from pages.common.resources import cached_caption, cached_captioner, cached_word_cgmas, cached_word_maps
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from xai_core import CheckpointError
from xai_core.captioning import (
    CAPTION_METHODS,
    CaptionExplanation,
    captioner_info,
    list_captioners,
    prepare_image,
    word_objects,
    word_role,
    word_table,
)
from xai_core.captioning.words import WORD_TABLE_COLUMNS
from xai_core.data import pil_to_tensor
from xai_core.data.captioning import NO_OBJECT, SPLIT_SIZES, make_scene
from xai_core.explainers import METHOD_LABELS
from xai_core.imaging import COLORMAPS, colorize, overlay, png_bytes, to_uint8
from xai_core.reports.charts import word_intensity_figure, word_mass_figure

DEFAULT_CAPTIONER = "captioner-resnet"
TRAIN_COMMAND = "python -m xai_core train-captioner"
TEST_SCENES = SPLIT_SIZES["test"]
DISPLAY_SIDE = 224

ensure_app_router()
keep_widget_state_across_pages()
st.title("Captioning")
st.caption(
    "Why did the captioner say this word? Each word's score is back-propagated to the captioner's CNN encoder, and "
    "Grad-CAM, the SFT-GAN generators (LSFT, GSFT) and saliency explain it like a class of a classifier (Guna et al., "
    "§4.3.7). On the test scenes every word that names an object has that object's mask to check the map against."
)

try:
    captioners = list_captioners()
except CheckpointError as error:
    st.error(f"The captioner manifests cannot be read: {error}")
    st.stop()
if not captioners:
    st.error(f"No captioner is available. Train one with `{TRAIN_COMMAND}`.")
    st.stop()
if st.session_state.get(keys.CAPTIONER_ID) not in captioners:
    st.session_state[keys.CAPTIONER_ID] = DEFAULT_CAPTIONER if DEFAULT_CAPTIONER in captioners else captioners[0]
for key, default in ((keys.CAPTION_SOURCE, keys.CAPTION_SOURCE_SCENE), (keys.CAPTION_SCENE, 0), (keys.OPACITY, 0.5)):
    st.session_state.setdefault(key, default)


def _captioner_label(captioner_id: str) -> str:
    bleu4 = captioner_info(captioner_id).get("metrics", {}).get("bleu4")
    return captioner_id if bleu4 is None else f"{captioner_id} (BLEU-4 {bleu4:.2f})"


with st.sidebar:
    st.header("Captioner")
    captioner_id = st.selectbox("Captioner", captioners, key=keys.CAPTIONER_ID, format_func=_captioner_label)
    st.header("Display")
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)
    opacity = st.slider("Overlay opacity", 0.0, 1.0, step=0.05, key=keys.OPACITY)

try:
    cached_captioner(captioner_id)
except CheckpointError as error:
    st.error(f"Captioner {captioner_id} cannot be loaded: {error}. Train it with `{TRAIN_COMMAND}`.")
    st.stop()

source_column, scene_column = st.columns(2)
source = source_column.radio(
    "Image source", (keys.CAPTION_SOURCE_SCENE, keys.CAPTION_SOURCE_UPLOAD), key=keys.CAPTION_SOURCE, horizontal=True
)
scene = None
if source == keys.CAPTION_SOURCE_SCENE:
    scene_index = int(
        scene_column.number_input(
            f"Test scene (0-{TEST_SCENES - 1})", min_value=0, max_value=TEST_SCENES - 1, step=1, key=keys.CAPTION_SCENE
        )
    )
    scene = make_scene("test", scene_index)
    image = scene.image.float() / 255
    description = f"captioning test scene #{scene_index}"
else:
    upload = uploaded_image()
    if upload is None:
        st.stop()
    image = prepare_image(Image.fromarray(to_uint8(upload.image)))
    description = f"{upload.caption}, seen by the captioner at {image.shape[2]}x{image.shape[1]} RGB"
digest = image_digest(image)
file_stem = f"{captioner_id}-" + (f"upload-{digest}" if scene is None else f"scene{scene_index}")

words = cached_caption(captioner_id, digest, image)
if not words:
    st.warning("The captioner produced an empty caption for this image: there is no word to explain.")
    st.stop()
caption_key = (captioner_id, digest)
stored = st.session_state.get(keys.CAPTION_WORD)
if stored is not None and stored[0] == caption_key and stored[1] < len(words):
    position = stored[1]
else:  # a new caption: its first shape word, else its first word
    position = next((p for p, word in enumerate(words) if word_role(word) == "shape"), 0)

picture_column, caption_column = st.columns([1, 2])
shown = display_image(image, DISPLAY_SIDE)
picture_column.image(shown, caption=description)
with caption_column:
    st.markdown("**Generated caption** (click a word to explain it)")
    with st.container(horizontal=True):
        for index, word in enumerate(words):
            # a callback, not the button's return value: a click survives the app router's one-off rerun
            st.button(
                word,
                key=f"{keys.CAPTION_WORD_BUTTON}{index}",
                type="primary" if index == position else "secondary",
                on_click=st.session_state.__setitem__,
                args=(keys.CAPTION_WORD, (caption_key, index)),
            )
    if scene is not None:
        verdict = "matches it" if list(scene.tokens) == words else "differs from it"
        st.markdown(f"**True caption:** {scene.caption}. The generated caption {verdict}.")

progress = st.progress(0.0, text="Explaining every word ...")
maps, unavailable = {}, {}
for done, method in enumerate(CAPTION_METHODS, start=1):
    try:
        method_maps, probabilities = cached_word_maps(captioner_id, digest, tuple(words), method, image)
        maps[method] = torch.from_numpy(method_maps)[:, None]
    except CheckpointError as error:  # e.g. an SFT-GAN generator removed from checkpoints/
        unavailable[method] = str(error)
    progress.progress(done / len(CAPTION_METHODS), text=f"{METHOD_LABELS[method]} done")
progress.empty()
explanation = CaptionExplanation(words, maps, torch.from_numpy(probabilities), [] if scene is None else word_objects(words, scene.objects))
records = word_table(explanation, None if scene is None else scene.masks)

word = words[position]
named = explanation.objects[position] if explanation.objects else NO_OBJECT
with caption_column:
    st.subheader(f"Word {position + 1}: “{word}”")
    facts = f"Role **{word_role(word)}**, probability **{float(probabilities[position]):.1%}** given the words before it"
    if scene is not None:
        facts += ". It names no object" if named == NO_OBJECT else f". It names the {' '.join(scene.objects[named][:2])}"
    st.markdown(facts + ".")

chosen_rows = {row["method"]: row for row in records if row["position"] == position}
tiles = {}
for column, method in zip(st.columns(len(CAPTION_METHODS)), CAPTION_METHODS):
    with column:
        st.markdown(f"**{METHOD_LABELS[method]}**")
        if method in unavailable:
            st.error(f"Unavailable: {unavailable[method]}")
            continue
        tiles[method] = overlay(pil_to_tensor(shown), maps[method][position], opacity, colormap)
        st.image(tiles[method], caption=f"{METHOD_LABELS[method]} for “{word}” (word {position + 1})", width="stretch")
        if scene is not None:
            mass = chosen_rows[method]["mass_on_object"]
            st.metric(
                "Mass on object",
                "no object" if mass is None else f"{mass:.3f}",
                help="Share of the map's total mass inside the mask of the object the word names.",
            )
with st.expander(f"CGMAs of “{word}”: what the LSFT and GSFT generators are conditioned on"):
    cgmas = cached_word_cgmas(captioner_id, digest, tuple(words), image)[position]
    st.caption(
        "Cumulative Grad-CAM averages of the word's score over the encoder's conv layers, shallow (left) to deep "
        "(right): CGMA k averages the Grad-CAMs of every layer up to the k-th chosen one (Guna et al., Eq. 4)."
    )
    st.image([colorize(torch.from_numpy(cgma)) for cgma in cgmas], caption=[f"CGMA {k + 1}" for k in range(len(cgmas))], width=88)
if scene is None:
    st.info("Mass on object needs the object masks of a test scene; an uploaded image has none. Choose a test scene to score the maps.")
else:
    st.subheader("Every word of the caption")
    mass_column, intensity_column = st.columns(2)
    mass_column.plotly_chart(word_mass_figure(records, position), key="word_mass_chart")
    intensity_column.plotly_chart(word_intensity_figure(records, position), key="word_intensity_chart")
    st.caption(
        "Mass on object: the share of a word's map inside the mask of the object the word names (energy pointing game, "
        "Wang et al. 2020); relation words (left, right, of, above, below) name no object, so they have no bar. "
        "Intensity: the map's mean value over all the scene's objects, the figure behind the paper's finding that verbs "
        "get less intensity than nouns (§6.2). The grey band marks the chosen word."
    )

table = pd.DataFrame(records, columns=WORD_TABLE_COLUMNS)
with st.expander("Word table"):
    st.dataframe(table, hide_index=True)
document = {
    "captioner": captioner_id,
    "image": description,
    "image_digest": digest,
    "caption": " ".join(words),
    "true_caption": None if scene is None else scene.caption,
    "columns": list(WORD_TABLE_COLUMNS),
    "rows": records,
}
csv_column, json_column, png_column = st.columns(3)
csv_column.download_button(
    "Word table (CSV)",
    table.to_csv(index=False),
    file_name=f"{file_stem}-words.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
json_column.download_button(
    "Word table (JSON)",
    json.dumps(document, indent=2),
    file_name=f"{file_stem}-words.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
)
if tiles:
    png_column.download_button(
        f"Maps of “{word}” (PNG)",
        png_bytes(np.concatenate(list(tiles.values()), axis=1)),
        file_name=f"{file_stem}-word{position + 1}-{word}-maps.png",
        mime="image/png",
        on_click="ignore",
        icon=":material/download:",
    )
