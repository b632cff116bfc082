"""ModelCard: a model together with everything needed to feed it and read its output."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

LUMINANCE = (0.299, 0.587, 0.114)
STRETCH = "stretch"
CENTER_CROP = "center_crop"
RESIZE_POLICIES = (STRETCH, CENTER_CROP)


@dataclass
class Prediction:
    label: int
    name: str
    probability: float


@dataclass
class ModelCard:
    """A classifier in eval mode plus its input contract and provenance.

    ``preprocess`` maps images in [0, 1] of any size and 1 or 3 channels to the model's input:
    channel conversion (luminance or repetition), the ``resize_policy``, then ``(x - mean) / std``.
    Resize policies: ``stretch`` resizes the whole image to ``input_size`` (aspect ratio not kept);
    ``center_crop`` keeps the largest centred region of the input's aspect ratio (the model's
    :meth:`field_of_view`) and resizes it, i.e. resize-shorter-side then centre crop, as torchvision's
    ImageNet models were evaluated (without the 256/224 margin).
    """

    id: str
    arch: str
    model: nn.Module
    classes: list[str]
    in_channels: int
    input_size: tuple[int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    dataset: str | None = None
    provenance: dict = field(default_factory=dict)
    resize_policy: str = STRETCH

    def __post_init__(self):
        if self.resize_policy not in RESIZE_POLICIES:
            raise ValueError(f"resize policy must be one of {', '.join(RESIZE_POLICIES)}, got {self.resize_policy!r}")

    def field_of_view(self, images: torch.Tensor) -> torch.Tensor:
        """The part of Tensor[..., H, W] the model sees, at the image's own resolution: all of it under ``stretch``,
        the largest centred region of the input's aspect ratio under ``center_crop`` (what maps are drawn over)."""
        if self.resize_policy == STRETCH:
            return images
        height, width = images.shape[-2:]
        scale = min(height / self.input_size[0], width / self.input_size[1])
        crop_height, crop_width = max(1, round(self.input_size[0] * scale)), max(1, round(self.input_size[1] * scale))
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        return images[..., top : top + crop_height, left : left + crop_width]

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """float Tensor[C,H,W] or [N,C,H,W] in [0,1] -> Tensor[N, in_channels, *input_size] in [0,1] (not normalised)."""
        batch = images[None] if images.ndim == 3 else images
        if batch.ndim != 4 or batch.shape[1] not in (1, 3, 4):
            raise ValueError(f"expected images [N,C,H,W] with 1 or 3 channels, got {tuple(images.shape)}")
        batch = self.field_of_view(batch[:, :3].float())
        if batch.shape[1] == 3 and self.in_channels == 1:
            weights = torch.tensor(LUMINANCE, dtype=batch.dtype, device=batch.device).view(1, 3, 1, 1)
            batch = (batch * weights).sum(dim=1, keepdim=True)
        elif batch.shape[1] == 1 and self.in_channels == 3:
            batch = batch.expand(-1, 3, -1, -1)
        if tuple(batch.shape[2:]) != tuple(self.input_size):
            batch = F.interpolate(batch, size=self.input_size, mode="bilinear", align_corners=False, antialias=True)
        return batch.clamp(0, 1)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """float Tensor[C,H,W] or [N,C,H,W] in [0,1] -> model input Tensor[N, in_channels, *input_size]:
        :meth:`resize`, then ``(x - mean) / std``."""
        batch = self.resize(images)
        mean = torch.tensor(self.mean, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=batch.dtype, device=batch.device).view(1, -1, 1, 1)
        return (batch - mean) / std

    @torch.inference_mode()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """images in [0,1] -> softmax probabilities Tensor[N, num_classes]."""
        return self.model(self.preprocess(images)).softmax(dim=1)

    def predict(self, image: torch.Tensor, k: int = 5) -> list[Prediction]:
        """Top-k predictions for one image Tensor[C,H,W] in [0,1], most probable first."""
        probabilities = self.probabilities(image)[0]
        top = probabilities.topk(min(k, len(self.classes)))
        return [Prediction(int(i), self.classes[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
