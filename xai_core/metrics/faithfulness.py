"""Faithfulness: does the classifier still see its class in what a map keeps?

* Energy map, average drop %, increase in confidence %, win %: Chattopadhyay et al. (Grad-CAM++,
  WACV 2018) as modified by Guna et al., "Interpreting CNN Predictions using Conditional GANs",
  §4.2.3 (definitions pinned in DESIGN.md).
* Deletion / insertion AUC: Petsiuk et al., "RISE", BMVC 2018. Pixels are removed from the image
  (deletion, to black) or restored onto a blurred copy (insertion) in the map's order, most relevant
  first; the AUC is the mean target probability over the fractions 0, 1/S, ..., 1 (trapezoid rule).

``model`` is a :class:`~xai_core.models.ModelCard` (images in [0, 1] are preprocessed by the card)
or any module/callable mapping images to logits. Images are Tensor[N, C, H, W] in [0, 1], maps
Tensor[N, 1, H, W] in [0, 1] (resized to the images when their size differs), targets Tensor[N].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import gaussian_blur

from ..models.card import ModelCard

Classifier = ModelCard | nn.Module | Callable[[torch.Tensor], torch.Tensor]

DEFAULT_PERTURBATION_STEPS = 16
INSERTION_BLUR_SIGMA = 5.0


def logits_function(model: Classifier) -> Callable[[torch.Tensor], torch.Tensor]:
    """images in [0, 1] -> logits Tensor[N, K] for a model card, a module or a callable."""
    if isinstance(model, ModelCard):
        return lambda images: model.model(model.preprocess(images))
    return model


def target_probabilities(model: Classifier, images: torch.Tensor, targets: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Softmax probability of each image's target class: Tensor[N] (float64)."""
    logits_of = logits_function(model)
    targets = torch.as_tensor(targets, dtype=torch.long).flatten()
    if targets.numel() != images.shape[0]:
        raise ValueError(f"got {targets.numel()} targets for {images.shape[0]} images")
    chunks = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            probabilities = logits_of(images[start : start + batch_size]).double().softmax(dim=1)
            chunks.append(probabilities.gather(1, targets[start : start + batch_size, None].to(probabilities.device))[:, 0].cpu())
    return torch.cat(chunks) if chunks else torch.zeros(0, dtype=torch.float64)


