"""Your own model: a torchvision architecture with weights from your file and your class names, validated and
registered as a manifest entry (safetensors copy + sha256), then loadable by id everywhere like a shipped model.

Weights are read from ``.safetensors`` or from ``.pt``/``.pth`` state dicts with ``torch.load(weights_only=True)``;
a pickled module is refused with the way to save a state dict. Class names come from a ``.txt`` file (one a line),
a ``.json`` file (a list, or {index: name}) or ``imagenet`` (torchvision's ImageNet names, no download).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .checkpoints import (
    DEFAULT_CHECKPOINT_DIR,
    USER_CHECKPOINT_DIR,
    CheckpointError,
    load_state_dict_file,
    out_dir_arguments,
    read_manifest,
    refuse_shadowing_shipped,
    remove_manifest_entry,
    save_state_dict,
    sha256_of,
    write_manifest_entry,
)
from .registry import disable_inplace_activations, imagenet_class_names
from .zoo import TORCHVISION_PREFIX, build_model, count_parameters

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CLASSES = "imagenet"
SAVE_A_STATE_DICT = "save the weights alone: torch.save(model.state_dict(), 'weights.pt') or safetensors.torch.save_file"


@dataclass
class AddedModel:
    """What ``add_model`` validated and wrote: the manifest ``entry``, the conv layers found (names, in module order)
    and the shape of the logits of one forward pass on a black image."""

    entry: dict
    conv_layers: list[str]
    logits_shape: tuple[int, ...]


def read_classes(source: str | Path) -> list[str]:
    """Class names from ``imagenet``, a ``.txt`` file (one per line, blank lines skipped) or a ``.json`` file (a list
    of names, or {"0": name, ...} with indices 0..K-1). ValueError for anything else, empty or duplicated names."""
    if str(source) == IMAGENET_CLASSES:
        return imagenet_class_names()
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"classes file {path} does not exist (give a .txt, a .json or {IMAGENET_CLASSES!r})")
    if path.suffix == ".txt":
        classes = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    elif path.suffix == ".json":
        classes = _json_classes(path)
    else:
        raise ValueError(f"{path.name}: classes come from a .txt (one name a line) or a .json file")
    if not classes:
        raise ValueError(f"{path.name} names no class")
    duplicated = sorted({name for name in classes if classes.count(name) > 1})
    if duplicated:
        raise ValueError(f"{path.name} names {', '.join(duplicated)} more than once")
    return classes


def _json_classes(path: Path) -> list[str]:
    """A JSON list of names, or an object {index: name} covering 0..K-1."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name} is not valid JSON ({error})") from error
    if isinstance(data, list) and all(isinstance(name, str) for name in data):
        return [name.strip() for name in data]
    if isinstance(data, dict) and all(isinstance(name, str) for name in data.values()):
        try:
            indexed = {int(key): name.strip() for key, name in data.items()}
        except ValueError:
            indexed = {}
        if sorted(indexed) == list(range(len(data))):
            return [indexed[index] for index in range(len(data))]
    raise ValueError(f"{path.name}: expected a list of class names or {{index: name}} for indices 0..K-1")


def read_user_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from ``.safetensors``, ``.pt`` or ``.pth`` (tensors only); a CheckpointError that says how to
    save a state dict when the file holds a pickled module or anything but tensors."""
    try:
        return load_state_dict_file(path)
    except CheckpointError as error:
        if Path(path).suffix in (".pt", ".pth"):
            raise CheckpointError(f"{error}. If the file holds a whole pickled model, {SAVE_A_STATE_DICT}") from error
        raise


def _class_count_mismatch(model: nn.Module, state: dict[str, torch.Tensor], num_classes: int) -> str | None:
    """The weights' class count when it differs from ``num_classes``: the first dimension of the tensor that
    disagrees with the freshly built model's class-sized tensor (the head), or None when none disagrees so."""
    expected = model.state_dict()
    for key, tensor in state.items():
        if key in expected and expected[key].ndim >= 1 and expected[key].shape[0] == num_classes and tensor.shape != expected[key].shape:
            return f"the weights have {tensor.shape[0]} classes ({key} is {tuple(tensor.shape)}), the classes file names {num_classes}"
    return None


