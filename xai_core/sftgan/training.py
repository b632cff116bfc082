"""Seeded, resumable SFT-GAN training; the same code path runs alone or under ``torchrun`` (DDP over gloo).

Source: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §3.2 and §4.1.
Generator loss = lambda * MSE (or L1) to the final-layer Grad-CAM + adversarial BCE; the
conditional PatchGAN discriminator is trained with BCE-with-logits on (image, map) pairs.
"""

from __future__ import annotations

import json
import platform
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tqdm.auto import tqdm

from ..attribution.agreement import dice
from ..attribution.layers import DEFAULT_ETA
from ..models.checkpoints import (
    REPOSITORY_ROOT,
    USER_CHECKPOINT_DIR,
    changed_option_arguments,
    load_run_state,
    out_dir_arguments,
    save_run_state,
    save_state_dict,
    write_manifest_entry,
)
from ..models.distributed import distributed_context
from ..models.zoo import count_parameters
from .data import DEFAULT_CACHE_DIR, GENERATOR_MAX_SIDE, STRATEGIES, Pair, Shard, build_pairs, strategy_pairs, training_batches
from .networks import GENERATOR_KINDS, PatchDiscriminator, SFTGenerator

RUN_DIR = REPOSITORY_ROOT / "runs" / "sftgan"
BEST_WEIGHTS = "best.safetensors"
PHOTO_EPOCHS = 12
RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


@dataclass
class SFTGANConfig:
    kind: str
    strategy: str
    seed: int = 0
    epochs: int = 6
    batch_size: int = 32
    lr: float = 2e-4
    lambda_reconstruction: float = 100.0
    reconstruction: str = "mse"
    channels: int = 24
    condition_channels: int = 16
    eta: int = DEFAULT_ETA
    per_pair: int = 1000
    holdout_fraction: float = 0.2
    generator_id: str = ""
    pairs: list[str] = field(default_factory=list)  # MODEL@DATASET; instead of a strategy
    max_side: int = GENERATOR_MAX_SIDE  # the generator's working size (longer side); maps are upsampled after
    keep_best: bool = False  # ship the epoch with the best held-out Dice (then report a test split too: it was selected on)
    data_seed: int | None = None  # the seed of the sample and the held-out split; None: ``seed`` (repeats over seeds may fix it)

    def __post_init__(self) -> None:
        if self.kind not in GENERATOR_KINDS:
            raise ValueError(f"kind must be one of {', '.join(GENERATOR_KINDS)}, got {self.kind!r}")
        self.pairs = list(self.pairs)
        if bool(self.strategy) == bool(self.pairs):
            raise ValueError("give a strategy or pairs (MODEL@DATASET ...), not both and not neither")
        if self.strategy and self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        parsed = [Pair.parse(text) for text in self.pairs]
        if self.reconstruction not in RECONSTRUCTION_LOSSES:
            raise ValueError(f"reconstruction loss must be one of {', '.join(RECONSTRUCTION_LOSSES)}")
        if not 16 <= self.max_side <= 512:
            raise ValueError(f"the generator's input size must be 16-512 pixels, got {self.max_side}")
        if not self.generator_id:
            models = sorted({pair.model_id for pair in parsed})
            self.generator_id = f"{self.kind}-{self.strategy or (models[0] if len(models) == 1 else 'custom')}"

    def training_pairs(self) -> list[Pair]:
        """The (dataset, CNN) pairs this generator learns from: the strategy's, or the ones given."""
        return [Pair.parse(text) for text in self.pairs] if self.pairs else strategy_pairs(self.strategy)

    def command(self, out_dir: str | Path = USER_CHECKPOINT_DIR) -> str:
        """The ``train-sftgan`` command line that reproduces this run into ``out_dir``."""
        defaults = SFTGANConfig(self.kind, self.strategy, pairs=self.pairs)
        source = ["--pairs", *self.pairs] if self.pairs else ["--strategy", self.strategy]
        args = [
            "python",
            "-m",
            "xai_core",
            "train-sftgan",
            "--kind",
            self.kind,
            *source,
            "--seed",
            str(self.seed),
            "--epochs",
            str(self.epochs),
        ]
        options = {
            "batch_size": "--batch-size",
            "lr": "--lr",
            "lambda_reconstruction": "--lambda",
            "reconstruction": "--reconstruction",
            "channels": "--channels",
            "condition_channels": "--condition-channels",
            "eta": "--eta",
            "per_pair": "--per-pair",
            "holdout_fraction": "--holdout-fraction",
            "max_side": "--input-size",
            "data_seed": "--data-seed",
            "generator_id": "--id",
        }
        args += changed_option_arguments(self, defaults, options) + (["--keep-best"] if self.keep_best else [])
        return shlex.join(args + out_dir_arguments(out_dir))

    def build_generator(self) -> SFTGenerator:
        return SFTGenerator(self.kind, self.eta, self.channels, self.condition_channels)


