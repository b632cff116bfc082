"""Explaining a generator through its latent space (unified XAI framework paper §3.2; DESIGN.md).

* Latent sensitivity of dimension i: E_z ||dG(z)/dz_i||_2, computed exactly with forward-mode
  autodiff (``torch.func.jvp`` along the basis vector e_i), with a per-pixel map of where it acts.
* Latent directions by closed-form factorisation (SeFa; Shen & Zhou, CVPR 2021): the eigenvectors of
  W^T W of the generator's first layer weight W [out, latent], sorted by descending eigenvalue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.func import jvp


@dataclass
class LatentSensitivity:
    """``sensitivity``: Tensor[D], E_z ||dG(z)/dz_i||_2; ``pixel_maps``: Tensor[D, C, H, W], E_z |dG(z)/dz_i|
    per output element; ``ranking``: dimensions ordered from most to least sensitive."""

    sensitivity: torch.Tensor
    pixel_maps: torch.Tensor

    @property
    def ranking(self) -> torch.Tensor:
        return torch.argsort(self.sensitivity, descending=True, stable=True)


def latent_sensitivity(generator: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor,
                       dimensions: list[int] | None = None) -> LatentSensitivity:
    """Exact per-dimension sensitivity of ``generator`` over the sample ``latents`` Tensor[N, D].

    One batched jvp per dimension: the tangent e_i for every sample gives dG(z)/dz_i, Tensor[N, C, H, W].
    ``dimensions`` restricts the analysis (default: all D); results follow that order.
    """
    if latents.ndim != 2:
        raise ValueError(f"latents must be [N, D], got {tuple(latents.shape)}")
    chosen = list(range(latents.shape[1])) if dimensions is None else list(dimensions)
    norms, maps = [], []
    with torch.no_grad():
        for i in chosen:
            tangent = torch.zeros_like(latents)
            tangent[:, i] = 1.0
            _, derivative = jvp(generator, (latents,), (tangent,))
            norms.append(derivative.flatten(start_dim=1).norm(dim=1).mean())
            maps.append(derivative.abs().mean(dim=0))
    return LatentSensitivity(torch.stack(norms), torch.stack(maps))


def sefa_directions(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa: (eigenvalues Tensor[D] descending, directions Tensor[D, D], row k = k-th unit direction)
    of W^T W for the first layer's weight ``weight`` Tensor[out, D] (a Linear weight) or
    [D, out, ...] (a ConvTranspose2d weight, flattened to [out * k * k, D])."""
    matrix = weight.detach().double()
    if matrix.ndim > 2:  # ConvTranspose2d: [in = latent, out, kh, kw]
        matrix = matrix.flatten(start_dim=1).T
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix.T @ matrix)
    order = torch.argsort(eigenvalues, descending=True)
    return eigenvalues[order], eigenvectors[:, order].T