def validate_model(
    arch: str, state: dict[str, torch.Tensor], classes: list[str], input_size: tuple[int, int]
) -> tuple[nn.Module, AddedModel]:
    """Build ``arch`` for ``len(classes)`` classes, load ``state`` strictly and run one forward pass on a black
    Tensor[1, 3, *input_size]. CheckpointError for an unknown architecture, a class-count mismatch (naming both
    numbers) or weights that do not fit; returns the model and what was checked (entry still empty)."""
    try:
        model = build_model(arch, 3, len(classes))
    except KeyError as error:
        raise CheckpointError(error.args[0]) from error
    mismatch = _class_count_mismatch(model, state, len(classes))
    if mismatch:
        raise CheckpointError(mismatch)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        details = "; ".join(str(error).splitlines()[:3])
        raise CheckpointError(f"the weights do not fit {arch}: {details}") from error
    disable_inplace_activations(model).eval()
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, *input_size))
    if tuple(logits.shape) != (1, len(classes)):
        raise CheckpointError(f"{arch} returned logits of shape {tuple(logits.shape)}, expected (1, {len(classes)})")
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    return model, AddedModel({}, convs, tuple(logits.shape))


def add_model(
    model_id: str,
    arch: str,
    weights: str | Path,
    classes: str | Path,
    input_size: tuple[int, int] = (224, 224),
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
) -> AddedModel:
    """Validate a ``torchvision:<name>`` model with the user's weights and classes, then write its safetensors copy
    and manifest entry to ``out_dir`` (the weights file's own sha256 is kept as provenance). Nothing is written
    when a check fails: ValueError for bad settings or classes, CheckpointError for weights or architecture."""
    if not arch.startswith(TORCHVISION_PREFIX):
        raise ValueError(f"--arch must be torchvision:<name> (e.g. torchvision:resnet50), got {arch!r}")
    if len(mean) != 3 or len(std) != 3 or any(value <= 0 for value in std):
        raise ValueError(f"a 3-channel model needs 3 means and 3 positive stds, got mean {list(mean)} and std {list(std)}")
    if len(input_size) != 2 or min(input_size) < 16:
        raise ValueError(f"input size must be two sides of at least 16 pixels, got {list(input_size)}")
    refuse_shadowing_shipped(model_id, out_dir, "models", "--id")
    names = read_classes(classes)
    model, added = validate_model(arch, read_user_weights(weights), names, tuple(input_size))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{model_id}.safetensors"
    entry = {
        "id": model_id,
        "arch": arch,
        "dataset": "",
        "classes": names,
        "in_channels": 3,
        "input_size": list(input_size),
        "mean": list(mean),
        "std": list(std),
        "parameters": count_parameters(model),
        "file": file_name,
        "sha256": save_state_dict(model.state_dict(), out_dir / file_name),
        "source": {"weights": str(Path(weights).resolve()), "weights_sha256": sha256_of(weights), "classes": str(classes)},
        "conv_layers": len(added.conv_layers),
        "command": add_model_command(model_id, arch, weights, classes, input_size, mean, std, out_dir),
    }
    write_manifest_entry(out_dir, entry)
    added.entry = entry
    return added


def add_model_command(model_id, arch, weights, classes, input_size, mean, std, out_dir) -> str:
    """The ``add-model`` command line that registers this model again."""
    arguments = [
        "python",
        "-m",
        "xai_core",
        "add-model",
        "--id",
        model_id,
        "--arch",
        arch,
        "--weights",
        str(weights),
        "--classes",
        str(classes),
        "--input-size",
        str(input_size[0]),
        str(input_size[1]),
        "--mean",
        *map(str, mean),
        "--std",
        *map(str, std),
    ]
    return shlex.join(arguments + out_dir_arguments(out_dir))


def remove_model(model_id: str, directory: str | Path = USER_CHECKPOINT_DIR) -> Path:
    """Delete a registered model's manifest entry and weights file from ``directory``; returns the file removed.
    ValueError for a shipped id or an id ``directory`` does not hold."""
    directory = Path(directory)
    if directory.resolve() == DEFAULT_CHECKPOINT_DIR.resolve() or model_id in {e["id"] for e in read_manifest(DEFAULT_CHECKPOINT_DIR)}:
        raise ValueError(f"{model_id} is a shipped model; only models you added can be removed")
    entries = {entry["id"]: entry for entry in read_manifest(directory)}
    if model_id not in entries:
        raise ValueError(f"{directory} holds no model {model_id!r}; it holds: {', '.join(sorted(entries)) or 'none'}")
    path = directory / entries[model_id]["file"]
    remove_manifest_entry(directory, model_id)
    path.unlink(missing_ok=True)
    return path