@contextmanager
def frozen(module: torch.nn.Module) -> Iterator[None]:
    """Parameters of ``module`` do not collect gradients inside the block."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for parameter, flag in zip(module.parameters(), flags):
            parameter.requires_grad_(flag)


@torch.inference_mode()
def validate(generator: SFTGenerator, shards: list[Shard], batch_size: int = 256) -> dict:
    """MSE and Dice (binarised at 127) of the generator's maps against the final-layer Grad-CAM,
    on held-out-class samples: overall and per pair."""
    was_training = generator.training
    generator.eval()
    squared, dices, per_pair = [], [], {}
    for shard in shards:
        rows = shard.rows(heldout=True)
        pair_squared, pair_dice = [], []
        for start in range(0, len(rows), batch_size):
            image, cgmas, target = shard.batch(rows[start : start + batch_size])
            generated = generator(image, cgmas)
            pair_squared.append((generated - target).pow(2).flatten(1).mean(1))
            pair_dice.append(dice(generated, target))
        if pair_squared:
            pair_squared_t, pair_dice_t = torch.cat(pair_squared), torch.cat(pair_dice)
            per_pair[shard.pair.model_id] = {
                "mse": round(float(pair_squared_t.mean()), 5),
                "dice": round(float(pair_dice_t.mean()), 4),
                "n": len(rows),
            }
            squared.append(pair_squared_t)
            dices.append(pair_dice_t)
    generator.train(was_training)
    return {
        "val_mse": float(torch.cat(squared).mean()),
        "val_dice": float(torch.cat(dices).mean()),
        "n_val": sum(len(s) for s in squared),
        "per_pair": per_pair,
    }


CHECK_ROWS = 24  # validation samples whose figures a test recomputes from scratch (see tests/sftgan/test_shipped.py)


@torch.inference_mode()
def check_subset(generator: SFTGenerator, shard: Shard, count: int = CHECK_ROWS) -> dict:
    """Dice and MSE of ``generator`` on the first ``count`` validation samples of ``shard``, with their indices in the
    dataset's train split: a small, pinned figure anyone can recompute without rebuilding the whole shard."""
    rows = shard.rows(heldout=True)[:count]
    image, cgmas, target = shard.batch(rows)
    was_training = generator.training
    generated = generator.eval()(image, cgmas)
    generator.train(was_training)
    return {
        "pair": str(shard.pair),
        "rows": shard.row[rows].tolist(),
        "dice": round(float(dice(generated, target).mean()), 4),
        "mse": round(float((generated - target).pow(2).mean()), 5),
    }


@dataclass
class TrainingState:
    epoch: int = 0
    history: list[dict] = field(default_factory=list)


