"""Seeded CNN training with a validation split, early stopping and a test-accuracy report; the same code
path runs alone or under ``torchrun`` (DDP: gloo on CPU, nccl on GPU; see ``distributed``)."""

from __future__ import annotations

import platform
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data import load_dataset, stratified_split
from .card import ModelCard
from .checkpoints import USER_CHECKPOINT_DIR, out_dir_arguments, save_state_dict, write_manifest_entry
from .distributed import Distributed, distributed_context
from .zoo import build_model, count_parameters

MIN_INPUT_SIDE = 32


@dataclass
class TrainConfig:
    dataset: str
    arch: str
    seed: int = 0
    epochs: int = 10
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    patience: int = 3
    val_fraction: float = 0.1
    max_train: int | None = None
    model_id: str = ""

    def __post_init__(self) -> None:
        if not self.model_id:
            self.model_id = default_model_id(self.arch, self.dataset)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.model_id):
            raise ValueError(f"model id {self.model_id!r} may only hold letters, digits, '_', '.' and '-'")

    def command(self, out_dir: str | Path = USER_CHECKPOINT_DIR) -> str:
        """The ``train-cnn`` command line that reproduces this run into ``out_dir``."""
        args = [
            "python",
            "-m",
            "xai_core",
            "train-cnn",
            "--dataset",
            self.dataset,
            "--arch",
            self.arch,
            "--seed",
            str(self.seed),
            "--epochs",
            str(self.epochs),
            "--batch-size",
            str(self.batch_size),
            "--lr",
            str(self.lr),
            "--patience",
            str(self.patience),
        ]
        if self.max_train is not None:
            args += ["--max-train", str(self.max_train)]
        if self.model_id != default_model_id(self.arch, self.dataset):
            args += ["--id", self.model_id]
        return shlex.join(args + out_dir_arguments(out_dir))


def default_model_id(arch: str, dataset: str) -> str:
    """``<arch>-<dataset>``; for ``folder:<path>`` / ``torchvision-<kind>:<root>`` the folder's name / the kind."""
    name, _, location = dataset.partition(":")
    if name == "folder":
        name = "folder-" + Path(location).expanduser().resolve().name
    return f"{arch}-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")


