"""SFT-GAN networks: SFT layer, condition network, LSFT/GSFT generators, conditional PatchGAN.

Source: Guna, Benitez, Sikha, "Interpreting CNN Predictions using Conditional GANs", §3.2
(Eq. 5-6, Figures 3-4), with the SFT layer of Wang et al., "Recovering Realistic Texture in Image
Super-resolution by Deep Spatial Feature Transform" (CVPR 2018). Definitions pinned in DESIGN.md.

The generator's trunk runs at half the input resolution (a stride-2 stem, conditions computed from
the CGMAs by a stride-2 condition network) and is upsampled back before the output head; DESIGN.md's
prototypes found it matches a full-resolution trunk in quality at about a third of the cost.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GENERATOR_KINDS = ("lsft", "gsft")
IMAGE_CHANNELS = 3


def _conv(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2)


class SFTLayer(nn.Module):
    """Spatial Feature Transform: ``out = feat * (1 + alpha) + beta``, (alpha, beta) = f(condition).

    feat: Tensor[N, feature_channels, h, w]; condition: Tensor[N, condition_channels, h, w].
    alpha and beta come from one small 1x1-conv head (its output split in two halves), so they
    vary per pixel and per channel.
    """

    def __init__(self, condition_channels: int, feature_channels: int):
        super().__init__()
        self.modulation = nn.Sequential(
            _conv(condition_channels, condition_channels, 1), nn.LeakyReLU(0.1), _conv(condition_channels, 2 * feature_channels, 1)
        )

    def alpha_beta(self, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        alpha, beta = self.modulation(condition).chunk(2, dim=1)
        return alpha, beta

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        alpha, beta = self.alpha_beta(condition)
        return torch.addcmul(beta, features, 1 + alpha)


class ConditionNetwork(nn.Module):
    """Maps condition maps Tensor[N, in_channels, H, W] to features Tensor[N, channels, ceil(H/2), ceil(W/2)]."""

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.layers = nn.Sequential(
            _conv(in_channels, channels, 3, stride=2),
            nn.LeakyReLU(0.1),
            _conv(channels, channels),
            nn.LeakyReLU(0.1),
            _conv(channels, channels, 1),
        )

    def forward(self, conditions: torch.Tensor) -> torch.Tensor:
        return self.layers(conditions)


class SFTResidualBlock(nn.Module):
    """``x + conv(relu(conv(SFT(x, condition))))``: an SFT layer followed by a residual conv pair."""

    def __init__(self, channels: int, condition_channels: int):
        super().__init__()
        self.sft = SFTLayer(condition_channels, channels)
        self.conv1 = _conv(channels, channels)
        self.conv2 = _conv(channels, channels)

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return features + self.conv2(F.relu(self.conv1(self.sft(features, condition))))


class SFTGenerator(nn.Module):
    """Image + CGMAs -> interpretation map in [0, 1].

    image: Tensor[N, 3, H, W] in [0, 1]; cgmas: Tensor[N, eta, H, W] in [0, 1], shallow to deep.
    Returns Tensor[N, 1, H, W] (sigmoid).

    ``kind="lsft"`` (local): one condition network, shared weights, applied to each CGMA on its
    own; CGMA k conditions residual block k, blocks in CNN order. ``kind="gsft"`` (global): the eta
    CGMAs stacked as one eta-channel condition, the same condition fed to every block.
    """

    def __init__(self, kind: str = "lsft", eta: int = 8, channels: int = 32, condition_channels: int = 16):
        super().__init__()
        if kind not in GENERATOR_KINDS:
            raise ValueError(f"kind must be one of {GENERATOR_KINDS}, got {kind!r}")
        if eta < 1:
            raise ValueError(f"eta (the number of CGMAs) must be at least 1, got {eta}")
        self.kind, self.eta = kind, eta
        self.channels, self.condition_channels = channels, condition_channels
        self.stem = nn.Sequential(_conv(IMAGE_CHANNELS, channels, 3, stride=2), nn.LeakyReLU(0.1))
        self.condition = ConditionNetwork(1 if kind == "lsft" else eta, condition_channels)
        self.blocks = nn.ModuleList(SFTResidualBlock(channels, condition_channels) for _ in range(eta))
        self.trunk_out = _conv(channels, channels)
        self.image_skip = nn.Sequential(_conv(IMAGE_CHANNELS, channels // 2), nn.LeakyReLU(0.1))
        self.head = nn.Sequential(_conv(channels + channels // 2, channels // 2), nn.LeakyReLU(0.1), _conv(channels // 2, 1))

    def config(self) -> dict:
        return {"kind": self.kind, "eta": self.eta, "channels": self.channels, "condition_channels": self.condition_channels}

    def conditions(self, cgmas: torch.Tensor) -> list[torch.Tensor]:
        """The condition features each block receives: eta Tensors[N, condition_channels, h, w]."""
        n, eta, height, width = cgmas.shape
        if eta != self.eta:
            raise ValueError(f"the generator takes {self.eta} CGMAs, got {eta}")
        if self.kind == "gsft":
            return [self.condition(cgmas)] * eta
        features = self.condition(cgmas.reshape(n * eta, 1, height, width))  # shared weights, one call
        return list(features.view(n, eta, *features.shape[1:]).unbind(dim=1))

    def forward(self, image: torch.Tensor, cgmas: torch.Tensor) -> torch.Tensor:
        if image.shape[1] != IMAGE_CHANNELS or image.shape[-2:] != cgmas.shape[-2:]:
            raise ValueError(
                f"expected image [N,3,H,W] and CGMAs [N,{self.eta},H,W] of one size, got {tuple(image.shape)} and {tuple(cgmas.shape)}"
            )
        stem = self.stem(image)
        features = stem
        for block, condition in zip(self.blocks, self.conditions(cgmas)):
            features = block(features, condition)
        features = stem + self.trunk_out(features)
        upsampled = F.interpolate(features, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return torch.sigmoid(self.head(torch.cat([upsampled, self.image_skip(image)], dim=1)))


class PatchDiscriminator(nn.Module):
    """Conditional PatchGAN (Isola et al. 2017) on (image, map): Tensor[N, 3+1, H, W] -> logits Tensor[N, 1, H/4, W/4].

    Returns logits (no sigmoid): train with ``BCEWithLogitsLoss``. No normalisation layers, so the
    same code runs under DDP without synchronised batch statistics.
    """

    def __init__(self, channels: int = 32):
        super().__init__()
        self.layers = nn.Sequential(
            _conv(IMAGE_CHANNELS + 1, channels, 3, stride=2),
            nn.LeakyReLU(0.2),
            _conv(channels, 2 * channels, 3, stride=2),
            nn.LeakyReLU(0.2),
            _conv(2 * channels, 2 * channels),
            nn.LeakyReLU(0.2),
            _conv(2 * channels, 1),
        )

    def forward(self, image: torch.Tensor, interpretation: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([image, interpretation], dim=1))
