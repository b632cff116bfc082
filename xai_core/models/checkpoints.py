"""Safe checkpoint I/O: safetensors files listed in a manifest with their sha256.

Nothing here unpickles arbitrary objects: safetensors is preferred, and ``.pt``/``.pth``
state dicts are read only with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CHECKPOINT_DIR = REPOSITORY_ROOT / "checkpoints"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, tampered with, unsafe or does not fit its architecture."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


USER_CHECKPOINT_DIR = REPOSITORY_ROOT / "runs" / "checkpoints"


def checkpoint_dirs() -> list[Path]:
    """Where models are looked up, first match wins: the shipped directory, ``runs/checkpoints``
    (where ``train-cnn`` writes by default), then ``$XAI_STUDIO_CHECKPOINT_DIRS`` (os.pathsep-separated)."""
    extra = [Path(p).expanduser() for p in os.environ.get("XAI_STUDIO_CHECKPOINT_DIRS", "").split(os.pathsep) if p]
    return [DEFAULT_CHECKPOINT_DIR, USER_CHECKPOINT_DIR, *extra]


MANIFEST_SECTIONS = ("models", "generators", "gans", "captioners")


def read_manifest(directory: str | Path, section: str = "models") -> list[dict]:
    """The entries of one manifest section: ``models`` (CNNs), ``generators`` (SFT-GANs), ``gans`` (DCGANs) or ``captioners``."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return []
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("models"), list):
        raise CheckpointError(f"{path} is not an XAI Studio manifest (format {MANIFEST_FORMAT})")
    entries = manifest.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in entries):
        raise CheckpointError(f"{path}: {section!r} must be a list of entries, each with a string 'id'")
    return entries


def refuse_shadowing_shipped(identifier: str, out: str | Path, section: str, option: str) -> None:
    """A run written elsewhere under a shipped id would be hidden by the shipped one (it is found first): refuse it."""
    shipped = {entry["id"] for entry in read_manifest(DEFAULT_CHECKPOINT_DIR, section)}
    if identifier in shipped and Path(out).resolve() != DEFAULT_CHECKPOINT_DIR.resolve():
        raise ValueError(
            f"{identifier} is a shipped id; choose another with {option} (or retrain the shipped one with reproduce-checkpoints)"
        )


RUN_STATE_NAME = "state.pt"


def save_run_state(run_dir: Path, config: dict, history: list[dict], modules: dict, **extra) -> None:
    """A resumable training run after an epoch, written atomically to ``run_dir/state.pt``: its configuration,
    history (one record per epoch), the state dict of every module (networks, optimisers) and ``extra`` tensors."""
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {"config": json.dumps(config), "epoch": len(history), "history": json.dumps(history), **extra}
    state.update({name: module.state_dict() for name, module in modules.items()})
    temporary = run_dir / f"{RUN_STATE_NAME}.tmp"
    torch.save(state, temporary)
    temporary.replace(run_dir / RUN_STATE_NAME)


def load_run_state(run_dir: Path, config: dict, modules: dict) -> dict | None:
    """The state :func:`save_run_state` left in ``run_dir`` (weights_only; ``history`` decoded), with every module
    restored; None when there is none. Refuses a state written by another configuration (only ``epochs`` may differ)."""
    path = run_dir / RUN_STATE_NAME
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = json.loads(state["config"])
    if {k: v for k, v in saved.items() if k != "epochs"} != {k: v for k, v in config.items() if k != "epochs"}:
        raise ValueError(f"{path} was written by a different configuration; use another --run-dir or --no-resume")
    for name, module in modules.items():
        module.load_state_dict(state[name])
    return {**state, "history": json.loads(state["history"])}


def changed_option_arguments(config: object, defaults: object, options: dict[str, str]) -> list[str]:
    """``[flag, value, ...]`` for each ``options`` field (field name -> command-line flag) where ``config`` differs from ``defaults``."""
    arguments: list[str] = []
    for name, flag in options.items():
        if getattr(config, name) != getattr(defaults, name):
            arguments += [flag, str(getattr(config, name))]
    return arguments


