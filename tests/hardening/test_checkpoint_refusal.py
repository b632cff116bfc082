"""Hostile checkpoints (issue 8, item 6): the CNN, SFT-GAN generator, DCGAN and captioner loaders refuse pickled code,
tampered, truncated and mismatched weights, and broken manifest entries with a CheckpointError; no code runs."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from xai_core import CheckpointError, list_models, load_model
from xai_core.captioning import model as captioning_model
from xai_core.captioning.model import Captioner
from xai_core.generative import dcgan
from xai_core.generative.dcgan import DCGANGenerator
from xai_core.models import build_model, save_state_dict
from xai_core.models.checkpoints import MANIFEST_NAME, sha256_of, write_manifest_entry
from xai_core.sftgan import explainer as sftgan_explainer
from xai_core.sftgan.networks import SFTGenerator

DIGITS = [str(digit) for digit in range(10)]


@dataclass(frozen=True)
class Loader:
    """One checkpoint loader: the manifest section it reads, a small valid network and entry, and its broken variants."""

    section: str
    build: Callable[[], torch.nn.Module]
    entry: dict  # without id, file and sha256
    load: Callable[[str], object]
    clear: Callable[[], None]  # empties the loader's per-process cache
    wrong_architecture: dict  # fields that describe another network of the same family
    unbuildable: dict  # fields that describe no network at all
    unbuildable_message: str


LOADERS = {
    "cnn": Loader(
        "models",
        lambda: build_model("vgg", 1, 10),
        {"arch": "vgg", "dataset": "mnist", "classes": DIGITS, "in_channels": 1, "input_size": [32, 32], "mean": [0.5], "std": [0.5]},
        load_model,
        lambda: None,
        {"arch": "mobilenet"},
        {"arch": "transformer"},
        "unknown architecture",
    ),
    "sftgan": Loader(
        "generators",
        lambda: SFTGenerator("lsft", 3, 8, 4),
        {"kind": "lsft", "strategy": "objects", "architecture": {"kind": "lsft", "eta": 3, "channels": 8, "condition_channels": 4}},
        sftgan_explainer.load_generator,
        sftgan_explainer.load_generator.cache_clear,
        {"architecture": {"kind": "gsft", "eta": 3, "channels": 8, "condition_channels": 4}},
        {"architecture": {"kind": "lsft", "eta": 0, "channels": 8, "condition_channels": 4}},
        "is not an SFT generator",
    ),
    "dcgan": Loader(
        "gans",
        lambda: DCGANGenerator(latent_dim=8, channels=1, image_size=32, num_classes=0, width=8),
        {
            "kind": "dcgan",
            "dataset": "mnist",
            "classes": DIGITS,
            "architecture": {"latent_dim": 8, "channels": 1, "image_size": 32, "num_classes": 0, "width": 8},
        },
        dcgan.load_gan,
        dcgan.load_gan.cache_clear,
        {"architecture": {"latent_dim": 16, "channels": 1, "image_size": 32, "num_classes": 0, "width": 8}},
        {"architecture": {"latent_dim": -1, "channels": 1, "image_size": 32, "num_classes": 0, "width": 8}},
        "is not a GAN generator",
    ),
    "captioner": Loader(
        "captioners",
        lambda: Captioner("vgg", embedding=4, hidden=8, attention=4),
        {"architecture": {"encoder_arch": "vgg", "embedding": 4, "hidden": 8, "attention": 4}},
        captioning_model.load_captioner,
        captioning_model.load_captioner.cache_clear,
        {"architecture": {"encoder_arch": "vgg", "embedding": 4, "hidden": 16, "attention": 4}},
        {"architecture": {"encoder_arch": "transformer", "embedding": 4, "hidden": 8, "attention": 4}},
        "is not a captioner",
    ),
}


class _WritesMarker:
    """Unpickling this runs code that creates ``path``: what a malicious checkpoint would do."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (exec, (f"open({str(self.path)!r}, 'w').write('pwned')",))


@pytest.fixture(params=list(LOADERS))
def loader(request, tmp_path, monkeypatch) -> Loader:
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    chosen = LOADERS[request.param]
    chosen.clear()
    yield chosen
    chosen.clear()


def _register(directory: Path, loader: Loader, file_name: str, **changes) -> str:
    """Write a manifest entry (id ``hostile-<file stem>``) for ``file_name`` with its true sha256; returns the id."""
    identifier = f"hostile-{Path(file_name).stem}"
    entry = {**loader.entry, "id": identifier, "file": file_name}
    if (directory / file_name).is_file():
        entry["sha256"] = sha256_of(directory / file_name)
    entry.update(changes)
    write_manifest_entry(directory, {k: v for k, v in entry.items() if v is not None}, loader.section)
    return identifier


def _refused(loader: Loader, identifier: str, message: str) -> None:
    loader.clear()
    with pytest.raises(CheckpointError, match=message):
        loader.load(identifier)


def test_a_valid_entry_loads(loader, tmp_path):
    """The control: the fixture's network and entry are sound, so each refusal below is for its one defect."""
    save_state_dict(loader.build().state_dict(), tmp_path / "valid.safetensors")
    loaded = loader.load(_register(tmp_path, loader, "valid.safetensors"))
    assert loaded is not None


