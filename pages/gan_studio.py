"""GAN Studio: sliders on a DCGAN's most sensitive latent dimensions and SeFa directions regenerate the image live,
beside the domain CNN's prediction and its Grad-CAM / LSFT maps; sensitivity ranking, interpolation, FID card."""

import streamlit as st
import torch

from pages.common import keys
from pages.common.image_input import image_digest
from pages.common.resources import cached_gan, cached_map, cached_model, cached_predictions, latent_sensitivities
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from xai_core import CheckpointError, list_models
from xai_core.explainers import METHOD_LABELS
from xai_core.generative.dcgan import DCGANGenerator, gan_info, list_gans, quality_warning
from xai_core.generative.studio import (
    INTERPOLATION_MODES,
    MAX_SEED,
    SENSITIVITY_SAMPLES,
    SENSITIVITY_SEED,
    base_latent,
    dimension_maps,
    edit_latent,
    interpolation_strip,
    next_random_seed,
    render,
    sensitivity_csv,
    sensitivity_sample,
    top_dimensions,
    top_sefa_directions,
)
from xai_core.imaging import COLORMAPS, colorize, fit_to_side, overlay, png_bytes, to_uint8
from xai_core.models import model_info
from xai_core.reports.charts import sensitivity_bars_figure, top_k_figure

DEFAULT_GAN = "cdcgan-mnist"
DEFAULT_SEED = 0
SLIDER_LIMIT = 3.0
MAX_SLIDERS = 16
DISPLAY_SIDE = 224
PNG_LEVEL = 1  # fast zlib: the image is re-encoded on every slider move
MAP_METHODS = ("grad_cam", "lsft")

ensure_app_router()
keep_widget_state_across_pages()
st.title("GAN Studio")
st.caption(
    "Explain a generator through its latent space (unified XAI framework, §3.3): move the code along its most "
    "sensitive dimensions (E_z ||dG(z)/dz_i||, exact forward-mode derivatives) and along its SeFa directions "
    "(Shen & Zhou 2021), and watch the domain CNN's prediction and its Grad-CAM and LSFT maps follow."
)

try:
    gans = list_gans()
except CheckpointError as error:
    st.error(f"The GAN manifests cannot be read: {error}")
    st.stop()
if not gans:
    st.info("No GAN is available yet. Train one with `python -m xai_core train-gan --dataset mnist --conditional`.")
    st.stop()


def _offset_keys() -> list[str]:
    return [key for key in st.session_state if key.startswith((keys.GAN_DIMENSION_OFFSET, keys.GAN_DIRECTION_OFFSET))]


def _zero_offsets() -> None:
    for key in _offset_keys():
        st.session_state[key] = 0.0


def _domain_cnns(dataset: str) -> list[str]:
    return [model_id for model_id in list_models() if model_info(model_id).get("dataset") == dataset]


def _added_cnns() -> list[str]:
    """Models added by their users (no training dataset): they may read any GAN's images, with classes of their own."""
    return [model_id for model_id in list_models() if not model_info(model_id).get("dataset")]


def _default_cnn(dataset: str) -> str | None:
    cnns = _domain_cnns(dataset)
    return f"vgg-{dataset}" if f"vgg-{dataset}" in cnns else (cnns[0] if cnns else None)


def _on_gan_change() -> None:
    """A new generator: class 0, its dataset's default CNN, no edits."""
    st.session_state[keys.GAN_CLASS] = 0
    st.session_state[keys.GAN_CNN] = _default_cnn(gan_info(st.session_state[keys.GAN_ID])["dataset"])
    _zero_offsets()


def _random_seed() -> None:
    st.session_state[keys.GAN_SEED] = next_random_seed(int(st.session_state[keys.GAN_SEED]))


def _reset() -> None:
    st.session_state[keys.GAN_SEED] = DEFAULT_SEED
    _zero_offsets()


if st.session_state.get(keys.GAN_ID) not in gans:
    st.session_state[keys.GAN_ID] = DEFAULT_GAN if DEFAULT_GAN in gans else gans[0]
for key, default in (
    (keys.GAN_CLASS, 0),
    (keys.GAN_SEED, DEFAULT_SEED),
    (keys.GAN_TOP_DIMENSIONS, 6),
    (keys.GAN_TOP_DIRECTIONS, 4),
    (keys.GAN_OTHER_SEED, 1),
    (keys.GAN_FRAMES, 8),
    (keys.GAN_INTERPOLATION, INTERPOLATION_MODES[0]),
):
    st.session_state.setdefault(key, default)

