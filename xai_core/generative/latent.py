"""Explaining a generator through its latent space (unified XAI framework paper §3.2; DESIGN.md).

* Latent sensitivity of dimension i: E_z ||dG(z)/dz_i||_2, computed exactly with forward-mode
  autodiff (``torch.func.jvp`` along the basis vector e_i, vectorised over dimensions with
  ``torch.func.vmap``), with a per-pixel map of where it acts.
* Latent directions by closed-form factorisation (SeFa; Shen & Zhou, CVPR 2021): the eigenvectors of
  W^T W of the generator's first layer weight W [out, latent], sorted by descending eigenvalue.
* Latent directions by PCA of sampled features (GANSpace; Harkonen et al., NeurIPS 2020): principal
  components of an intermediate layer's activations, carried back to the latent space by regression.
* Stability of the sensitivity ranking: Spearman rank correlation between two independent samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.func import jvp, vmap

from ..attribution.agreement import rank_correlation


@dataclass
class LatentSensitivity:
    """``sensitivity``: Tensor[D], E_z ||dG(z)/dz_i||_2; ``pixel_maps``: Tensor[D, C, H, W], E_z |dG(z)/dz_i|
    per output element; ``ranking``: dimensions ordered from most to least sensitive."""

    sensitivity: torch.Tensor
    pixel_maps: torch.Tensor

    @property
    def ranking(self) -> torch.Tensor:
        return torch.argsort(self.sensitivity, descending=True, stable=True)


def latent_sensitivity(
    generator: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor, dimensions: list[int] | None = None, chunk: int = 16
) -> LatentSensitivity:
    """Exact per-dimension sensitivity of ``generator`` over the sample ``latents`` Tensor[N, D].

    A batched jvp along the basis tangent e_i gives dG(z)/dz_i, Tensor[N, C, H, W], for every sample;
    ``torch.func.vmap`` runs ``chunk`` such tangents in one call. ``dimensions`` restricts the analysis
    (default: all D); results follow that order.
    """
    if latents.ndim != 2:
        raise ValueError(f"latents must be [N, D], got {tuple(latents.shape)}")
    chosen = list(range(latents.shape[1])) if dimensions is None else list(dimensions)
    basis = torch.eye(latents.shape[1], dtype=latents.dtype)[chosen]

    def derivative_along(direction: torch.Tensor) -> torch.Tensor:
        return jvp(generator, (latents,), (direction.expand_as(latents),))[1]

    norms, maps = [], []
    with torch.no_grad():
        for start in range(0, len(chosen), chunk):
            derivatives = vmap(derivative_along)(basis[start : start + chunk])  # [k, N, C, H, W]
            norms.append(derivatives.flatten(start_dim=2).norm(dim=2).mean(dim=1))
            maps.append(derivatives.abs().mean(dim=1))
    return LatentSensitivity(torch.cat(norms), torch.cat(maps))


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


@dataclass
class SensitivityStability:
    """Agreement of two sensitivity estimates from independent latent samples: ``rank_correlation``
    (Spearman over all D dimensions) and ``top_k_overlap`` (share of the top-k dimensions in common)."""

    rank_correlation: float
    top_k_overlap: float
    k: int
    first: LatentSensitivity
    second: LatentSensitivity


def latent_stability(
    generator: Callable[[torch.Tensor], torch.Tensor], latent_dim: int, samples: int = 256, seeds: tuple[int, int] = (0, 1), k: int = 8
) -> SensitivityStability:
    """Sensitivity on two seeded standard-normal samples Tensor[samples, latent_dim] and their agreement."""
    estimates = [
        latent_sensitivity(generator, torch.randn(samples, latent_dim, generator=torch.Generator().manual_seed(seed))) for seed in seeds
    ]
    correlation = float(rank_correlation(estimates[0].sensitivity[None], estimates[1].sensitivity[None])[0])
    k = min(k, latent_dim)
    overlap = len(set(estimates[0].ranking[:k].tolist()) & set(estimates[1].ranking[:k].tolist())) / k
    return SensitivityStability(correlation, overlap, k, *estimates)


def pca_directions(
    features: Callable[[torch.Tensor], torch.Tensor], latents: torch.Tensor, components: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace: (explained-variance ratios Tensor[K], unit latent directions Tensor[K, D]).

    ``features`` maps latents Tensor[N, D] to activations of an intermediate layer (any shape [N, ...]).
    The principal components of the centred activations give coordinates X [N, K]; the latent
    direction of component k is the least-squares regression of the centred latents on X[:, k].
    """
    with torch.no_grad():
        activations = features(latents).flatten(start_dim=1).double()
    centred = activations - activations.mean(dim=0)
    latents_centred = latents.double() - latents.double().mean(dim=0)
    components = min(components or latents.shape[1], *centred.shape)
    _, singular_values, right = torch.linalg.svd(centred, full_matrices=False)
    coordinates = centred @ right[:components].T
    directions = torch.linalg.lstsq(coordinates, latents_centred).solution
    directions = directions / directions.norm(dim=1, keepdim=True).clamp(min=1e-12)
    variance = singular_values.pow(2)
    return (variance[:components] / variance.sum()), directions


@dataclass
class LatentDeletion:
    """What zeroing some latent dimensions does, per sample Tensor[N] each: ``image_change`` (mean |G(z) - G(z')|
    over pixels), ``probability_drop`` (the classifier's probability of the class it gave G(z), minus that class's
    probability on G(z')) and ``flipped`` (1.0 where its predicted class changes)."""

    image_change: torch.Tensor
    probability_drop: torch.Tensor
    flipped: torch.Tensor


@torch.no_grad()
def latent_deletion(
    generator: Callable[[torch.Tensor], torch.Tensor],
    classify: Callable[[torch.Tensor], torch.Tensor],
    latents: torch.Tensor,
    dimensions: torch.Tensor,
) -> LatentDeletion:
    """The explanation-fidelity test of the unified XAI framework paper (§4: "deletions of ... influential latent
    variables"): set ``dimensions`` of every latent in ``latents`` Tensor[N, D] to 0 (the prior's mean) and measure
    the change of the generated image and of ``classify``'s prediction (images -> logits Tensor[N, K])."""
    deleted = latents.clone()
    deleted[:, dimensions] = 0.0
    before, after = generator(latents), generator(deleted)
    probabilities_before, probabilities_after = classify(before).softmax(dim=1), classify(after).softmax(dim=1)
    predicted = probabilities_before.argmax(dim=1, keepdim=True)
    return LatentDeletion(
        (before - after).abs().flatten(start_dim=1).mean(dim=1),
        (probabilities_before.gather(1, predicted) - probabilities_after.gather(1, predicted))[:, 0],
        (probabilities_after.argmax(dim=1, keepdim=True) != predicted).double()[:, 0],
    )
