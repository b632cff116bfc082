"""The Add-a-model page's work outside Streamlit (no streamlit import, so tests call it directly): where models added
in the browser go, the upload caps, the form's checks, and registering uploaded bytes through the engine
(:mod:`xai_core.models.sources`) from a temporary directory that is removed afterwards.

Only the ``torchvision:<name>``, ``timm:<name>`` and ONNX routes exist here: a ``factory:`` model runs Python code
and is registered only on the command line with ``--trust-code``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from xai_core import list_models
from xai_core.models.checkpoints import USER_CHECKPOINT_DIR, CheckpointError, read_manifest, write_manifest_entry
from xai_core.models.sources import (
    IMAGENET_CLASSES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    AddedModel,
    Preprocessing,
    add_model,
    add_model_command,
    add_onnx_model,
    check_model_id,
)
from xai_core.models.zoo import TIMM_PREFIX, TORCHVISION_PREFIX

CHECKPOINT_DIRS_VARIABLE = "XAI_STUDIO_CHECKPOINT_DIRS"
WEIGHTS_CAP_VARIABLE = "XAI_STUDIO_MAX_WEIGHTS_MB"
DEFAULT_WEIGHTS_CAP_MB = 1024
CLASSES_CAP_MB = 5
WEIGHT_EXTENSIONS = ("safetensors", "pt", "pth")
ONNX_EXTENSIONS = ("onnx",)
CLASS_EXTENSIONS = ("txt", "json")
DEFAULT_ARCH = "torchvision:resnet50"
GREY_MEAN, GREY_STD = (0.5,), (0.5,)

Upload = tuple[str, bytes | memoryview]  # (the file's name on the user's machine, its bytes)


def user_model_dir() -> Path:
    """Where the browser writes the models it adds: the first directory of ``$XAI_STUDIO_CHECKPOINT_DIRS`` when set
    (so a server started for tests or a shared installation keeps them apart), else ``runs/checkpoints``."""
    listed = [part for part in os.environ.get(CHECKPOINT_DIRS_VARIABLE, "").split(os.pathsep) if part]
    return Path(listed[0]).expanduser() if listed else USER_CHECKPOINT_DIR


def weights_cap_mb(server_cap_mb: int) -> tuple[int, str]:
    """(the weights/ONNX uploader's cap in MB, a note when it is not what ``$XAI_STUDIO_MAX_WEIGHTS_MB`` asked for).

    The cap is ``$XAI_STUDIO_MAX_WEIGHTS_MB`` (default 1024), at most the server's ``server.maxUploadSize`` (which
    the server enforces on every upload; ``.streamlit/config.toml`` sets it)."""
    raw = os.environ.get(WEIGHTS_CAP_VARIABLE, "").strip()
    note = ""
    asked = DEFAULT_WEIGHTS_CAP_MB
    if raw:
        if raw.isdigit() and int(raw) > 0:
            asked = int(raw)
        else:
            note = f"{WEIGHTS_CAP_VARIABLE}={raw!r} is not a positive whole number of MB; using {DEFAULT_WEIGHTS_CAP_MB}. "
    if asked > server_cap_mb:
        note += (
            f"{asked} MB was asked for, but the server accepts at most {server_cap_mb} MB per file: start it with "
            f"`--server.maxUploadSize {asked}` (or raise maxUploadSize in .streamlit/config.toml)."
        )
    return min(asked, server_cap_mb), note.strip()


def parse_numbers(text: str, what: str) -> tuple[float, ...]:
    """``"0.485, 0.456 0.406"`` -> (0.485, 0.456, 0.406); ValueError naming ``what`` for anything else."""
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    try:
        values = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"{what} must be numbers separated by commas, got {text!r}") from None
    if not values:
        raise ValueError(f"give the {what} (one number per input channel)")
    return values


def default_mean_std(channels: int) -> tuple[str, str]:
    """The mean and std fields' text for a channel count: ImageNet's for 3 channels, 0.5 for 1 (as the CLI)."""
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else (GREY_MEAN, GREY_STD)
    return ", ".join(map(str, mean)), ", ".join(map(str, std))


def default_model_id(file_name: str) -> str:
    """A model id from an uploaded file's name: its stem with anything but letters, digits, ``.``, ``_``, ``-``
    replaced by ``-`` (``"My ResNet (v2).safetensors"`` -> ``"My-ResNet-v2"``)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(file_name).stem).strip("-._")
    return stem[:64] or "my-model"


