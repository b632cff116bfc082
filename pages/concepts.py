"""Concepts: TCAV (Kim et al. 2018) scores of concept sets for a class, with significance over random concepts."""

import hashlib
import json
import time

import pandas as pd
import streamlit as st

from pages.common import keys
from pages.common.evaluation import remember
from pages.common.resources import cached_concept_preview, cached_conv_layer_names, cached_model, model_lock, tcav_results
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from xai_core import CheckpointError, DatasetUnavailable, ImageDecodeError, list_models
from xai_core.attribution import tcav
from xai_core.data.concepts import CONCEPTS, concept_names, images_from_files
from xai_core.data.decode import ACCEPTED_EXTENSIONS, MAX_IMAGE_BYTES
from xai_core.data.registry import DATASETS
from xai_core.imaging import to_uint8
from xai_core.models import model_info
from xai_core.reports.charts import tcav_bars_figure

DEFAULT_MODEL = "vgg-glyphs"
PREVIEW_IMAGES = 6
PREVIEW_WIDTH = 64

ensure_app_router()
keep_widget_state_across_pages()
st.title("Concepts")
st.caption(
    "TCAV (Kim et al. 2018): does a human concept (thick strokes, slant, a colour, a texture) push the model towards a "
    "class? A concept activation vector (CAV) is the normal of a linear classifier that separates the concept's images "
    "from random images at a layer; the TCAV score is the share of the class's images whose logit rises along it. Each "
    "concept is run against every random set and compared with random-vs-random runs by a t-test: 0.5 is chance, and "
    "only concepts marked significant carry meaning (a score well below 0.5 means the concept lowers the class)."
)

try:
    every_model = list_models()
    models = [m for m in every_model if model_info(m).get("dataset") in DATASETS]
except CheckpointError as error:
    st.error(f"The model manifests cannot be read: {error}")
    st.stop()
shared_model = st.session_state.get(keys.MODEL_ID)
if shared_model in every_model and not model_info(shared_model).get("dataset"):
    st.info(
        f"**{shared_model}** was added without its training data, so TCAV cannot run on it: the random concept sets "
        "are drawn from a model's training split and the images of the class from its test split, and neither exists "
        f"here for {shared_model}'s classes. Choose a model trained on a dataset of this machine below; your own "
        "concept sets (uploaded under *Your own concept set*) work with those.",
        icon=":material/info:",
    )
default_model = shared_model if shared_model in models and model_info(shared_model).get("dataset") in CONCEPTS else DEFAULT_MODEL
for key, default in (
    (keys.TCAV_MODEL, default_model if default_model in models else models[0]),
    (keys.TCAV_RANDOMS, 10),
    (keys.TCAV_IMAGES, 30),
    (keys.TCAV_SEED, 0),
    (keys.TCAV_BONFERRONI, False),
    (keys.TCAV_USER_CONCEPT_NAME, "my concept"),
):
    st.session_state.setdefault(key, default)

left, right = st.columns(2)
model_id = left.selectbox(
    "Model", models, key=keys.TCAV_MODEL, help="Models whose training data is on this machine (random concepts are drawn from it)."
)
card = cached_model(model_id)
dataset = card.dataset
layers = cached_conv_layer_names(model_id)
registered = concept_names(dataset)
# a new model brings new classes, layers and concepts: fall back to its defaults where the old choice does not exist
if st.session_state.get(keys.TCAV_TARGET) not in range(len(card.classes)):
    st.session_state[keys.TCAV_TARGET] = 0
if st.session_state.get(keys.TCAV_LAYER) not in layers:
    st.session_state[keys.TCAV_LAYER] = layers[-1]
if keys.TCAV_CONCEPTS not in st.session_state or not set(st.session_state[keys.TCAV_CONCEPTS]) <= set(registered):
    st.session_state[keys.TCAV_CONCEPTS] = registered

target = left.selectbox(
    "Class",
    range(len(card.classes)),
    format_func=lambda i: card.classes[i],
    key=keys.TCAV_TARGET,
    help="Its test images are the inputs whose directional derivatives are counted.",
)
layer = left.selectbox("Layer", layers, key=keys.TCAV_LAYER, help="Where the CAVs live; the default is the last conv layer.")
chosen = right.multiselect(
    "Concept sets",
    registered,
    key=keys.TCAV_CONCEPTS,
    help="Built from this dataset (see the previews below)."
    if registered
    else f"No concept sets are registered for {dataset}: upload your own below.",
)
n_random = right.number_input(
    "Random concepts",
    min_value=tcav.MIN_RANDOM_SETS,
    max_value=50,
    step=1,
    key=keys.TCAV_RANDOMS,
    help="Each concept is run against every random set; the t-test needs at least 10.",
)
n_images = right.number_input(
    "Images per set", min_value=10, max_value=500, step=5, key=keys.TCAV_IMAGES, help="Per concept set, per random set and of the class."
)
seed_column, bonferroni_column = right.columns(2)
seed = seed_column.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key=keys.TCAV_SEED)
bonferroni = bonferroni_column.checkbox(
    "Bonferroni", key=keys.TCAV_BONFERRONI, help="Divide alpha = 0.05 by the number of concepts tested."
)

with st.expander("Your own concept set", expanded=not registered):
    user_name = st.text_input("Name", key=keys.TCAV_USER_CONCEPT_NAME)
    uploads = st.file_uploader(
        f"Images, or zip archives of images (each up to {MAX_IMAGE_BYTES // 2**20} MB)",
        type=[*ACCEPTED_EXTENSIONS, "zip"],
        accept_multiple_files=True,
        max_upload_size=MAX_IMAGE_BYTES // 2**20,  # the server's cap is raised for model weights
        key=keys.TCAV_USER_CONCEPT_FILES,
    )