def save_loss_curves(history: list[dict], path: Path) -> None:
    """Per-epoch losses and validation MSE/Dice as a PNG (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for axis, keys, title in (
        (axes[0], ("loss_g", "loss_d"), "losses"),
        (axes[1], ("reconstruction", "val_mse"), "MSE to Grad-CAM"),
        (axes[2], ("val_dice",), "held-out Dice vs Grad-CAM"),
    ):
        for key in keys:
            axis.plot(epochs, [h[key] for h in history], marker="o", label=key)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def train_sftgan(
    config: SFTGANConfig,
    out_dir: str | Path = USER_CHECKPOINT_DIR,
    run_dir: str | Path | None = None,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    resume: bool = True,
    progress: bool = True,
    shards: list[Shard] | None = None,
) -> dict:
    """Train one generator; write its safetensors and manifest entry (section ``generators``) to ``out_dir``.
    Long: one seeded, resumable training loop (the order of random draws is the contract DDP, resuming and
    reproducibility rest on) reads best in one place.

    Per epoch: validation MSE/Dice on held-out classes, ``history.json``, ``loss_curves.png`` and a
    resumable ``state.pt`` in ``run_dir``. Under ``torchrun`` every rank trains on its share of
    the batches and rank 0 validates and writes. Returns the manifest entry.
    """
    run_dir = Path(run_dir) if run_dir is not None else RUN_DIR / f"{config.generator_id}-seed{config.seed}"
    with distributed_context() as world:
        torch.manual_seed(config.seed)
        if shards is None:
            pairs = config.training_pairs()
            if not pairs:
                raise RuntimeError(f"no dataset of the {config.strategy} strategy is available")
            options = {
                "per_pair": config.per_pair,
                "holdout_fraction": config.holdout_fraction,
                "seed": config.seed if config.data_seed is None else config.data_seed,
                "eta": config.eta,
                "max_side": config.max_side,
            }
            if world.is_main:  # one process builds the cache, the others read it
                build_pairs(pairs, cache_dir, progress=progress, **options)
            world.barrier()
            shards = build_pairs(pairs, cache_dir, progress=False, **options)
        generator, discriminator = config.build_generator(), PatchDiscriminator()
        optimiser_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=(0.5, 0.999))
        optimiser_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=(0.5, 0.999))
        run_dir.mkdir(parents=True, exist_ok=True)
        modules = {"generator": generator, "discriminator": discriminator, "optimiser_g": optimiser_g, "optimiser_d": optimiser_d}
        saved = load_run_state(run_dir, asdict(config), modules) if resume else None
        state = TrainingState(int(saved["epoch"]), saved["history"]) if saved else TrainingState()
        train_g, train_d = world.prepare(generator), world.prepare(discriminator)
        reconstruction_loss = RECONSTRUCTION_LOSSES[config.reconstruction]
        history = state.history
        for epoch in range(state.epoch + 1, config.epochs + 1):
            started = time.perf_counter()
            batches = list(training_batches(shards, config.batch_size, config.seed, epoch, world.rank, world.world_size))
            totals = {"loss_g": 0.0, "loss_d": 0.0, "reconstruction": 0.0, "adversarial": 0.0}
            bar = tqdm(
                batches, desc=f"{config.generator_id} epoch {epoch}/{config.epochs}", disable=not (progress and world.is_main), leave=False
            )
            for shard, rows in bar:
                image, cgmas, target = shard.batch(rows)
                generated = train_g(image, cgmas)
                # discriminator: real (image, Grad-CAM) vs generated, one forward for both halves
                logits = train_d(torch.cat([image, image]), torch.cat([target, generated.detach()]))
                labels = torch.cat([torch.ones_like(logits[: len(rows)]), torch.zeros_like(logits[len(rows) :])])
                loss_d = F.binary_cross_entropy_with_logits(logits, labels)
                optimiser_d.zero_grad(set_to_none=True)
                loss_d.backward()
                optimiser_d.step()
                # generator: imitate the final-layer Grad-CAM and fool the discriminator
                with frozen(discriminator):
                    fooled = discriminator(image, generated)
                adversarial = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
                reconstruction = reconstruction_loss(generated, target)
                loss_g = config.lambda_reconstruction * reconstruction + adversarial
                optimiser_g.zero_grad(set_to_none=True)
                loss_g.backward()
                optimiser_g.step()
                for name, value in (
                    ("loss_g", loss_g),
                    ("loss_d", loss_d),
                    ("reconstruction", reconstruction),
                    ("adversarial", adversarial),
                ):
                    totals[name] += value.item()
                bar.set_postfix(mse=f"{reconstruction.item():.4f}", d=f"{loss_d.item():.3f}")
            record = {
                "epoch": epoch,
                **{k: world.mean(v / max(1, len(batches))) for k, v in totals.items()},
                "seconds": round(time.perf_counter() - started, 1),
            }
            if world.is_main:
                validation = validate(generator, shards)
                record.update(
                    val_mse=validation["val_mse"],
                    val_dice=validation["val_dice"],
                    val_dice_per_pair={model: figures["dice"] for model, figures in validation["per_pair"].items()},
                )
                history.append(record)
                if config.keep_best and record["val_dice"] >= max(h["val_dice"] for h in history):
                    save_state_dict(generator.state_dict(), run_dir / BEST_WEIGHTS)
                if progress:
                    tqdm.write(
                        f"{config.generator_id} epoch {epoch}: mse {record['reconstruction']:.4f}, "
                        f"val mse {record['val_mse']:.4f}, val dice {record['val_dice']:.3f} ({record['seconds']} s)"
                    )
                save_run_state(run_dir, asdict(config), history, modules)
                (run_dir / "history.json").write_text(json.dumps(history, indent=2) + "\n")
                save_loss_curves(history, run_dir / "loss_curves.png")
            world.barrier()
        if config.keep_best and world.is_main and (run_dir / BEST_WEIGHTS).is_file():
            generator.load_state_dict(load_file(str(run_dir / BEST_WEIGHTS)))
        entry = _write_generator(config, generator, shards, history, Path(out_dir)) if world.is_main else {}
        world.barrier()
        return entry


def _write_generator(config: SFTGANConfig, generator: SFTGenerator, shards: list[Shard], history: list[dict], out_dir: Path) -> dict:
    validation = validate(generator, shards)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{config.generator_id}.safetensors"
    sha256 = save_state_dict(generator.state_dict(), out_dir / file_name)
    entry = {
        "id": config.generator_id,
        "kind": config.kind,
        "strategy": config.strategy or "pairs",
        "architecture": generator.config(),
        "max_side": config.max_side,
        "pairs": [
            {
                "dataset": s.pair.dataset,
                "model": s.pair.model_id,
                "split": "train",
                "class_source": s.class_source,
                "heldout_classes": s.heldout_classes,
                **({"heldout_photos": s.heldout_groups} if s.heldout_groups else {}),
                "n_train": len(s.rows(heldout=False)),
                "n_val": len(s.rows(heldout=True)),
            }
            for s in shards
        ],
        "seed": config.seed,
        "parameters": count_parameters(generator),
        "file": file_name,
        "sha256": sha256,
        "metrics": {
            "val_mse": round(validation["val_mse"], 5),
            "val_dice": round(validation["val_dice"], 4),
            "n_val": validation["n_val"],
            "epochs_run": len(history),
            **({"best_epoch": max(history, key=lambda h: h["val_dice"])["epoch"]} if config.keep_best and history else {}),
            "per_pair": validation["per_pair"],
            **({"check": check_subset(generator, shards[0])} if shards[0].row is not None else {}),
        },
        "history": history,
        "training": asdict(config),
        "command": config.command(out_dir),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    write_manifest_entry(out_dir, entry, section="generators")
    return entry


# photos: every train view of photo_views (2,000); the small set makes training unsteady from epoch to epoch, so the
# epoch with the best held-out-photo Dice is kept (docs/results.md reports the never-seen test photos as well)
STRATEGY_SETTINGS = {"photos": {"per_pair": 2000, "epochs": PHOTO_EPOCHS, "keep_best": True}}


def shipped_generator_configs() -> list[SFTGANConfig]:
    """The generators committed under checkpoints/ (``reproduce-checkpoints --generators`` retrains them)."""
    return [
        SFTGANConfig(kind, strategy, seed=0, **STRATEGY_SETTINGS.get(strategy, {})) for strategy in STRATEGIES for kind in GENERATOR_KINDS
    ]