def check_new_model_id(model_id: str) -> None:
    """ValueError unless ``model_id`` is a well-formed id (see the engine's ``check_model_id``) no model has yet."""
    check_model_id(model_id)
    if model_id in list_models():
        raise ValueError(f"{model_id} is already a model id: choose another, or remove yours below first")


def added_models(directory: Path) -> list[dict]:
    """The manifest entries of models added to ``directory`` (those with no training dataset), by id."""
    return [entry for entry in read_manifest(directory) if not entry.get("dataset")]


def _safe_name(file_name: str, extensions: tuple[str, ...], what: str) -> str:
    """The upload's base name (no folder, so it stays in the temporary directory; messages name the user's file),
    refused unless it ends in one of ``extensions``."""
    name = Path(file_name.replace("\\", "/")).name
    name = name if name not in ("", ".", "..") and "\0" not in name else "upload"
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in extensions:
        raise ValueError(f"{file_name}: {what} must be a {' or '.join('.' + e for e in extensions)} file")
    return name


def add_uploaded_model(
    model_id: str,
    arch: str | None,
    model_file: Upload,
    classes: Upload | None,
    preprocessing: Preprocessing | None,
    out_dir: Path,
) -> AddedModel:
    """Register an uploaded model: ``arch`` ``torchvision:<name>`` / ``timm:<name>`` with ``model_file`` as its
    weights, or ``arch`` None with ``model_file`` an ONNX file (``preprocessing`` None: size and channels from the
    graph). ``classes`` None means ImageNet's. The uploads are written to a temporary directory that is removed
    afterwards; the manifest entry records the uploaded file names and sha256 (not the temporary paths), and its
    command is the ``add-model`` line that registers the same files again.

    ValueError (bad id or settings, a ``factory:`` architecture) or CheckpointError (weights, architecture, class
    count) with the engine's message, the temporary directory stripped from it; nothing is written then.
    """
    check_new_model_id(model_id)
    if arch is not None and not arch.startswith((TORCHVISION_PREFIX, TIMM_PREFIX)):
        raise ValueError(
            f"the browser registers torchvision:<name> and timm:<name> architectures (and ONNX files), got {arch!r}; "
            "a factory runs Python code and is added only on the command line, with --trust-code"
        )
    model_name = _safe_name(model_file[0], WEIGHT_EXTENSIONS if arch else ONNX_EXTENSIONS, "the weights" if arch else "the model")
    classes_name = None if classes is None else _safe_name(classes[0], CLASS_EXTENSIONS, "the classes file")
    with tempfile.TemporaryDirectory(prefix="xai-studio-upload-") as temporary:
        folder = Path(temporary)
        (folder / model_name).write_bytes(model_file[1])
        if classes is not None:
            (folder / classes_name).write_bytes(classes[1])  # never the weights' name: the extensions differ
        class_source = IMAGENET_CLASSES if classes is None else folder / classes_name
        try:
            if arch is None:
                added = add_onnx_model(model_id, folder / model_name, class_source, preprocessing, out_dir)
            else:
                added = add_model(model_id, arch, folder / model_name, class_source, preprocessing, out_dir)
        except (ValueError, CheckpointError) as error:
            message = str(error).replace(f"{folder.resolve()}/", "").replace(f"{folder}/", "")
            raise type(error)(message) from error
    _record_upload(added, arch, model_file[0], classes, out_dir)
    return added


def _record_upload(added: AddedModel, arch: str | None, file_name: str, classes: Upload | None, out_dir: Path) -> None:
    """Replace the temporary paths in the entry's provenance and command by the uploaded files' names."""
    entry = added.entry
    class_name = IMAGENET_CLASSES if classes is None else Path(classes[0]).name
    uploaded = f"browser upload {Path(file_name).name}"
    source = dict(entry["source"])
    source["classes"] = class_name if classes is None else f"browser upload {class_name}"
    if arch is None:
        source["onnx"] = uploaded
    else:
        source["weights"] = uploaded
    used = Preprocessing(tuple(entry["input_size"]), tuple(entry["mean"]), tuple(entry["std"]), entry["resize"], entry["in_channels"])
    arguments = ["--onnx", Path(file_name).name] if arch is None else ["--arch", arch]
    weights = None if arch is None else Path(file_name).name
    entry["source"] = source
    entry["command"] = add_model_command(entry["id"], arguments, weights, class_name, used, out_dir)
    write_manifest_entry(out_dir, entry)