with st.sidebar:
    st.header("Generator")
    gan_id = st.selectbox("GAN", gans, key=keys.GAN_ID, on_change=_on_gan_change)
    info = gan_info(gan_id)
    try:
        generator: DCGANGenerator = cached_gan(gan_id)
    except CheckpointError as error:
        st.error(f"GAN {gan_id} cannot be loaded: {error}")
        st.stop()
    label = None
    if generator.conditional:
        if st.session_state[keys.GAN_CLASS] not in range(generator.num_classes):
            st.session_state[keys.GAN_CLASS] = 0
        label = st.selectbox(
            "Class", range(generator.num_classes), format_func=lambda c: info["classes"][c], key=keys.GAN_CLASS, on_change=_zero_offsets
        )
    domain_cnns = _domain_cnns(info["dataset"])
    cnns = domain_cnns + _added_cnns()
    if st.session_state.get(keys.GAN_CNN) not in cnns:
        st.session_state[keys.GAN_CNN] = _default_cnn(info["dataset"])
    card_id = st.selectbox(
        "Domain CNN",
        cnns,
        key=keys.GAN_CNN,
        format_func=lambda model_id: model_id if model_id in domain_cnns else f"{model_id} (added, own classes)",
        help=f"Classifiers trained on {info['dataset']}, then the models you added: those read the generated images "
        "with their own classes.",
    )
    seed = int(
        st.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            step=1,
            key=keys.GAN_SEED,
            help="The base latent code z is the seed's standard-normal sample.",
        )
    )
    random_column, reset_column = st.columns(2)
    random_column.button("Random", icon=":material/casino:", on_click=_random_seed, help="Another seed (reproducible sequence).")
    reset_column.button("Reset", icon=":material/restart_alt:", on_click=_reset, help=f"Seed {DEFAULT_SEED}, every slider at 0.")
    st.header("Sliders")
    most = min(MAX_SLIDERS, generator.latent_dim)
    for key in (keys.GAN_TOP_DIMENSIONS, keys.GAN_TOP_DIRECTIONS):
        st.session_state[key] = min(st.session_state[key], most)
    top_k = int(st.number_input("Most sensitive dimensions", min_value=1, max_value=most, key=keys.GAN_TOP_DIMENSIONS))
    direction_count = int(st.number_input("SeFa directions", min_value=0, max_value=most, key=keys.GAN_TOP_DIRECTIONS))
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)

class_name = "" if label is None else info["classes"][label]
store = latent_sensitivities()
store_key = (gan_id, label, SENSITIVITY_SAMPLES, SENSITIVITY_SEED)
if store_key not in store:
    progress = st.progress(0.0, text=f"Latent sensitivity over {SENSITIVITY_SAMPLES} latents ...")
    store[store_key] = sensitivity_sample(
        generator, label, on_progress=lambda done: progress.progress(done, text=f"Latent sensitivity: {done:.0%} of the dimensions")
    )
    progress.empty()
sensitivity = store[store_key]
dimensions = top_dimensions(sensitivity.sensitivity, top_k)
eigenvalues, directions = top_sefa_directions(generator, direction_count)


@st.fragment
def studio() -> None:
    """Sliders, the regenerated image, the CNN's reading of it and the interpolation strip: the only part that
    reruns when a slider moves. Long: one Streamlit fragment, laid out top to bottom as the page shows it."""
    base = base_latent(generator, seed)
    sliders, picture, analysis = st.columns([2, 2, 3])
    with sliders:
        st.markdown("**Most sensitive dimensions**")
        dimension_offsets = {}
        for dimension in dimensions:
            key = f"{keys.GAN_DIMENSION_OFFSET}{dimension}"
            st.session_state.setdefault(key, 0.0)
            dimension_offsets[dimension] = st.slider(
                f"z[{dimension}] (sensitivity {float(sensitivity.sensitivity[dimension]):.3g}, now {float(base[dimension]):+.2f})",
                -SLIDER_LIMIT,
                SLIDER_LIMIT,
                step=0.1,
                key=key,
            )
        direction_offsets = {}
        if direction_count:
            st.markdown("**SeFa directions**")
        for index in range(direction_count):
            key = f"{keys.GAN_DIRECTION_OFFSET}{index}"
            st.session_state.setdefault(key, 0.0)
            direction_offsets[index] = st.slider(
                f"Direction {index + 1} (eigenvalue {float(eigenvalues[index]):.3g})", -SLIDER_LIMIT, SLIDER_LIMIT, step=0.1, key=key
            )
    latent = edit_latent(base, dimension_offsets, direction_offsets, directions)
    image = render(generator, latent, label)
    digest = image_digest(image)
    edits = sum(1 for offset in (*dimension_offsets.values(), *direction_offsets.values()) if offset)
    st.session_state[keys.GAN_IMAGE] = {"gan_id": gan_id, "label": label, "seed": seed, "latent": latent, "image": image, "digest": digest}
    with picture:
        st.markdown("**Generated image**")
        subject = f"class {class_name} · " if class_name else ""
        st.image(
            png_bytes(fit_to_side(to_uint8(image), DISPLAY_SIDE), PNG_LEVEL),
            output_format="PNG",
            caption=f"{gan_id} · {subject}seed {seed} · {edits} slider(s) moved",
        )
        st.download_button(
            "Image (PNG)",
            png_bytes(to_uint8(image), PNG_LEVEL),
            file_name=f"{gan_id}-seed{seed}-{digest}.png",
            mime="image/png",
            on_click="ignore",
            icon=":material/download:",
        )
    with analysis:
        if card_id is None:
            st.info(f"No CNN trained on {info['dataset']} is available to read the generated image.")
        else:
            predictions = cached_predictions(card_id, digest, image, k=3)
            target = predictions[0]
            same_classes = card_id in domain_cnns
            st.plotly_chart(top_k_figure(predictions, true_label=label if same_classes else None, height=200), key="gan_prediction_chart")
            if not same_classes:
                st.caption(f"{card_id} was not trained on {info['dataset']}: it reads the generated image with its own classes.")
            field_of_view = cached_model(card_id).field_of_view(image)  # the maps cover what the CNN sees
            for column, method in zip(st.columns(len(MAP_METHODS)), MAP_METHODS):
                saliency, reason = cached_map(card_id, digest, target.label, method, image)
                if saliency is None:
                    column.error(f"{METHOD_LABELS[method]} is unavailable: {reason}")
                    continue
                saliency = torch.from_numpy(saliency)[None]
                column.image(
                    overlay(field_of_view, saliency, 0.5, colormap, display_side=160),
                    caption=f"{METHOD_LABELS[method]} of {card_id} for '{target.name}'",
                )

    st.subheader("Interpolation")
    seed_column, frames_column, mode_column = st.columns(3)
    other_seed = int(seed_column.number_input("To the latent of seed", min_value=0, max_value=MAX_SEED, step=1, key=keys.GAN_OTHER_SEED))
    frames = frames_column.slider("Frames", min_value=3, max_value=12, key=keys.GAN_FRAMES)
    mode = mode_column.radio(
        "Path",
        INTERPOLATION_MODES,
        key=keys.GAN_INTERPOLATION,
        horizontal=True,
        help="slerp follows the sphere Gaussian codes live near; linear cuts through it.",
    )
    strip = interpolation_strip(generator, latent, base_latent(generator, other_seed), label, frames, mode)
    captions = ["current", *(f"t = {step / (frames - 1):.2f}" for step in range(1, frames - 1)), f"seed {other_seed}"]
    for column, frame, caption in zip(st.columns(frames), strip, captions):
        column.image(png_bytes(fit_to_side(to_uint8(frame), 96), PNG_LEVEL), output_format="PNG", caption=caption)


