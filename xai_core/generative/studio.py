"""GAN Studio engine: move a generator's latent code along its most sensitive dimensions and its SeFa
directions, render the result and interpolate between codes (:mod:`xai_core.imaging` turns the images into PNGs).

The unified XAI framework paper (§3.3) explains a GAN through its latent space: which latent
dimensions change the output most (latent sensitivity, E_z ||dG(z)/dz_i||_2, see
:mod:`xai_core.generative.latent`) and which directions are semantically meaningful. The directions
come from closed-form factorisation (SeFa; Shen & Zhou, "Closed-Form Factorization of Latent Semantics
in GANs", CVPR 2021): the unit eigenvectors of W^T W of the first layer's weight W. Interpolation is
linear or spherical (slerp; White, "Sampling Generative Networks", 2016), the latter keeping the norm
of Gaussian codes close to that of real samples.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable, Mapping

import torch

from .dcgan import LatentGenerator, sample_latents
from .latent import LatentSensitivity, latent_sensitivity, sefa_directions

SENSITIVITY_SAMPLES = 256
SENSITIVITY_SEED = 0
MAX_SEED = 999_999
INTERPOLATION_MODES = ("slerp", "linear")


def _labels(generator: LatentGenerator, label: int | None) -> torch.Tensor | None:
    """The label tensor Tensor[1] the generator expects (None for an unconditional one); checks the class."""
    if not generator.conditional:
        if label is not None:
            raise ValueError("this generator is unconditional: pass label=None")
        return None
    if label is None or not 0 <= label < generator.num_classes:
        raise ValueError(f"this generator is class-conditional: label must be in 0..{generator.num_classes - 1}, got {label}")
    return torch.tensor([label])


def base_latent(generator: LatentGenerator, seed: int) -> torch.Tensor:
    """The latent code Tensor[D] of a seed (the first of :func:`sample_latents`, the same on every machine)."""
    return sample_latents(1, generator.latent_dim, seed)[0]


def next_random_seed(seed: int) -> int:
    """The "Random" button's next seed, in 0..MAX_SEED, drawn from an RNG seeded by the current seed, so a
    sequence of clicks is reproducible."""
    return random.Random(seed).randint(0, MAX_SEED)


def sensitivity_sample(
    generator: LatentGenerator,
    label: int | None = None,
    count: int = SENSITIVITY_SAMPLES,
    seed: int = SENSITIVITY_SEED,
    chunk: int = 8,
    on_progress: Callable[[float], None] | None = None,
) -> LatentSensitivity:
    """Exact latent sensitivity (``latent_sensitivity``, forward-mode jvp) of ``generator`` for one class over
    ``count`` seeded latents Tensor[count, D]: sensitivity Tensor[D], pixel maps Tensor[D, C, H, W].

    Dimensions are processed ``chunk`` at a time; ``on_progress`` receives the fraction done after each chunk.
    """
    latents = sample_latents(count, generator.latent_dim, seed)
    labels = _labels(generator, label)
    dimensions = list(range(generator.latent_dim))
    sensitivities, maps = [], []
    for start in range(0, len(dimensions), chunk):
        part = latent_sensitivity(lambda z: generator(z, labels), latents, dimensions[start : start + chunk])
        sensitivities.append(part.sensitivity)
        maps.append(part.pixel_maps)
        if on_progress is not None:
            on_progress(min(1.0, (start + chunk) / len(dimensions)))
    return LatentSensitivity(torch.cat(sensitivities), torch.cat(maps))


def top_dimensions(sensitivity: torch.Tensor, k: int) -> list[int]:
    """The ``k`` most sensitive dimensions of ``sensitivity`` Tensor[D], most sensitive first (ties: lower index first)."""
    return torch.argsort(sensitivity, descending=True, stable=True)[:k].tolist()


def top_sefa_directions(generator: LatentGenerator, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` SeFa directions of largest eigenvalue: (eigenvalues Tensor[k] float64, unit directions
    Tensor[k, D] in the generator's dtype, one per row)."""
    eigenvalues, directions = sefa_directions(generator.latent_weight())
    return eigenvalues[:k], directions[:k].to(generator.latent_weight().dtype)


