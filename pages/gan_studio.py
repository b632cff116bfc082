"""GAN Studio: sliders on a DCGAN's most sensitive latent dimensions and SeFa directions regenerate the image live,
beside the domain CNN's prediction and its Grad-CAM / LSFT maps; sensitivity ranking, interpolation, FID card."""

import streamlit as st
import torch

from pages.common import keys
from pages.common.latent import gan_sidebar, latent_controls, latent_sliders
from pages.common.resources import cached_map, cached_model, cached_predictions
from pages.common.sidebar import ensure_app_router, keep_widget_state_across_pages
from xai_core.explainers import METHOD_LABELS
from xai_core.generative.dcgan import quality_warning
from xai_core.generative.studio import (
    INTERPOLATION_MODES,
    MAX_SEED,
    SENSITIVITY_SAMPLES,
    SENSITIVITY_SEED,
    base_latent,
    dimension_maps,
    history_csv,
    interpolation_strip,
    sensitivity_csv,
)
from xai_core.imaging import COLORMAPS, colorize, fit_to_side, overlay, png_bytes, to_uint8
from xai_core.reports.charts import sensitivity_bars_figure, top_k_figure, training_dynamics_figure

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

for key, default in ((keys.GAN_OTHER_SEED, 1), (keys.GAN_FRAMES, 8), (keys.GAN_INTERPOLATION, INTERPOLATION_MODES[0])):
    st.session_state.setdefault(key, default)
choice = gan_sidebar()
with st.sidebar:
    colormap = st.selectbox("Colormap", COLORMAPS, key=keys.COLORMAP)
gan_id, info, generator, label, card_id, seed = choice.gan_id, choice.info, choice.generator, choice.label, choice.card_id, choice.seed
class_name, top_k = choice.class_name, choice.top_k
controls = latent_controls(choice)
sensitivity, dimensions = controls.sensitivity, controls.dimensions


@st.fragment
def studio() -> None:
    """Sliders, the regenerated image, the CNN's reading of it and the interpolation strip: the only part that
    reruns when a slider moves. Long: one Streamlit fragment, laid out top to bottom as the page shows it."""
    sliders, picture, analysis = st.columns([2, 2, 3])
    with sliders:
        sample = latent_sliders(choice, controls)
    latent, image, digest, edits = sample.latent, sample.image, sample.digest, sample.edits
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
            same_classes = card_id in choice.domain_cnns
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

st.subheader("Training dynamics")
history = info.get("history", [])
if not history:
    st.info(f"{gan_id}'s manifest entry records no per-epoch history. Retrain it to record one: `{info.get('command', '')}`")
else:
    st.plotly_chart(training_dynamics_figure(history, f"{gan_id}: discriminator and losses per epoch"), key="gan_dynamics")
    st.caption(
        "D(real) and D(fake): the discriminator's mean probability that real and generated training batches are real. "
        "A generator that keeps up holds D(fake) away from 0; both near 0.5 means the discriminator cannot tell them apart. "
        "Losses are the non-saturating GAN losses of each epoch's batches."
    )
    st.download_button(
        "Training history (CSV)",
        data=history_csv(history),
        file_name=f"{gan_id}-history.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
