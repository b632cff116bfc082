"""Robustness to image degradation (SFT-GAN paper §4.4)."""

from __future__ import annotations

import torch

NOISE_LEVELS = tuple(round(0.05 * i, 2) for i in range(11))


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
