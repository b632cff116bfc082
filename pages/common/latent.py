"""A GAN sample as the subject of a page: the generator, class, domain CNN and seed pickers (sidebar), the latent
ranking, and the sliders on the most sensitive dimensions and SeFa directions. Shared by GAN Studio and Studio."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
import torch

from xai_core import CheckpointError, list_models
from xai_core.generative.dcgan import LatentGenerator, gan_info, list_gans
from xai_core.generative.latent import LatentSensitivity
from xai_core.generative.studio import (
    MAX_SEED,
    SENSITIVITY_SAMPLES,
    SENSITIVITY_SEED,
    base_latent,
    edit_latent,
    next_random_seed,
    render,
    sensitivity_sample,
    top_dimensions,
    top_sefa_directions,
)
from xai_core.models import model_info

from . import keys
from .image_input import image_digest
from .resources import cached_gan, latent_sensitivities

DEFAULT_GAN = "cdcgan-mnist"
DEFAULT_SEED = 0
SLIDER_LIMIT = 3.0
MAX_SLIDERS = 16


@dataclass(frozen=True)
class GanChoice:
    """What the sidebar picked: the generator, its class (None: unconditional), the CNN reading its images, the seed
    of the base latent, and how many dimension and SeFa sliders to show."""

    gan_id: str
    info: dict
    generator: LatentGenerator
    label: int | None
    card_id: str | None
    domain_cnns: list[str]
    seed: int
    top_k: int
    direction_count: int

    @property
    def class_name(self) -> str:
        return "" if self.label is None else self.info["classes"][self.label]


@dataclass(frozen=True)
class LatentControls:
    """The ranked latents the sliders move: sensitivity (see :func:`sensitivity_sample`), the top dimensions, and the
    SeFa eigenvalues Tensor[k] and directions Tensor[k, latent_dim]."""

    sensitivity: LatentSensitivity
    dimensions: list[int]
    eigenvalues: torch.Tensor
    directions: torch.Tensor


@dataclass(frozen=True)
class GanSample:
    """The image the sliders make: latent Tensor[latent_dim], image Tensor[C,H,W] in [0,1], and how many sliders moved."""

    latent: torch.Tensor
    image: torch.Tensor
    digest: str
    edits: int


def offset_keys() -> list[str]:
    return [key for key in st.session_state if key.startswith((keys.GAN_DIMENSION_OFFSET, keys.GAN_DIRECTION_OFFSET))]


def zero_offsets() -> None:
    for key in offset_keys():
        st.session_state[key] = 0.0


def domain_cnns(dataset: str) -> list[str]:
    return [model_id for model_id in list_models() if model_info(model_id).get("dataset") == dataset]


def added_cnns() -> list[str]:
    """Models added by their users (no training dataset): they may read any GAN's images, with classes of their own."""
    return [model_id for model_id in list_models() if not model_info(model_id).get("dataset")]


def default_cnn(dataset: str) -> str | None:
    cnns = domain_cnns(dataset)
    return f"vgg-{dataset}" if f"vgg-{dataset}" in cnns else (cnns[0] if cnns else None)


def _on_gan_change() -> None:
    """A new generator: class 0, its dataset's default CNN, no edits."""
    st.session_state[keys.GAN_CLASS] = 0
    st.session_state[keys.GAN_CNN] = default_cnn(gan_info(st.session_state[keys.GAN_ID])["dataset"])
    zero_offsets()


def _random_seed() -> None:
    st.session_state[keys.GAN_SEED] = next_random_seed(int(st.session_state[keys.GAN_SEED]))


def _reset() -> None:
    st.session_state[keys.GAN_SEED] = DEFAULT_SEED
    zero_offsets()


def available_gans() -> list[str]:
    """The GANs of the manifests; stops the page with a message when they cannot be read or there is none."""
    try:
        gans = list_gans()
    except CheckpointError as error:
        st.error(f"The GAN manifests cannot be read: {error}")
        st.stop()
    if not gans:
        st.info("No GAN is available yet. Train one with `python -m xai_core train-gan --dataset mnist --conditional`.")
        st.stop()
    return gans