def test_pickled_code_never_runs(loader, tmp_path):
    marker = tmp_path / "PWNED"
    payload = {"weight": _WritesMarker(marker)}
    (tmp_path / "raw-pickle.pt").write_bytes(pickle.dumps(payload))
    torch.save(payload, tmp_path / "torch-save.pt")
    (tmp_path / "pickle-renamed.safetensors").write_bytes(pickle.dumps(payload))
    _refused(loader, _register(tmp_path, loader, "raw-pickle.pt"), "pickled code is refused")
    _refused(loader, _register(tmp_path, loader, "torch-save.pt"), "pickled code is refused")
    _refused(loader, _register(tmp_path, loader, "pickle-renamed.safetensors"), "not a valid safetensors file")
    assert not marker.exists()


def test_tampered_and_truncated_files_are_refused(loader, tmp_path):
    path = tmp_path / "tampered.safetensors"
    digest = save_state_dict(loader.build().state_dict(), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    _refused(loader, _register(tmp_path, loader, path.name, sha256=digest), "modified or replaced")

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    _refused(loader, _register(tmp_path, loader, truncated.name), "not a valid safetensors file")
    (tmp_path / "header-only.safetensors").write_bytes(bytes(data[:8]))
    _refused(loader, _register(tmp_path, loader, "header-only.safetensors"), "not a valid safetensors file")


def test_tensors_that_do_not_fit_are_refused(loader, tmp_path):
    state = {name: tensor.clone() for name, tensor in loader.build().state_dict().items()}
    first = next(name for name, tensor in state.items() if tensor.ndim > 1)
    variants = {
        "wrong-shape": {**state, first: torch.zeros(3, 3)},
        "extra-key": {**state, "backdoor.weight": torch.ones(2)},
        "missing-key": {name: tensor for name, tensor in state.items() if name != first},
    }
    for name, tensors in variants.items():
        save_state_dict(tensors, tmp_path / f"{name}.safetensors")
        _refused(loader, _register(tmp_path, loader, f"{name}.safetensors"), "does not match its declared architecture")
    save_state_dict(state, tmp_path / "other-network.safetensors")
    _refused(
        loader,
        _register(tmp_path, loader, "other-network.safetensors", **loader.wrong_architecture),
        "does not match its declared architecture",
    )


def test_pt_files_must_hold_only_a_dict_of_tensors(loader, tmp_path):
    torch.save({"weight": "a string, not a tensor"}, tmp_path / "string.pt")
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    torch.save({"nested": {"weight": torch.zeros(2)}}, tmp_path / "nested.pt")
    for name in ("string.pt", "list.pt", "nested.pt"):
        _refused(loader, _register(tmp_path, loader, name), "does not hold a state dict of tensors")


def test_broken_manifest_entries_are_refused(loader, tmp_path):
    save_state_dict(loader.build().state_dict(), tmp_path / "weights.safetensors")
    _refused(loader, _register(tmp_path, loader, "weights.safetensors", **loader.unbuildable), loader.unbuildable_message)
    _refused(loader, _register(tmp_path, loader, "weights.safetensors", sha256=None), "records no sha256")
    escaping = _register(
        tmp_path, loader, "escape.safetensors", file="../weights.safetensors", sha256=sha256_of(tmp_path / "weights.safetensors")
    )
    _refused(loader, escaping, "must be a file name inside")
    _refused(loader, _register(tmp_path, loader, "gone.safetensors", sha256="0" * 64), "does not exist")
    required = "arch" if loader.section == "models" else "architecture"
    _refused(loader, _register(tmp_path, loader, "weights.safetensors", **{required: None}), f"lacks {required}")


def test_a_safetensors_file_with_metadata_only_is_refused(loader, tmp_path):
    save_file({}, str(tmp_path / "empty.safetensors"))
    _refused(loader, _register(tmp_path, loader, "empty.safetensors"), "does not match its declared architecture")


@pytest.mark.parametrize(
    "manifest,lister",
    [
        ([], list_models),
        ({"format": 1, "models": [{"arch": "vgg"}]}, list_models),
        ({"format": 1, "models": [], "generators": ["lsft-objects"]}, sftgan_explainer.list_generators),
        ({"format": 1, "models": [], "gans": {"id": "x"}}, dcgan.list_gans),
    ],
    ids=["a-list", "entry-without-id", "entry-not-an-object", "section-not-a-list"],
)
def test_malformed_manifests_are_refused_as_a_whole(tmp_path, monkeypatch, manifest, lister):
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    with pytest.raises(CheckpointError, match="is not an XAI Studio manifest|must be a list of entries, each with a string 'id'"):
        lister()


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"mean": [0.5, 0.5]}, "mean, std and input_size do not fit 1 channel"),
        ({"input_size": 32}, "mean, std and input_size do not fit 1 channel"),
        ({"in_channels": "one"}, "do not fit 'one' channel"),
        ({"classes": None, "std": None}, "lacks classes, std"),
    ],
    ids=["mean-of-two-channels", "input-size-not-a-pair", "channels-not-a-number", "fields-missing"],
)
def test_a_cnn_entry_must_describe_how_to_feed_the_model(tmp_path, monkeypatch, changes, message):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tmp_path))
    cnn = LOADERS["cnn"]
    save_state_dict(cnn.build().state_dict(), tmp_path / "contract.safetensors")
    _refused(cnn, _register(tmp_path, cnn, "contract.safetensors", **changes), message)
