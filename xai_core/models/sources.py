"""Your own model, by four routes, each validated (one forward pass, class count, conv layers) and registered as a
manifest entry with sha256 provenance, then loadable by id everywhere like a shipped model:

* :func:`add_model` with ``torchvision:<name>`` or ``timm:<name>`` (built without downloading) and your weights;
* :func:`add_model` with ``factory:path/to/file.py:function`` (your own architecture: runs your code, so only
  with ``trust_code``; never offered in the browser);
* :func:`add_onnx_model`: an ONNX file (Keras, TF, JAX ... exports), converted by onnx2torch;
* :func:`register_model`: a module in memory (a notebook).

Weights are read from ``.safetensors`` or from ``.pt``/``.pth`` state dicts with ``torch.load(weights_only=True)``;
a pickled module is refused with the way to save a state dict. Class names come from a ``.txt`` file (one a line),
a ``.json`` file (a list, or {index: name}) or ``imagenet`` (torchvision's ImageNet names, no download).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .card import RESIZE_POLICIES, STRETCH
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
from .zoo import (
    FACTORY_PREFIX,
    ONNX_ARCH,
    TIMM_PREFIX,
    TORCHVISION_PREFIX,
    build_factory_model,
    build_model,
    count_parameters,
    factory_source_file,
    onnx_to_torch,
    torchvision_builder_class,
    torchvision_classifiers,
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CLASSES = "imagenet"
MODEL_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SAVE_A_STATE_DICT = "save the weights alone: torch.save(model.state_dict(), 'weights.pt') or safetensors.torch.save_file"


@dataclass
class AddedModel:
    """What a registration validated and wrote: the manifest ``entry``, the conv layers found (names, in module
    order) and the shape of the logits of one forward pass on a black image."""

    entry: dict
    conv_layers: list[str]
    logits_shape: tuple[int, ...]


@dataclass(frozen=True)
class Preprocessing:
    """How images reach the model (recorded in the manifest entry, shown on Home): ``input_size`` (H, W),
    ``in_channels``, per-channel ``mean``/``std`` applied to pixels in [0, 1], and the ``resize`` policy
    (:data:`~xai_core.models.card.RESIZE_POLICIES`)."""

    input_size: tuple[int, int] = (224, 224)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resize: str = STRETCH
    in_channels: int = 3

    def check(self) -> None:
        """ValueError naming what does not fit: the channel count, mean/std lengths, stds, sizes or the policy."""
        if self.in_channels not in (1, 3):
            raise ValueError(f"a model takes 1 or 3 input channels, got {self.in_channels}")
        if len(self.mean) != self.in_channels or len(self.std) != self.in_channels or any(value <= 0 for value in self.std):
            raise ValueError(
                f"a {self.in_channels}-channel model needs {self.in_channels} mean(s) and {self.in_channels} positive std(s), "
                f"got mean {list(self.mean)} and std {list(self.std)}"
            )
        if len(self.input_size) != 2 or min(self.input_size) < 16:
            raise ValueError(f"input size must be two sides of at least 16 pixels, got {list(self.input_size)}")
        if self.resize not in RESIZE_POLICIES:
            raise ValueError(f"resize policy must be one of {', '.join(RESIZE_POLICIES)}, got {self.resize!r}")

    def entry_fields(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "input_size": list(self.input_size),
            "mean": list(self.mean),
            "std": list(self.std),
            "resize": self.resize,
        }


def check_model_id(model_id: str) -> None:
    """ValueError unless ``model_id`` is 1-64 letters, digits, ``.``, ``_`` or ``-`` starting with a letter or digit:
    it names the files written, so it must not reach outside the checkpoint directory."""
    if not MODEL_ID_PATTERN.fullmatch(model_id):
        raise ValueError(f"a model id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got {model_id!r}")


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


def check_network(model: nn.Module, classes: list[str], preprocessing: Preprocessing, source: str) -> AddedModel:
    """One forward pass of ``model`` (eval mode, in-place activations off) on a black Tensor[1, C, *input_size]:
    CheckpointError naming both numbers when the logits are not Tensor[1, len(classes)], or when the network
    fails on the input. Returns what was checked (entry still empty) with the ``nn.Conv2d`` layers found."""
    disable_inplace_activations(model).eval()
    try:
        with torch.no_grad():
            logits = model(torch.zeros(1, preprocessing.in_channels, *preprocessing.input_size))
    except Exception as error:  # a user's network can raise anything on a wrong input
        raise CheckpointError(
            f"{source} fails on a {preprocessing.in_channels}x{preprocessing.input_size[0]}x{preprocessing.input_size[1]} input: {error}"
        ) from error
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != 1:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise CheckpointError(f"{source} returned {shape}, expected logits of shape (1, {len(classes)})")
    if logits.shape[1] != len(classes):
        raise CheckpointError(f"the model has {logits.shape[1]} classes (its logits), the classes file names {len(classes)}")
    convs = [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    return AddedModel({}, convs, tuple(logits.shape))


def validate_model(
    arch: str, state: dict[str, torch.Tensor] | None, classes: list[str], preprocessing: Preprocessing, *, trust_code: bool = False
) -> tuple[nn.Module, AddedModel]:
    """Build ``arch`` (``torchvision:<name>``, ``timm:<name>`` or, with ``trust_code``, ``factory:<spec>``) for
    ``len(classes)`` classes, load ``state`` strictly (None keeps a factory's own weights) and run
    :func:`check_network`. CheckpointError for an unknown architecture, a class-count mismatch (naming both
    numbers) or weights that do not fit; ValueError for a factory without ``trust_code``."""
    try:
        if arch.startswith(FACTORY_PREFIX):
            if not trust_code:
                raise ValueError(f"{arch} runs your Python code: pass --trust-code (trust_code=True) if you trust it")
            model = build_factory_model(arch[len(FACTORY_PREFIX) :], len(classes))
        elif arch.startswith((TORCHVISION_PREFIX, TIMM_PREFIX)):
            model = build_model(arch, preprocessing.in_channels, len(classes))
        else:
            raise ValueError(f"the architecture must be torchvision:<name>, timm:<name> or factory:<spec>, got {arch!r}")
    except KeyError as error:
        raise CheckpointError(error.args[0]) from error
    if state is None and not arch.startswith(FACTORY_PREFIX):
        raise ValueError(f"{arch} needs a weights file (only a factory may bring its own weights)")
    if state is not None:
        mismatch = _class_count_mismatch(model, state, len(classes))
        if mismatch:
            raise CheckpointError(mismatch)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            details = "; ".join(str(error).splitlines()[:3])
            raise CheckpointError(f"the weights do not fit {arch}: {details}") from error
    return model, check_network(model, classes, preprocessing, arch)


def add_model(
    model_id: str,
    arch: str,
    weights: str | Path | None,
    classes: str | Path | list[str],
    preprocessing: Preprocessing = Preprocessing(),
    out_dir: str | Path = USER_CHECKPOINT_DIR,
    *,
    trust_code: bool = False,
) -> AddedModel:
    """Validate a ``torchvision:<name>``, ``timm:<name>`` or (``trust_code``) ``factory:<spec>`` model with the
    user's weights and classes, then write its safetensors copy and manifest entry to ``out_dir`` (the weights
    file's own sha256, and a factory's source sha256, are kept as provenance). Nothing is written when a check
    fails: ValueError for bad settings or classes, CheckpointError for weights or architecture."""
    check_model_id(model_id)
    preprocessing.check()
    refuse_shadowing_shipped(model_id, out_dir, "models", "--id")
    names = classes if isinstance(classes, list) else read_classes(classes)
    state = None if weights is None else read_user_weights(weights)
    model, added = validate_model(arch, state, names, preprocessing, trust_code=trust_code)
    source = {"classes": "(a list)" if isinstance(classes, list) else str(classes)}
    if weights is not None:
        source |= {"weights": str(Path(weights).resolve()), "weights_sha256": sha256_of(weights)}
    extra = {}
    if arch.startswith(FACTORY_PREFIX):
        factory_file = factory_source_file(arch[len(FACTORY_PREFIX) :])
        extra = {"factory_sha256": sha256_of(factory_file), "trust_code": True}
        source["factory"] = str(factory_file)
    command = add_model_command(model_id, _source_arguments(arch), weights, classes, preprocessing, out_dir, trust_code=bool(extra))
    return _write_model(model_id, model, added, arch, names, preprocessing, out_dir, source, command, extra)


def add_onnx_model(
    model_id: str,
    onnx_file: str | Path,
    classes: str | Path | list[str],
    preprocessing: Preprocessing | None = None,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
) -> AddedModel:
    """Register an ONNX classifier (from Keras/TF/JAX/PyTorch exporters): convert it (onnx2torch), check that
    conv layers survived and that one forward pass gives one logit per class, then copy the ONNX file itself
    to ``out_dir`` with its sha256 (it is converted again on each load). ``preprocessing`` None takes the input
    size and channels from the graph's first input (ImageNet mean/std for 3 channels, 0.5/0.5 for 1).
    CheckpointError for a file that is not ONNX, cannot be converted, has no conv layer or a wrong class count."""
    check_model_id(model_id)
    onnx_file = Path(onnx_file)
    try:
        model = onnx_to_torch(onnx_file)
    except ValueError as error:
        raise CheckpointError(str(error)) from error
    preprocessing = preprocessing or _onnx_preprocessing(onnx_file)
    preprocessing.check()
    refuse_shadowing_shipped(model_id, out_dir, "models", "--id")
    names = classes if isinstance(classes, list) else read_classes(classes)
    added = check_network(model, names, preprocessing, onnx_file.name)
    if not added.conv_layers:
        raise CheckpointError(f"{onnx_file.name} has no Conv layer after conversion: CAM methods and CGMAs need one, so it is refused")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{model_id}.onnx"
    shutil.copyfile(onnx_file, out_dir / file_name)
    entry = {
        "id": model_id,
        "arch": ONNX_ARCH,
        "dataset": "",
        "classes": names,
        **preprocessing.entry_fields(),
        "parameters": count_parameters(model),
        "file": file_name,
        "sha256": sha256_of(out_dir / file_name),
        "source": {"onnx": str(onnx_file.resolve()), "classes": "(a list)" if isinstance(classes, list) else str(classes)},
        "conv_layers": len(added.conv_layers),
        "command": add_model_command(model_id, ["--onnx", str(onnx_file)], None, classes, preprocessing, out_dir),
    }
    write_manifest_entry(out_dir, entry)
    added.entry = entry
    return added


def _onnx_preprocessing(onnx_file: Path) -> Preprocessing:
    """Input size and channels from the graph's first input when static (N, C, H, W); 224x224 RGB otherwise."""
    import onnx  # loaded on first use, as in zoo.onnx_to_torch

    dims = onnx.load(str(onnx_file), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    sizes = [dim.dim_value if dim.HasField("dim_value") else 0 for dim in dims]
    channels = sizes[1] if len(sizes) == 4 and sizes[1] in (1, 3) else 3
    size = (sizes[2], sizes[3]) if len(sizes) == 4 and min(sizes[2:]) >= 16 else (224, 224)
    if channels == 1:
        return Preprocessing(size, (0.5,), (0.5,), in_channels=1)
    return Preprocessing(size)


def register_model(
    model_id: str,
    module: nn.Module,
    classes: str | Path | list[str],
    input_size: tuple[int, int] = (224, 224),
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    resize: str = STRETCH,
    *,
    arch: str | None = None,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
) -> AddedModel:
    """Register a model held in memory (a notebook), then use it by id everywhere like a shipped model.

    Its weights are saved as safetensors with a manifest entry. ``arch`` says how to rebuild it
    (``torchvision:<name>``, ``timm:<name>`` or ``factory:<spec>`` for your own class); None recognises timm
    models (their ``pretrained_cfg``) and torchvision ones (class and state-dict shapes). ValueError when the
    architecture cannot be recognised; the same checks as ``add-model`` otherwise."""
    check_model_id(model_id)
    names = classes if isinstance(classes, list) else read_classes(classes)
    in_channels = len(mean)
    arch = arch or recognise_architecture(module, len(names), in_channels)
    preprocessing = Preprocessing(tuple(input_size), tuple(mean), tuple(std), resize, in_channels)
    preprocessing.check()
    refuse_shadowing_shipped(model_id, out_dir, "models", "--id")
    state = {key: value.detach().cpu() for key, value in module.state_dict().items()}
    model, added = validate_model(arch, state, names, preprocessing, trust_code=arch.startswith(FACTORY_PREFIX))
    out_dir = Path(out_dir)
    source = {"python": f"register_model from an in-memory {type(module).__module__}.{type(module).__name__}", "classes": "(a list)"}
    # re-registering later starts from the weights this call saves
    factory = arch.startswith(FACTORY_PREFIX)
    saved = out_dir / f"{model_id}.safetensors"
    command = add_model_command(model_id, _source_arguments(arch), saved, names, preprocessing, out_dir, trust_code=factory)
    extra = {}
    if factory:
        extra = {"factory_sha256": sha256_of(factory_source_file(arch[len(FACTORY_PREFIX) :])), "trust_code": True}
    return _write_model(model_id, model, added, arch, names, preprocessing, out_dir, source, command, extra)


def recognise_architecture(module: nn.Module, num_classes: int, in_channels: int) -> str:
    """``timm:<name>`` for a timm model, ``torchvision:<name>`` for a torchvision one whose state-dict shapes match
    that builder's; ValueError asking for ``arch=`` otherwise."""
    timm_name = (getattr(module, "pretrained_cfg", None) or {}).get("architecture")
    if timm_name and type(module).__module__.startswith("timm."):
        return TIMM_PREFIX + timm_name
    if type(module).__module__.startswith("torchvision.models") and in_channels == 3:
        shapes = {key: tuple(value.shape) for key, value in module.state_dict().items()}
        for name in torchvision_classifiers():
            if torchvision_builder_class(name) is type(module):
                candidate = build_model(TORCHVISION_PREFIX + name, 3, num_classes)
                if {key: tuple(value.shape) for key, value in candidate.state_dict().items()} == shapes:
                    return TORCHVISION_PREFIX + name
    raise ValueError(
        f"cannot tell how to rebuild a {type(module).__module__}.{type(module).__name__}: pass arch='torchvision:<name>', "
        "'timm:<name>' or 'factory:path/to/file.py:function' (a function returning the module)"
    )


def _write_model(model_id, model, added, arch, names, preprocessing, out_dir, source, command, extra) -> AddedModel:
    """Write the safetensors weights and the manifest entry of a validated model; returns ``added`` with its entry."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{model_id}.safetensors"
    entry = {
        "id": model_id,
        "arch": arch,
        "dataset": "",
        "classes": names,
        **preprocessing.entry_fields(),
        "parameters": count_parameters(model),
        "file": file_name,
        "sha256": save_state_dict(model.state_dict(), out_dir / file_name),
        "source": source,
        "conv_layers": len(added.conv_layers),
        "command": command,
        **extra,
    }
    write_manifest_entry(out_dir, entry)
    added.entry = entry
    return added


def _source_arguments(arch: str) -> list[str]:
    """``--factory SPEC`` for a factory, ``--arch ARCH`` otherwise."""
    return ["--factory", arch[len(FACTORY_PREFIX) :]] if arch.startswith(FACTORY_PREFIX) else ["--arch", arch]


def add_model_command(
    model_id: str,
    source_arguments: list[str],
    weights: str | Path | None,
    classes: str | Path | list[str],
    preprocessing: Preprocessing,
    out_dir: str | Path,
    *,
    trust_code: bool = False,
) -> str:
    """The ``add-model`` command line that registers this model again (a class list is written as ``CLASSES.txt``)."""
    arguments = ["python", "-m", "xai_core", "add-model", "--id", model_id, *source_arguments]
    if weights is not None:
        arguments += ["--weights", str(weights)]
    arguments += ["--classes", "CLASSES.txt" if isinstance(classes, list) else str(classes)]
    arguments += ["--input-size", *map(str, preprocessing.input_size), "--resize", preprocessing.resize]
    arguments += ["--in-channels", str(preprocessing.in_channels)] if preprocessing.in_channels != 3 else []
    arguments += ["--mean", *map(str, preprocessing.mean), "--std", *map(str, preprocessing.std)]
    arguments += ["--trust-code"] if trust_code else []
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
