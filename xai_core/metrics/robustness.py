"""Robustness to image degradation (Guna et al., "Interpreting CNN Predictions using Conditional GANs",
§4.4): salt-and-pepper noise at growing amounts, the background error of each noisy image's map, and
how stable the map stays (Spearman rank correlation with the clean image's map).

Eq. 9's background error rewards a map that fades: an all-zero map scores a perfect 0. So each level also
records the map's mass (mean value), whether it is empty (all zero), and the share of its mass on the
background (undefined, NaN, for an empty map), which a fading map does not improve."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..attribution.agreement import rank_correlation
from .localisation import background_error, background_share

NOISE_LEVELS = tuple(round(0.05 * i, 2) for i in range(11))
EMPTY_MAP_MAXIMUM = 1e-6  # a map whose largest value is below this is empty (constant maps normalise to zeros)

MapFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(images Tensor[N,C,H,W] in [0,1], targets Tensor[N]) -> maps Tensor[N,1,H,W] in [0,1]."""


def salt_and_pepper(images: torch.Tensor, amount: float, seed: int = 0) -> torch.Tensor:
    """Set a fraction ``amount`` of pixel positions to 0 or 1 (half each), the same across channels.

    images: Tensor[C,H,W] or [N,C,H,W] in [0,1] -> same shape. Exactly round(amount * H * W) positions
    per image are hit, chosen by ``seed``.
    """
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"noise amount must be in [0, 1], got {amount}")
    batch = images[None] if images.ndim == 3 else images
    n, _, height, width = batch.shape
    generator = torch.Generator().manual_seed(seed)
    hits = round(amount * height * width)
    noisy = batch.clone()
    for i in range(n):
        positions = torch.randperm(height * width, generator=generator)[:hits]
        values = torch.zeros(hits)
        values[: hits // 2] = 1.0
        values = values[torch.randperm(hits, generator=generator)]
        flat = noisy[i].view(noisy.shape[1], -1)
        flat[:, positions] = values.to(flat.dtype)
    return noisy[0] if images.ndim == 3 else noisy


@dataclass
class NoiseCurves:
    """Per image and noise level, Tensor[N, L] each: ``stability`` (rank correlation with the clean map),
    ``mass`` (mean map value), ``empty`` (1.0 for an all-zero map), and with masks ``background_error``
    (Eq. 9) and ``background_share`` (share of the mass on the background; NaN for an empty map)."""

    levels: tuple[float, ...]
    stability: torch.Tensor
    background_error: torch.Tensor | None
    mass: torch.Tensor
    empty: torch.Tensor
    background_share: torch.Tensor | None


def noise_curves(
    explain: MapFunction,
    images: torch.Tensor,
    targets: torch.Tensor,
    masks: torch.Tensor | None = None,
    levels: Sequence[float] = NOISE_LEVELS,
    seed: int = 0,
) -> NoiseCurves:
    """Explain noisy copies of ``images`` at each salt-and-pepper ``level`` (the same targets as the clean
    images, so every map answers the same question) and compare each map with the clean one.

    Level i uses noise seed ``seed * 1000 + i``; level 0 is the clean image.
    """
    clean = explain(images, targets)
    stability, errors, mass, empty, shares = [], [], [], [], []
    for i, level in enumerate(levels):
        maps = clean if level == 0 else explain(salt_and_pepper(images, level, seed * 1000 + i), targets)
        stability.append(rank_correlation(maps, clean))
        flat = maps.flatten(start_dim=1).double()
        mass.append(flat.mean(dim=1))
        empty.append((flat.amax(dim=1) < EMPTY_MAP_MAXIMUM).double())
        if masks is not None:
            errors.append(background_error(maps, masks))
            shares.append(torch.where(empty[-1].bool(), torch.nan, background_share(maps, masks)))

    def stacked(values: list[torch.Tensor]) -> torch.Tensor | None:
        return torch.stack(values, dim=1) if values else None

    return NoiseCurves(tuple(levels), stacked(stability), stacked(errors), stacked(mass), stacked(empty), stacked(shares))