def out_dir_arguments(out_dir: str | Path) -> list[str]:
    """``["--out", DIR]`` (relative to the repository when inside it) unless ``out_dir`` is the default ``runs/checkpoints``."""
    out = Path(out_dir).resolve()
    if out == USER_CHECKPOINT_DIR.resolve():
        return []
    return ["--out", str(out.relative_to(REPOSITORY_ROOT)) if out.is_relative_to(REPOSITORY_ROOT) else str(out)]


def manifest_entries(section: str, directories: list[Path]) -> dict[str, tuple[Path, dict]]:
    """{id: (directory, entry)} of one manifest section over ``directories``; the first directory holding an id wins."""
    entries: dict[str, tuple[Path, dict]] = {}
    for directory in directories:
        for entry in read_manifest(directory, section):
            entries.setdefault(entry["id"], (directory, entry))
    return entries


def find_entry(section: str, identifier: str, directories: list[Path], noun: str, train_command: str) -> tuple[Path, dict]:
    """(directory, entry) of ``identifier`` in one manifest section over ``directories`` (the first holding it wins);
    otherwise a CheckpointError naming the known ids and the command that trains one."""
    entries = manifest_entries(section, directories)
    if identifier not in entries:
        raise CheckpointError(f"no {noun} {identifier!r}; known: {', '.join(sorted(entries)) or 'none'} (train one with: {train_command})")
    return entries[identifier]


def write_manifest_entry(directory: str | Path, entry: dict, section: str = "models") -> None:
    """Insert or replace (by ``id``) one entry in ``directory/manifest.json``, keeping ids sorted.

    The read-modify-write holds an exclusive lock, and the new manifest replaces the old one
    atomically, so concurrent trainings keep every entry and readers never see half a file.
    """
    _update_manifest(directory, section, lambda entries: entries.__setitem__(entry["id"], entry))


def remove_manifest_entry(directory: str | Path, identifier: str, section: str = "models") -> None:
    """Delete the entry ``identifier`` (if any) from ``directory/manifest.json``, locked and atomic like writing."""
    _update_manifest(directory, section, lambda entries: entries.pop(identifier, None))


