"""Robustness to image degradation (Guna et al., "Interpreting CNN Predictions using Conditional GANs",
§4.4): salt-and-pepper noise at growing amounts, the background error of each noisy image's map, and
how stable the map stays (Spearman rank correlation with the clean image's map)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..attribution.agreement import rank_correlation
from .localisation import background_error

NOISE_LEVELS = tuple(round(0.05 * i, 2) for i in range(11))

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
    """Per image and noise level: ``stability`` Tensor[N, L] (rank correlation with the clean map) and
    ``background_error`` Tensor[N, L] (None without masks)."""

    levels: tuple[float, ...]
    stability: torch.Tensor
    background_error: torch.Tensor | None


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
    stability, errors = [], []
    for i, level in enumerate(levels):
        maps = clean if level == 0 else explain(salt_and_pepper(images, level, seed * 1000 + i), targets)
        stability.append(rank_correlation(maps, clean))
        if masks is not None:
            errors.append(background_error(maps, masks))
    return NoiseCurves(tuple(levels), torch.stack(stability, dim=1), torch.stack(errors, dim=1) if masks is not None else None)