def maps_like(images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """Maps Tensor[N,1,h,w] checked against images [N,C,H,W] and bilinearly resized to (H, W) if needed."""
    if maps.ndim != 4 or maps.shape[1] != 1 or maps.shape[0] != images.shape[0]:
        raise ValueError(f"maps must be [N,1,H,W] with one map per image, got {tuple(maps.shape)} for images {tuple(images.shape)}")
    if maps.shape[-2:] != images.shape[-2:]:
        maps = F.interpolate(maps.float(), size=tuple(images.shape[-2:]), mode="bilinear", align_corners=False)
    return maps.to(images.dtype)


def energy_maps(images: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """E = image * map per pixel, broadcast over channels: Tensor[N, C, H, W]."""
    return images * maps_like(images, maps)


def energy_confidences(model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """O: the target probability on each energy map, Tensor[N]."""
    return target_probabilities(model, energy_maps(images, maps), targets)


def drop_percentages(original: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """Per image max(0, Y - O) / Y * 100 from confidences Y (original) and O (energy map): Tensor[N]."""
    return (original - energy).clamp(min=0) / original.clamp(min=1e-12) * 100


def increase_points(original: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """Per image max(0, O - Y) * 100, the confidence gained on the energy map in percentage points: Tensor[N].
    The SFT-GAN paper's Eq. 8 ("average increase in confidence") sums O - Y over the images where it is
    positive; its denominator is illegible in our copy, so we average over all images."""
    return (energy - original).clamp(min=0) * 100


def average_drop(model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor) -> float:
    """Average drop %: mean over images of max(0, Y - O) / Y * 100 (lower is better)."""
    original = target_probabilities(model, images, targets)
    return float(drop_percentages(original, energy_confidences(model, images, maps, targets)).mean())


def increase_in_confidence(model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor) -> float:
    """Increase in confidence % (Chattopadhyay et al.): share of images whose energy map is more confident than the
    image, x 100."""
    original = target_probabilities(model, images, targets)
    return float((energy_confidences(model, images, maps, targets) > original).double().mean() * 100)


def average_increase(model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor) -> float:
    """Average increase in confidence (SFT-GAN paper, Eq. 8 as we read it): mean of max(0, O - Y) * 100, in points."""
    original = target_probabilities(model, images, targets)
    return float(increase_points(original, energy_confidences(model, images, maps, targets)).mean())


def win_rate(model: Classifier, images: torch.Tensor, maps_a: torch.Tensor, maps_b: torch.Tensor, targets: torch.Tensor) -> float:
    """Win % of method A over B: share of images where A's energy map is more confident than B's, x 100."""
    a = energy_confidences(model, images, maps_a, targets)
    b = energy_confidences(model, images, maps_b, targets)
    return float((a > b).double().mean() * 100)


def relevance_order(maps: torch.Tensor) -> torch.Tensor:
    """Pixel indices of each map, most relevant first (ties by position): Tensor[N, H*W]."""
    return torch.argsort(maps.flatten(start_dim=1), dim=1, descending=True, stable=True)


def perturbation_curves(
    model: Classifier,
    images: torch.Tensor,
    maps: torch.Tensor,
    targets: torch.Tensor,
    mode: str,
    steps: int = DEFAULT_PERTURBATION_STEPS,
    batch_size: int = 512,
) -> torch.Tensor:
    """Target probability after moving 0, 1/S, ..., 1 of the pixels (most relevant first): Tensor[N, S+1].

    ``mode`` "deletion" sets moved pixels to 0 (black) in the image; "insertion" copies them from the
    image onto a Gaussian-blurred copy (sigma 5 px) of it.
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    maps = maps_like(images, maps)
    n, channels, height, width = images.shape
    pixels = height * width
    ranks = torch.empty(n, pixels, dtype=torch.long)
    ranks.scatter_(1, relevance_order(maps), torch.arange(pixels).expand(n, -1).contiguous())
    counts = torch.tensor([round(pixels * k / steps) for k in range(steps + 1)])
    if mode == "deletion":
        start, finish = images, torch.zeros_like(images)
    else:
        kernel = min(2 * int(3 * INSERTION_BLUR_SIGMA) + 1, 2 * min(height, width) - 1)  # reflect padding < side
        start, finish = gaussian_blur(images, [kernel, kernel], [INSERTION_BLUR_SIGMA] * 2), images
    targets = torch.as_tensor(targets, dtype=torch.long).flatten()
    curves = torch.empty(n, steps + 1, dtype=torch.float64)
    per_chunk = max(1, batch_size // (steps + 1))
    for first in range(0, n, per_chunk):
        rows = slice(first, min(n, first + per_chunk))
        moved = (ranks[rows, None, :] < counts[None, :, None]).view(-1, 1, height, width)  # [n*(S+1), 1, H, W]
        begin = start[rows].repeat_interleave(steps + 1, dim=0)
        end = finish[rows].repeat_interleave(steps + 1, dim=0)
        perturbed = torch.where(moved, end, begin)
        probabilities = target_probabilities(model, perturbed, targets[rows].repeat_interleave(steps + 1), batch_size)
        curves[rows] = probabilities.view(-1, steps + 1)
    return curves


def curve_auc(curves: torch.Tensor) -> torch.Tensor:
    """Area under curves sampled at 0, 1/S, ..., 1 (trapezoid rule): Tensor[N, S+1] -> Tensor[N]."""
    return torch.trapezoid(curves, dx=1.0 / (curves.shape[1] - 1), dim=1)


def deletion_auc(
    model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, steps: int = DEFAULT_PERTURBATION_STEPS
) -> torch.Tensor:
    """Deletion AUC per image (lower is better: the probability falls fast when relevant pixels go): Tensor[N]."""
    return curve_auc(perturbation_curves(model, images, maps, targets, "deletion", steps))


def insertion_auc(
    model: Classifier, images: torch.Tensor, maps: torch.Tensor, targets: torch.Tensor, steps: int = DEFAULT_PERTURBATION_STEPS
) -> torch.Tensor:
    """Insertion AUC per image (higher is better: the probability rises fast as relevant pixels return): Tensor[N]."""
    return curve_auc(perturbation_curves(model, images, maps, targets, "insertion", steps))