def edit_latent(
    latent: torch.Tensor,
    dimension_offsets: Mapping[int, float],
    direction_offsets: Mapping[int, float],
    directions: torch.Tensor | None = None,
) -> torch.Tensor:
    """z' = z + sum_i a_i e_i + sum_k b_k d_k for a latent Tensor[D].

    ``dimension_offsets`` {i: a_i} move along basis dimension i; ``direction_offsets`` {k: b_k} move by b_k
    along row k of ``directions`` Tensor[K, D] (unit SeFa directions). The input is not modified.
    """
    if latent.ndim != 1:
        raise ValueError(f"latent must be [D], got {tuple(latent.shape)}")
    edited = latent.clone()
    for dimension, offset in dimension_offsets.items():
        edited[dimension] += offset
    if direction_offsets:
        if directions is None:
            raise ValueError("direction offsets need the directions [K, D]")
        for index, offset in direction_offsets.items():
            edited += offset * directions[index].to(edited.dtype)
    return edited


@torch.inference_mode()
def render(generator: LatentGenerator, latent: torch.Tensor, label: int | None = None) -> torch.Tensor:
    """The generated image Tensor[C, H, W] in [0, 1] of one latent Tensor[D] (and class, if conditional)."""
    return generator(latent[None], _labels(generator, label))[0]


def interpolate_latents(start: torch.Tensor, end: torch.Tensor, frames: int, mode: str = "slerp") -> torch.Tensor:
    """``frames`` codes Tensor[frames, D] from ``start`` to ``end`` (both Tensor[D], included as first and last).

    ``linear``: (1 - t) a + t b. ``slerp``: sin((1 - t) w)/sin(w) a + sin(t w)/sin(w) b with w the angle
    between a and b (linear when they are parallel).
    """
    if frames < 2:
        raise ValueError(f"an interpolation needs at least 2 frames, got {frames}")
    if mode not in INTERPOLATION_MODES:
        raise ValueError(f"mode must be one of {INTERPOLATION_MODES}, got {mode!r}")
    steps = torch.linspace(0, 1, frames, dtype=start.dtype)[:, None]
    cosine = torch.dot(start, end) / (start.norm() * end.norm())
    angle = torch.arccos(cosine.clamp(-1, 1))
    if mode == "linear" or math.sin(float(angle)) < 1e-6:
        return (1 - steps) * start + steps * end
    # coefficients first, so that t = 0 and t = 1 weigh the end points by exactly 1 and 0
    weight_start, weight_end = torch.sin((1 - steps) * angle) / torch.sin(angle), torch.sin(steps * angle) / torch.sin(angle)
    return weight_start * start + weight_end * end


@torch.inference_mode()
def interpolation_strip(
    generator: LatentGenerator, start: torch.Tensor, end: torch.Tensor, label: int | None = None, frames: int = 8, mode: str = "slerp"
) -> torch.Tensor:
    """Images Tensor[frames, C, H, W] in [0, 1] along :func:`interpolate_latents` from ``start`` to ``end``."""
    latents = interpolate_latents(start, end, frames, mode)
    return generator(latents, _labels(generator, label))


def dimension_maps(pixel_maps: torch.Tensor, dimensions: list[int]) -> torch.Tensor:
    """Where each chosen dimension acts: E_z |dG(z)/dz_i| of ``pixel_maps`` Tensor[D, C, H, W], averaged over
    channels and divided by its own maximum -> Tensor[len(dimensions), 1, H, W] in [0, 1] (zero stays zero)."""
    maps = pixel_maps[dimensions].mean(dim=1, keepdim=True)
    peaks = maps.flatten(start_dim=1).amax(dim=1).clamp_min(torch.finfo(maps.dtype).tiny)
    return maps / peaks.view(-1, 1, 1, 1)


SENSITIVITY_CSV_COLUMNS = ("rank", "dimension", "sensitivity", "shown_as_slider")


def sensitivity_csv(sensitivity: torch.Tensor, top_k: int) -> str:
    """The ranking as CSV: one row per dimension, most sensitive first; the first ``top_k`` are the sliders."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SENSITIVITY_CSV_COLUMNS)
    for rank, dimension in enumerate(top_dimensions(sensitivity, len(sensitivity))):
        writer.writerow([rank + 1, dimension, f"{float(sensitivity[dimension]):.6g}", rank < top_k])
    return buffer.getvalue()


def history_csv(history: list[dict]) -> str:
    """A GAN's per-epoch training history (its manifest ``history``) as CSV, one row per epoch."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()