def _update_manifest(directory: str | Path, section: str, change: Callable[[dict[str, dict]], object]) -> None:
    """``change`` the {id: entry} dict of one section under an exclusive lock, then replace the manifest atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".manifest.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if section not in MANIFEST_SECTIONS:
            raise ValueError(f"manifest section must be one of {MANIFEST_SECTIONS}, got {section!r}")
        sections = {name: {e["id"]: e for e in read_manifest(directory, name)} for name in MANIFEST_SECTIONS}
        change(sections[section])
        manifest = {"format": MANIFEST_FORMAT}
        manifest.update({name: [entries[key] for key in sorted(entries)] for name, entries in sections.items() if entries})
        manifest.setdefault("models", [])
        temporary = directory / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(temporary, directory / MANIFEST_NAME)


def save_state_dict(state_dict: dict[str, torch.Tensor], path: str | Path) -> str:
    """Write a state dict as safetensors; returns the file's sha256."""
    tensors = {name: tensor.detach().cpu().contiguous() for name, tensor in state_dict.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    return sha256_of(path)


def load_state_dict_file(path: str | Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` (or ``.pt``/``.pth`` tensors only), checking sha256 first."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise CheckpointError(
                f"{path.name} has sha256 {actual[:12]}..., but the manifest says {expected_sha256[:12]}...: "
                "the file was modified or replaced; refusing to load it"
            )
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as error:
            raise CheckpointError(f"{path.name} is not a valid safetensors file ({error})") from error
    if path.suffix in (".pt", ".pth"):
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError ...
            raise CheckpointError(
                f"{path.name} could not be read as plain tensors (pickled code is refused): {_unpickling_reason(error)}"
            ) from error
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise CheckpointError(f"{path.name} does not hold a state dict of tensors")
        return dict(state)
    raise CheckpointError(f"{path.name}: unsupported checkpoint type (use .safetensors)")


def _unpickling_reason(error: Exception) -> str:
    """The line of torch's weights-only refusal that says what was found (its advice to load with
    ``weights_only=False`` is not for us), without terminal colour codes; the whole message when it has no such line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|\s+Please use|\s+Check the documentation|$)", text, re.DOTALL)
    return " ".join((found.group(1) if found else text).split()).rstrip(".")


class ManifestSection:
    """One manifest section (``models``, ``generators``, ``gans`` or ``captioners``) over the checkpoint directories
    a caller passes (its module's ``checkpoint_dirs()``; the first directory holding an id wins).

    ``noun`` and ``train_command`` word the error for an unknown id:
    ``no <noun> 'x'; known: a, b (train one with: <train_command>)``.
    """

    def __init__(self, section: str, noun: str, train_command: str):
        if section not in MANIFEST_SECTIONS:
            raise ValueError(f"manifest section must be one of {MANIFEST_SECTIONS}, got {section!r}")
        self.section, self.noun, self.train_command = section, noun, train_command

    def entries(self, directories: list[Path]) -> dict[str, tuple[Path, dict]]:
        """{id: (directory, entry)} over ``directories``, the first directory holding an id winning."""
        return manifest_entries(self.section, directories)

    def ids(self, directories: list[Path]) -> list[str]:
        """The sorted ids of the section's entries over ``directories``."""
        return sorted(self.entries(directories))

    def info(self, identifier: str, directories: list[Path]) -> dict:
        """The manifest entry of ``identifier``; a CheckpointError naming the known ids and the train command if none."""
        return find_entry(self.section, identifier, directories, self.noun, self.train_command)[1]

    def load_state(self, identifier: str, directories: list[Path], required: tuple[str, ...] = ()) -> tuple[dict, dict[str, torch.Tensor]]:
        """(entry, state dict) of ``identifier``: the entry must hold the ``required`` fields and name a plain ``file``
        in its directory with its ``sha256``; the file is verified against it and read without unpickling code."""
        directory, entry = find_entry(self.section, identifier, directories, self.noun, self.train_command)
        missing = [name for name in required if name not in entry]
        if missing:
            raise CheckpointError(f"manifest entry {identifier!r} lacks {', '.join(missing)}")
        name, digest = entry.get("file"), entry.get("sha256")
        if not isinstance(name, str) or not name or Path(name).name != name:
            raise CheckpointError(f"manifest entry {identifier!r}: file {name!r} must be a file name inside {directory}")
        if not isinstance(digest, str):
            raise CheckpointError(f"manifest entry {identifier!r} records no sha256; refusing to load unverified weights")
        return entry, load_state_dict_file(directory / name, expected_sha256=digest)

    def load_network(
        self,
        identifier: str,
        directories: list[Path],
        network: Callable[..., torch.nn.Module],
        what: str,
        label: str | Callable[[torch.nn.Module], str],
    ) -> torch.nn.Module:
        """``network(**entry["architecture"])`` holding the entry's sha256-checked weights (strictly), in eval mode
        without parameter gradients. ``what`` ("a GAN generator") names the network when the architecture builds
        none; ``label`` (or ``label(network)``) follows the file name when the weights do not fit."""
        entry, state = self.load_state(identifier, directories, required=("architecture",))
        try:
            built = network(**entry["architecture"])
        except (TypeError, ValueError, RuntimeError) as error:
            raise CheckpointError(f"{identifier}: manifest architecture {entry['architecture']} is not {what} ({error})") from error
        load_weights_into(built, state, f"{entry['file']} ({label if isinstance(label, str) else label(built)})")
        return built.eval().requires_grad_(False)


def load_weights_into(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)``, turning any mismatch into a clear CheckpointError."""
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first_lines = "; ".join(str(error).splitlines()[:3])
        raise CheckpointError(f"{source} does not match its declared architecture: {first_lines}") from error
