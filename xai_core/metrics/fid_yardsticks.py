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

Degradation = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None, int], torch.Tensor]  # (images, labels, masks, seed)


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


def mean_colour(images: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """The mean colour Tensor[N, C, 1, 1] of each image of images Tensor[N, C, H, W] over its ``region`` (float
    Tensor[N, 1, H, W] in {0, 1}); 0 where the region is empty."""
    return (images * region).sum(dim=(2, 3), keepdim=True) / region.sum(dim=(2, 3), keepdim=True).clamp(min=1)


def flat_background(images: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """The object (bool masks Tensor[N, 1, H, W]) kept, everything else painted in the background's mean colour."""
    objects = masks.float()
    return images * objects + mean_colour(images, 1 - objects) * (1 - objects)


def blurred_object(images: torch.Tensor, masks: torch.Tensor, size: int) -> torch.Tensor:
    """The object blurred by a ``size`` x ``size`` box (its edge mixed with the background), the background kept."""
    objects = masks.float()
    return box_blur(images, size) * objects + images * (1 - objects)


def object_colour_per_class(images: torch.Tensor, labels: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Every object painted in the mean colour of the first object of its class, the background kept: one colour per
    class, as a generator that ties colour to the class would give."""
    objects = masks.float()
    first = one_per_class(torch.arange(len(labels)).view(-1, 1, 1, 1), labels).flatten()
    colours = mean_colour(images, objects)[first]
    return colours * objects + images * (1 - objects)


BASELINE_YARDSTICK = "none (the real-vs-real baseline)"
ANY, COLOUR, OBJECTS = "", "colour", "objects"  # what a yardstick needs: nothing, colour images, colour images with
# object masks (objects on cluttered backgrounds, unlike strokes on a flat one)
# name -> (degradation of (training images, their labels, their object masks, seed), what it needs)
YARDSTICKS: dict[str, tuple[Degradation, str]] = {
    BASELINE_YARDSTICK: (lambda images, labels, masks, seed: images, ANY),
    "brightness +0.15": (lambda images, labels, masks, seed: (images + 0.15).clamp(0, 1), ANY),
    "half resolution": (lambda images, labels, masks, seed: coarser(images, 2), ANY),
    "box blur 3x3": (lambda images, labels, masks, seed: box_blur(images, 3), ANY),
    "saturation x1.6": (lambda images, labels, masks, seed: saturation(images, 1.6), COLOUR),
    "Gaussian noise, std 0.08": (lambda images, labels, masks, seed: gaussian_noise(images, 0.08, seed), ANY),
    "box blur 5x5": (lambda images, labels, masks, seed: box_blur(images, 5), ANY),
    "quarter resolution": (lambda images, labels, masks, seed: coarser(images, 4), ANY),
    "saturation x0.5": (lambda images, labels, masks, seed: saturation(images, 0.5), COLOUR),
    "every image the first of its class": (lambda images, labels, masks, seed: one_per_class(images, labels), ANY),
    "background flat (its mean colour), object kept": (lambda images, labels, masks, seed: flat_background(images, masks), OBJECTS),
    "object blurred 5x5, background kept": (lambda images, labels, masks, seed: blurred_object(images, masks, 5), OBJECTS),
    "object in one colour per class, background kept": (
        lambda images, labels, masks, seed: object_colour_per_class(images, labels, masks),
        OBJECTS,
    ),
}


def applies(needs: str, channels: int, has_masks: bool) -> bool:
    """Whether a yardstick that needs ``needs`` applies to a dataset of ``channels`` channels, with masks or not."""
    return needs == ANY or (channels == 3 and (needs == COLOUR or has_masks))


@torch.inference_mode()
def fid_yardsticks(dataset: str, seed: int) -> dict[str, float]:
    """{yardstick: FID of the test images against the degraded training images} for ``dataset`` under its judge
    ``vgg-<dataset>``, with the real-vs-real baseline's subsets for ``seed``; colour and object yardsticks are left out
    of grey datasets, object yardsticks out of datasets without masks."""
    test, train = load_dataset(dataset, "test"), load_dataset(dataset, "train")
    count = min(len(test), FID_SAMPLES)
    reference = test.float_images(seeded_subset(len(test), count, seed))
    chosen = seeded_subset(len(train), count, seed)
    images, labels = train.float_images(chosen), train.labels[chosen]
    masks = None if train.masks is None else train.masks[chosen]
    network = PenultimateFeatures(load_model(f"vgg-{dataset}"))
    return {
        name: fid_score(reference, degrade(images, labels, masks, seed), network).fid
        for name, (degrade, needs) in YARDSTICKS.items()
        if applies(needs, train.channels, masks is not None)
    }


def yardsticks_over_seeds(dataset: str, seeds: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """{yardstick: {"mean", "std"}} of :func:`fid_yardsticks` over ``seeds``."""
    runs = [fid_yardsticks(dataset, seed) for seed in seeds]
    return {name: mean_std([run[name] for run in runs]) for name in runs[0]}