def random_subset(indices: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded random ``size``-subset, sorted (datasets stored class by class keep every class)."""
    return np.sort(np.random.default_rng(seed).permutation(indices)[:size])


def input_size_for(image_size: tuple[int, int]) -> tuple[int, int]:
    """Small images are upsampled so the side is at least 32 (two downsamplings leave >= 8x8)."""
    return tuple(max(side, MIN_INPUT_SIDE) for side in image_size)  # type: ignore[return-value]


@torch.inference_mode()
def accuracy(
    card: ModelCard, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512, world: Distributed = Distributed()
) -> float:
    """Share of correct top-1 predictions; images float [N,C,H,W] in [0,1] (CPU), the model on ``world.device``.
    Under DDP each rank scores its share of the images and the counts are summed."""
    card.model.eval()
    rows = world.shard(torch.arange(len(images)))
    correct = 0
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        logits = card.model(card.preprocess(images[batch].to(world.device)))
        correct += int((logits.argmax(1).cpu() == labels[batch]).sum())
    return world.sum(correct) / max(1, len(images))


def train_cnn(
    config: TrainConfig,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
    progress: bool = True,
    synthetic: tuple[torch.Tensor, torch.Tensor] | None = None,
    device: str | torch.device = "cpu",
) -> dict:
    """Train ``config.arch`` on ``config.dataset``, save safetensors + manifest entry in ``out_dir``.

    ``synthetic`` (images float Tensor[M,C,H,W] in [0,1], labels Tensor[M]) is added to the training
    images only (never to validation or test): GAN augmentation. Returns the manifest entry (with
    validation and test accuracy). Deterministic for a seed on CPU.

    Under ``torchrun`` every rank draws the same seeded batches and trains on its shard of each
    (BatchNorm synchronised, gradients averaged: W ranks compute what one process computes, up to
    rounding, except for dropout masks); validation and test images are split over the ranks; rank 0
    writes and returns the entry, the other ranks return {}.
    """
    with distributed_context(device) as world:
        entry = _train_cnn(config, Path(out_dir), progress and world.is_main, synthetic, world)
        world.barrier()
        return entry


def _train_cnn(
    config: TrainConfig, out_dir: Path, progress: bool, synthetic: tuple[torch.Tensor, torch.Tensor] | None, world: Distributed
) -> dict:
    """The body of :func:`train_cnn`. Long: one seeded training loop (the order of random draws is the contract
    DDP and reproducibility rest on) with early stopping, and the manifest entry it writes, read best in one place."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    train_set = load_dataset(config.dataset, "train")
    test_set = load_dataset(config.dataset, "test")
    if len(train_set.classes) < 2:
        raise ValueError(
            f"{config.dataset} has {len(train_set.classes)} class ({', '.join(train_set.classes)}): a classifier "
            "needs at least two (one sub-folder per class for folder: datasets)"
        )
    train_idx, val_idx = stratified_split(train_set.labels.numpy(), config.val_fraction, config.seed)
    if config.max_train is not None:
        train_idx = random_subset(train_idx, config.max_train, config.seed)
    channels = train_set.channels
    model = build_model(config.arch, channels, len(train_set.classes))
    card = ModelCard(
        id=config.model_id,
        arch=config.arch,
        model=model,
        classes=list(train_set.classes),
        in_channels=channels,
        input_size=input_size_for(train_set.image_size),
        mean=(0.5,) * channels,
        std=(0.5,) * channels,
        dataset=config.dataset,
    )
    train_x = card.preprocess(train_set.float_images(torch.from_numpy(train_idx)))
    train_y = train_set.labels[torch.from_numpy(train_idx)]
    if synthetic is not None:
        train_x = torch.cat([train_x, card.preprocess(synthetic[0])])
        train_y = torch.cat([train_y, synthetic[1].long()])
    val_images, val_labels = train_set.float_images(torch.from_numpy(val_idx)), train_set.labels[torch.from_numpy(val_idx)]

    model.to(world.device)
    train_model = world.prepare(model)
    world.decorrelate_randomness(config.seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = -(-len(train_x) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    best_accuracy, best_state, best_epoch, stale, history = -1.0, None, 0, 0, []
    for epoch in range(1, config.epochs + 1):
        train_model.train()
        order = torch.randperm(len(train_x), generator=generator)
        running_loss = 0.0
        bar = tqdm(range(steps_per_epoch), desc=f"{config.model_id} epoch {epoch}/{config.epochs}", disable=not progress, leave=False)
        for step in bar:
            batch = order[step * config.batch_size : (step + 1) * config.batch_size]
            shard = world.shard(batch)
            # an empty shard (a last batch smaller than the world) has a NaN mean, weight 0 and no gradient
            loss = F.cross_entropy(train_model(train_x[shard].to(world.device)), train_y[shard].to(world.device))
            loss = loss * world.shard_weight(len(shard), len(batch))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running_loss += loss.item() * len(batch) / world.world_size if len(shard) else 0.0
            bar.set_postfix(loss=f"{loss.item():.3f}")
        val_accuracy = accuracy(card, val_images, val_labels, world=world)
        history.append({"epoch": epoch, "train_loss": world.sum(running_loss) / len(train_x), "val_accuracy": val_accuracy})
        if progress:
            tqdm.write(f"{config.model_id} epoch {epoch}: loss {history[-1]['train_loss']:.4f}, val acc {val_accuracy:.4f}")
        if val_accuracy > best_accuracy:
            best_accuracy, best_epoch, stale = val_accuracy, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= config.patience:
                break
    model.load_state_dict(best_state)
    test_accuracy = accuracy(card, test_set.float_images(), test_set.labels, world=world)
    if not world.is_main:
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{config.model_id}.safetensors"
    sha256 = save_state_dict(model.state_dict(), out_dir / file_name)
    entry = {
        "id": config.model_id,
        "arch": config.arch,
        "dataset": config.dataset,
        "classes": card.classes,
        "in_channels": channels,
        "input_size": list(card.input_size),
        "mean": list(card.mean),
        "std": list(card.std),
        "seed": config.seed,
        "parameters": count_parameters(model),
        "file": file_name,
        "sha256": sha256,
        "metrics": {
            "test_accuracy": round(test_accuracy, 4),
            "val_accuracy": round(best_accuracy, 4),
            "best_epoch": best_epoch,
            "epochs_run": len(history),
            "n_train": len(train_x),
            "n_synthetic": 0 if synthetic is None else len(synthetic[1]),
            "n_test": len(test_set),
        },
        "history": history,
        "training": asdict(config),
        "command": config.command(out_dir),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    write_manifest_entry(out_dir, entry)
    return entry


def shipped_checkpoint_configs() -> list[TrainConfig]:
    """The CNNs committed under checkpoints/ (``python -m xai_core reproduce-checkpoints`` retrains them)."""
    configs = []
    for dataset, epochs in (("mnist", 12), ("glyphs", 10), ("shapes", 12)):
        configs += [TrainConfig(dataset, arch, seed=0, epochs=epochs) for arch in ("vgg", "resnet", "mobilenet")]
    # 1,437 training digits: mobilenet needs many more (short) epochs than the others to get going
    configs += [TrainConfig("digits", arch, seed=0, epochs=15) for arch in ("vgg", "resnet")]
    configs.append(TrainConfig("digits", "mobilenet", seed=0, epochs=60, patience=10))
    configs += [TrainConfig("fashion_mnist", arch, seed=0, epochs=10, max_train=6000) for arch in ("vgg", "resnet", "mobilenet")]
    configs += [TrainConfig("shapes_biased", arch, seed=0, epochs=8) for arch in ("vgg", "resnet", "mobilenet")]
    # the unseen symbol set of the SFT-GAN paper's §4.3.5 (its Tamil characters): in neither generator strategy
    configs.append(TrainConfig("glyphs_cjk", "vgg", seed=0, epochs=10))
    return configs
