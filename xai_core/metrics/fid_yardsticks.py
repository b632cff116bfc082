"""FID yardsticks: what a GAN's FID means on its dataset, read off real images degraded in known ways.

The FID of the real test images against the real training images (the real-vs-real baseline of
:func:`~xai_core.generative.training.score_generator`: the same seeded subsets, the same judge ``vgg-<dataset>``),
after each degradation of ``YARDSTICKS`` is applied to the training images. A GAN's FID reads as "about as far
from the real images as the real images blurred by a 5x5 box", a scale the raw number does not give.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import load_dataset
from ..generative.fid import PenultimateFeatures, fid_score, seeded_subset
from ..generative.training import FID_SAMPLES
from ..models.registry import load_model
from ..spread import mean_std

Degradation = Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]


def box_blur(images: torch.Tensor, size: int) -> torch.Tensor:
    """Each pixel of images Tensor[N, C, H, W] replaced by the mean of the ``size`` x ``size`` box around it
    (edges replicated); ``size`` odd."""
    padded = F.pad(images, (size // 2,) * 4, mode="replicate")
    return F.avg_pool2d(padded, size, stride=1)


def saturation(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Colour distance from each pixel's grey (the channel mean) scaled by ``factor``, clipped to [0, 1]."""
    grey = images.mean(dim=1, keepdim=True)
    return ((images - grey) * factor + grey).clamp(0, 1)


def coarser(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Images at 1/``factor`` of their side (area averaging), blown back up by nearest neighbour: detail removed."""
    side = images.shape[-2:]
    small = F.interpolate(images, size=(side[0] // factor, side[1] // factor), mode="area")
    return F.interpolate(small, size=side, mode="nearest")


def gaussian_noise(images: torch.Tensor, std: float, seed: int) -> torch.Tensor:
    """Seeded Gaussian noise of ``std`` added to every pixel, clipped to [0, 1]."""
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed))
    return (images + std * noise).clamp(0, 1)


def one_per_class(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Every image replaced by the first image of its class: total mode collapse with perfect images."""
    first = {int(label): index for index, label in reversed(list(enumerate(labels.tolist())))}
    return images[torch.tensor([first[int(label)] for label in labels])]


BASELINE_YARDSTICK = "none (the real-vs-real baseline)"
# name -> (degradation of (training images, their labels, seed), whether it needs colour images)
YARDSTICKS: dict[str, tuple[Degradation, bool]] = {
    BASELINE_YARDSTICK: (lambda images, labels, seed: images, False),
    "brightness +0.15": (lambda images, labels, seed: (images + 0.15).clamp(0, 1), False),
    "half resolution": (lambda images, labels, seed: coarser(images, 2), False),
    "box blur 3x3": (lambda images, labels, seed: box_blur(images, 3), False),
    "saturation x1.6": (lambda images, labels, seed: saturation(images, 1.6), True),
    "Gaussian noise, std 0.08": (lambda images, labels, seed: gaussian_noise(images, 0.08, seed), False),
    "box blur 5x5": (lambda images, labels, seed: box_blur(images, 5), False),
    "quarter resolution": (lambda images, labels, seed: coarser(images, 4), False),
    "saturation x0.5": (lambda images, labels, seed: saturation(images, 0.5), True),
    "every image the first of its class": (lambda images, labels, seed: one_per_class(images, labels), False),
}


@torch.inference_mode()
def fid_yardsticks(dataset: str, seed: int) -> dict[str, float]:
    """{yardstick: FID of the test images against the degraded training images} for ``dataset`` under its judge
    ``vgg-<dataset>``, with the real-vs-real baseline's subsets for ``seed``; colour yardsticks are left out of
    grey datasets."""
    test, train = load_dataset(dataset, "test"), load_dataset(dataset, "train")
    count = min(len(test), FID_SAMPLES)
    reference = test.float_images(seeded_subset(len(test), count, seed))
    chosen = seeded_subset(len(train), count, seed)
    images, labels = train.float_images(chosen), train.labels[chosen]
    network = PenultimateFeatures(load_model(f"vgg-{dataset}"))
    return {
        name: fid_score(reference, degrade(images, labels, seed), network).fid
        for name, (degrade, colour) in YARDSTICKS.items()
        if train.channels == 3 or not colour
    }


def yardsticks_over_seeds(dataset: str, seeds: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """{yardstick: {"mean", "std"}} of :func:`fid_yardsticks` over ``seeds``."""
    runs = [fid_yardsticks(dataset, seed) for seed in seeds]
    return {name: mean_std([run[name] for run in runs]) for name in runs[0]}
