"""Seeded training of the captioner with teacher forcing, and its held-out scores: corpus BLEU-4
(Papineni et al., ACL 2002) and exact caption match, written into the checkpoint manifest."""

from __future__ import annotations

import math
import platform
import re
import shlex
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.captioning import decode, load_captioning
from ..models.checkpoints import USER_CHECKPOINT_DIR, out_dir_arguments, save_state_dict, write_manifest_entry
from ..models.registry import load_model
from ..models.zoo import count_parameters
from .model import Captioner, encoder_state_from_classifier, sequence_loss


@dataclass
class CaptionerConfig:
    """``encoder_from``: a zoo classifier (same architecture) whose conv weights start the encoder; "" trains from scratch."""

    encoder: str = "resnet"
    encoder_from: str = "resnet-shapes"
    seed: int = 0
    epochs: int = 12
    batch_size: int = 64
    lr: float = 2e-3
    max_train: int | None = None
    captioner_id: str = ""

    def __post_init__(self) -> None:
        if not self.captioner_id:
            self.captioner_id = f"captioner-{self.encoder}"
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.captioner_id):
            raise ValueError(f"captioner id {self.captioner_id!r} may only hold letters, digits, '_', '.' and '-'")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs and batch size must be at least 1 and the learning rate positive")

    def command(self, out_dir: str | Path = USER_CHECKPOINT_DIR) -> str:
        args = [
            "python",
            "-m",
            "xai_core",
            "train-captioner",
            "--encoder",
            self.encoder,
            "--encoder-from",
            self.encoder_from or "none",
            "--seed",
            str(self.seed),
            "--epochs",
            str(self.epochs),
            "--batch-size",
            str(self.batch_size),
            "--lr",
            str(self.lr),
        ]
        if self.max_train is not None:
            args += ["--max-train", str(self.max_train)]
        if self.captioner_id != f"captioner-{self.encoder}":
            args += ["--id", self.captioner_id]
        return shlex.join(args + out_dir_arguments(out_dir))


SHIPPED_CAPTIONER = CaptionerConfig()


def corpus_bleu(references: Sequence[Sequence[str]], hypotheses: Sequence[Sequence[str]], max_n: int = 4) -> float:
    """Corpus BLEU with one reference per hypothesis: brevity penalty x geometric mean of the clipped
    n-gram precisions, n = 1..max_n (0 when any precision is 0). In [0, 1]."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references for {len(hypotheses)} hypotheses")
    matched, total = [0] * max_n, [0] * max_n
    reference_length = hypothesis_length = 0
    for reference, hypothesis in zip(references, hypotheses):
        reference_length += len(reference)
        hypothesis_length += len(hypothesis)
        for n in range(1, max_n + 1):
            hypothesis_ngrams = Counter(tuple(hypothesis[i : i + n]) for i in range(len(hypothesis) - n + 1))
            reference_ngrams = Counter(tuple(reference[i : i + n]) for i in range(len(reference) - n + 1))
            matched[n - 1] += sum(min(count, reference_ngrams[gram]) for gram, count in hypothesis_ngrams.items())
            total[n - 1] += sum(hypothesis_ngrams.values())
    if hypothesis_length == 0 or min(matched) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matched, total)) / max_n
    brevity = 1.0 if hypothesis_length > reference_length else math.exp(1 - reference_length / hypothesis_length)
    return brevity * math.exp(log_precision)


def images_as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255)


@torch.inference_mode()
def caption_images(captioner: Captioner, images: torch.Tensor, batch_size: int = 250) -> list[list[str]]:
    """Greedy captions (word lists) for images uint8 or float Tensor[N, 3, H, W]."""
    captioner.eval()
    words: list[list[str]] = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        batch = images_as_float(batch) if batch.dtype == torch.uint8 else batch
        words += [decode(row) for row in captioner.generate(batch)]
    return words


@torch.inference_mode()
def evaluate_captioner(captioner: Captioner, split: str = "test") -> dict:
    """Held-out figures: BLEU-4, exact-match rate, teacher-forced loss, and the number of captions."""
    data = load_captioning(split)
    generated = caption_images(captioner, data.images)
    references = [caption.split() for caption in data.captions]
    loss = sequence_loss(captioner(images_as_float(data.images), data.token_ids[:, :-1]), data.token_ids[:, 1:])
    return {
        "bleu4": round(corpus_bleu(references, generated), 4),
        "exact_match": round(sum(g == r for g, r in zip(generated, references)) / len(references), 4),
        "test_loss": round(float(loss), 5),
        "n_test": len(references),
    }


def build_captioner(config: CaptionerConfig) -> Captioner:
    """A fresh captioner; with ``encoder_from`` its encoder starts from that zoo classifier's conv weights and normalisation."""
    if not config.encoder_from:
        return Captioner(config.encoder)
    card = load_model(config.encoder_from)
    if card.arch != config.encoder or card.in_channels != 3:
        raise ValueError(
            f"{config.encoder_from} is a {card.in_channels}-channel {card.arch}; the encoder needs a 3-channel {config.encoder}"
        )
    captioner = Captioner(config.encoder, mean=card.mean, std=card.std)
    captioner.encoder.load_state_dict(encoder_state_from_classifier(config.encoder, card.model.state_dict()))
    return captioner


def train_captioner(config: CaptionerConfig, out_dir: str | Path = USER_CHECKPOINT_DIR, progress: bool = True) -> dict:
    """Train on the captioning train split (teacher forcing, Adam, cosine learning rate), score on the
    test split, save safetensors + a ``captioners`` manifest entry in ``out_dir``; returns the entry.
    Deterministic for a seed on CPU."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    data = load_captioning("train")
    count = len(data) if config.max_train is None else min(config.max_train, len(data))
    images, tokens = data.images[:count], data.token_ids[:count]
    captioner = build_captioner(config)
    optimiser = torch.optim.Adam(captioner.parameters(), lr=config.lr)
    steps_per_epoch = math.ceil(count / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    history = []
    bar = tqdm(total=config.epochs * steps_per_epoch, desc=f"train {config.captioner_id}", disable=not progress, unit="batch")
    for epoch in range(1, config.epochs + 1):
        captioner.train()
        order = torch.randperm(count, generator=generator)
        total = 0.0
        for start in range(0, count, config.batch_size):
            batch = order[start : start + config.batch_size]
            loss = sequence_loss(captioner(images_as_float(images[batch]), tokens[batch, :-1]), tokens[batch, 1:])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(captioner.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            total += loss.item() * len(batch)
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}")
        history.append({"epoch": epoch, "train_loss": total / count})
    bar.close()
    captioner.eval()
    metrics = evaluate_captioner(captioner)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{config.captioner_id}.safetensors"
    digest = save_state_dict(captioner.state_dict(), out_dir / file_name)
    entry = {
        "id": config.captioner_id,
        "architecture": captioner.architecture(),
        "dataset": "captioning",
        "encoder_from": config.encoder_from,
        "seed": config.seed,
        "parameters": count_parameters(captioner),
        "file": file_name,
        "sha256": digest,
        "metrics": {**metrics, "n_train": count, "epochs_run": config.epochs},
        "history": history,
        "training": asdict(config),
        "command": config.command(out_dir),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
    }
    write_manifest_entry(out_dir, entry, section="captioners")
    return entry