def gan_sidebar() -> GanChoice:
    """The generator pickers in the sidebar (GAN, class, domain CNN, seed, Random/Reset, slider counts)."""
    gans = available_gans()
    if st.session_state.get(keys.GAN_ID) not in gans:
        st.session_state[keys.GAN_ID] = DEFAULT_GAN if DEFAULT_GAN in gans else gans[0]
    for key, default in ((keys.GAN_CLASS, 0), (keys.GAN_SEED, DEFAULT_SEED), (keys.GAN_TOP_DIMENSIONS, 6), (keys.GAN_TOP_DIRECTIONS, 4)):
        st.session_state.setdefault(key, default)
    with st.sidebar:
        st.header("Generator")
        gan_id = st.selectbox("GAN", gans, key=keys.GAN_ID, on_change=_on_gan_change)
        info = gan_info(gan_id)
        try:
            generator: LatentGenerator = cached_gan(gan_id)
        except CheckpointError as error:
            st.error(f"GAN {gan_id} cannot be loaded: {error}")
            st.stop()
        label = None
        if generator.conditional:
            if st.session_state[keys.GAN_CLASS] not in range(generator.num_classes):
                st.session_state[keys.GAN_CLASS] = 0
            label = st.selectbox(
                "Class", range(generator.num_classes), format_func=lambda c: info["classes"][c], key=keys.GAN_CLASS, on_change=zero_offsets
            )
        own = domain_cnns(info["dataset"])
        cnns = own + added_cnns()
        if st.session_state.get(keys.GAN_CNN) not in cnns:
            st.session_state[keys.GAN_CNN] = default_cnn(info["dataset"])
        card_id = st.selectbox(
            "Domain CNN",
            cnns,
            key=keys.GAN_CNN,
            format_func=lambda model_id: model_id if model_id in own else f"{model_id} (added, own classes)",
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
    return GanChoice(gan_id, info, generator, label, card_id, own, seed, top_k, direction_count)


def latent_controls(choice: GanChoice) -> LatentControls:
    """Rank the latent dimensions (once per generator and class for every session, with a progress bar) and take
    the top SeFa directions."""
    store = latent_sensitivities()
    store_key = (choice.gan_id, choice.label, SENSITIVITY_SAMPLES, SENSITIVITY_SEED)
    if store_key not in store:
        progress = st.progress(0.0, text=f"Latent sensitivity over {SENSITIVITY_SAMPLES} latents ...")
        store[store_key] = sensitivity_sample(
            choice.generator,
            choice.label,
            on_progress=lambda done: progress.progress(done, text=f"Latent sensitivity: {done:.0%} of the dimensions"),
        )
        progress.empty()
    sensitivity = store[store_key]
    eigenvalues, directions = top_sefa_directions(choice.generator, choice.direction_count)
    return LatentControls(sensitivity, top_dimensions(sensitivity.sensitivity, choice.top_k), eigenvalues, directions)


def latent_sliders(choice: GanChoice, controls: LatentControls) -> GanSample:
    """One slider per top dimension and SeFa direction (offsets from the seed's latent); returns the image they make."""
    base = base_latent(choice.generator, choice.seed)
    st.markdown("**Most sensitive dimensions**")
    dimension_offsets = {}
    for dimension in controls.dimensions:
        key = f"{keys.GAN_DIMENSION_OFFSET}{dimension}"
        st.session_state.setdefault(key, 0.0)
        dimension_offsets[dimension] = st.slider(
            f"z[{dimension}] (sensitivity {float(controls.sensitivity.sensitivity[dimension]):.3g}, now {float(base[dimension]):+.2f})",
            -SLIDER_LIMIT,
            SLIDER_LIMIT,
            step=0.1,
            key=key,
        )
    direction_offsets = {}
    if choice.direction_count:
        st.markdown("**SeFa directions**")
    for index in range(choice.direction_count):
        key = f"{keys.GAN_DIRECTION_OFFSET}{index}"
        st.session_state.setdefault(key, 0.0)
        direction_offsets[index] = st.slider(
            f"Direction {index + 1} (eigenvalue {float(controls.eigenvalues[index]):.3g})", -SLIDER_LIMIT, SLIDER_LIMIT, step=0.1, key=key
        )
    latent = edit_latent(base, dimension_offsets, direction_offsets, controls.directions)
    image = render(choice.generator, latent, choice.label)
    edits = sum(1 for offset in (*dimension_offsets.values(), *direction_offsets.values()) if offset)
    return GanSample(latent, image, image_digest(image), edits)