user_images = None
upload_digest = ""
if uploads:
    name = user_name.strip()
    if not name or name in chosen:
        st.error("Give your concept set a name that differs from the chosen concept sets.")
        st.stop()
    try:
        user_images = images_from_files([(u.name, u.getvalue()) for u in uploads], card.in_channels, card.input_size)
    except ImageDecodeError as error:
        st.error(f"Cannot use the uploaded concept images: {error}")
        st.stop()
    if len(user_images) < 2:
        st.error("A concept set needs at least 2 images (a third of them test its CAV).")
        st.stop()
    digest = hashlib.sha256()
    for upload in uploads:
        digest.update(upload.name.encode())
        digest.update(upload.getvalue())
    upload_digest = digest.hexdigest()[:16]

if not chosen and user_images is None:
    st.info("Choose at least one concept set, or upload your own.")
    st.stop()

st.subheader("Concept images")
previews = [(name, cached_concept_preview(dataset, name, PREVIEW_IMAGES, int(seed))) for name in chosen]
if user_images is not None:
    previews.append(
        (f"{user_name.strip()} (yours, {len(user_images)} images)", [to_uint8(image) for image in user_images[:PREVIEW_IMAGES]])
    )
previews.append(("random (one of the random sets)", cached_concept_preview(dataset, None, PREVIEW_IMAGES, int(seed))))
for start in range(0, len(previews), 2):
    for column, (name, images) in zip(st.columns(2), previews[start : start + 2]):
        column.markdown(f"**{name}**")
        column.image(images, width=PREVIEW_WIDTH)

config = {
    "model": model_id,
    "target": int(target),
    "layer": layer,
    "concepts": list(chosen),
    "user_concept": user_name.strip() if user_images is not None else "",
    "uploads": upload_digest,
    "n_random": int(n_random),
    "n_images": int(n_images),
    "seed": int(seed),
    "bonferroni": bool(bonferroni),
}
config_key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]
store = tcav_results()
requested = st.session_state.pop(keys.TCAV_REQUESTED, False)
# A callback, not the button's return value: a click survives the app router's one-off rerun.
st.button("Run TCAV", type="primary", icon=":material/play_arrow:", on_click=st.session_state.__setitem__, args=(keys.TCAV_REQUESTED, True))
computed_now = False
if requested and config_key not in store:
    progress = st.progress(0.0, text="Building concept sets ...")
    started = time.perf_counter()
    extra = {} if user_images is None else {user_name.strip(): user_images}
    try:
        with model_lock(model_id):
            result = tcav.run_tcav(
                card,
                chosen,
                int(target),
                n_images=int(n_images),
                n_random=int(n_random),
                seed=int(seed),
                layer_name=layer,
                extra_concepts=extra,
                bonferroni=bool(bonferroni),
                progress=lambda done, message: progress.progress(min(1.0, done), text=message),
            )
    except (DatasetUnavailable, KeyError, ValueError) as error:
        progress.empty()
        st.error(f"TCAV stopped: {error}")
        st.stop()
    progress.empty()
    remember(store, config_key, (result, time.perf_counter() - started))
    computed_now = True

if config_key not in store:
    sets = len(chosen) + (user_images is not None)
    st.caption(
        f"{sets} concept set(s) x {int(n_random)} random sets + {int(n_random)} random-vs-random runs = "
        f"{(sets + 1) * int(n_random)} CAVs on {int(n_images)} images each. Results are kept for every session; "
        "a configuration run before shows at once."
    )
    st.stop()

result, seconds = store[config_key]
st.subheader("Results")
st.caption(
    f"{result.model_id} · class {result.target_class} · layer {result.layer} · {result.n_class_images} class images · "
    f"{result.n_random_sets} random sets · seed {result.seed} · alpha {result.alpha}"
    + (" with Bonferroni" if result.bonferroni else "")
    + " · "
    + (f"computed in {seconds:.1f} s" if computed_now else f"kept from an earlier run ({seconds:.1f} s)")
)
st.plotly_chart(tcav_bars_figure(result), key="tcav_bars")
table = pd.DataFrame(
    [
        {
            "concept": row["concept"],
            "TCAV score": row["tcav_score"],
            "± std": row["score_std"],
            "random mean": row["random_mean"],
            "random std": row["random_std"],
            "p-value": row["p_adjusted"],
            "significant": row["significant"],
            "stars": row["stars"],
            "magnitude": row["magnitude"],
            "CAV accuracy": row["cav_accuracy"],
        }
        for row in result.rows()
    ]
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key="tcav_table",
    column_config={
        name: st.column_config.NumberColumn(format="%.3f") for name in ("TCAV score", "± std", "random mean", "random std", "CAV accuracy")
    }
    | {"p-value": st.column_config.NumberColumn(format="%.3g"), "magnitude": st.column_config.NumberColumn(format="%.3g")},
)
if result.bonferroni:
    st.caption("p-values are Bonferroni-adjusted (multiplied by the number of concepts, at most 1).")
weak = [c.concept for c in result.concepts if c.cav_accuracy < 0.6]
if weak:
    st.warning(
        f"The CAVs of {', '.join(weak)} barely separate the concept from random images (held-out accuracy < 0.6): "
        "their scores say little. Try more images or another layer."
    )

stem = f"tcav-{result.model_id}-{result.target_class}-{config_key}"
downloads = st.columns(2)
downloads[0].download_button(
    "Scores CSV", result.to_csv(), file_name=f"{stem}.csv", mime="text/csv", on_click="ignore", icon=":material/download:"
)
downloads[1].download_button(
    "JSON (config, versions, every run)",
    result.to_json(),
    file_name=f"{stem}.json",
    mime="application/json",
    on_click="ignore",
    icon=":material/download:",
)