studio()

st.subheader("Where each latent dimension acts")
chart_column, text_column = st.columns([3, 2])
chart_column.plotly_chart(
    sensitivity_bars_figure(
        sensitivity.sensitivity.tolist(),
        dimensions,
        title=f"{gan_id}{f' ({class_name})' if class_name else ''}: sensitivity over {SENSITIVITY_SAMPLES} latents",
    ),
    key="gan_sensitivity_chart",
)
text_column.markdown(
    f"Sensitivity of dimension i = E_z ||dG(z)/dz_i||_2 over {SENSITIVITY_SAMPLES} latents (seed {SENSITIVITY_SEED}), computed "
    "exactly with forward-mode derivatives. The orange bars are the slider dimensions. The maps below show E_z |dG(z)/dz_i| "
    "per pixel, each scaled to its own maximum: where in the image that dimension acts."
)
text_column.download_button(
    "Sensitivity ranking (CSV)",
    sensitivity_csv(sensitivity.sensitivity, top_k),
    file_name=f"{gan_id}{f'-{class_name}' if class_name else ''}-latent-sensitivity.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
)
for column, dimension, pixel_map in zip(st.columns(top_k), dimensions, dimension_maps(sensitivity.pixel_maps, dimensions)):
    column.image(fit_to_side(colorize(pixel_map, colormap), 112), caption=f"z[{dimension}]")

st.subheader("FID")
metrics = info.get("metrics", {})
with st.container(border=True):
    failure = quality_warning(info)
    if failure:
        st.warning(failure, icon=":material/warning:")
    if "fid" not in metrics:
        st.info(f"No FID was recorded for {gan_id} (trained without scoring). Retrain with scoring: `{info.get('command', '')}`")
    else:
        shown = [
            ("FID", f"{metrics['fid']:.2f}"),
            ("Real-vs-real baseline", f"{metrics['fid_real_vs_real']:.2f}"),
            ("Samples (n)", f"{metrics['fid_n']:,}"),
        ]
        if "class_accuracy" in metrics:
            shown.append(("Class accuracy", f"{metrics['class_accuracy']:.1%}"))
        for column, (name, value) in zip(st.columns(len(shown)), shown):
            column.metric(name, value)
        st.caption(
            f"Fréchet distance between Gaussian fits to {metrics['fid_feature_network']} features of generated and real test "
            "images (float64); the real-vs-real baseline (training vs test images, same n) is the floor a perfect generator "
            "would reach."
            + (
                " Class accuracy: the domain CNN's accuracy on generated images of the conditioned class."
                if "class_accuracy" in metrics
                else ""
            )
            + f" {metrics.get('epochs_run', '?')} epochs, seed {info.get('seed', '?')}. Reproduce: `{info.get('command', '')}`"
        )
