"""Synthetic augmentation with a class-conditional GAN, and a bias audit of explanations on real vs
synthetic images (unified XAI framework paper §1.3 and Table 2: the framework's CNN is trained with
GAN augmentation; §4.3: explanations expose biases synthetic data may bring).

* Augmentation: the same CNN recipe (``train_cnn``) trained on the real training images alone and on
  real + conditional-GAN samples (balanced over classes), test accuracy mean +- std over seeds.
* Bias audit: for each class, the distributions of explanation metrics of the domain CNN on real test
  images and on GAN images of that class, compared by a two-sample Kolmogorov-Smirnov test.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import ks_2samp

from ..data import load_dataset
from ..explainers import explain
from ..generative.dcgan import LatentGenerator
from ..generative.training import generate, grid_labels
from ..models.card import ModelCard
from ..models.training import TrainConfig, train_cnn
from ..spread import sample_std
from .faithfulness import drop_percentages, energy_confidences, maps_like, target_probabilities

Progress = Callable[[float, str], None]
FOREGROUND_THRESHOLD = 0.5


@dataclass
class AugmentationSettings:
    dataset: str
    gan_id: str
    arch: str = "vgg"
    seeds: tuple[int, ...] = (0, 1, 2)
    real_images: int = 1000
    synthetic_images: int = 1000
    epochs: int = 10


def synthetic_training_set(generator: LatentGenerator, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` conditional-GAN samples with balanced labels: (images [count, C, S, S] in [0, 1], labels [count])."""
    if not generator.conditional:
        raise ValueError("augmentation needs a class-conditional GAN (labels for the samples)")
    labels = grid_labels(generator.num_classes, count)
    return generate(generator, count, seed, labels), labels


def run_augmentation(settings: AugmentationSettings, generator: LatentGenerator, progress: Progress | None = None) -> list[dict]:
    """Rows ``{condition: "real" | "real + GAN", seed, test_accuracy, n_real, n_synthetic}``, one per (condition, seed).

    Both conditions share the seed's real subset, validation split and schedule; only the added
    GAN samples (drawn with the same seed) differ.
    """
    rows = []
    runs = [(seed, condition) for seed in settings.seeds for condition in ("real", "real + GAN")]
    with tempfile.TemporaryDirectory() as scratch:
        for done, (seed, condition) in enumerate(runs):
            if progress:
                progress(done / len(runs), f"seed {seed}: training on {condition}")
            config = TrainConfig(
                settings.dataset,
                settings.arch,
                seed=seed,
                epochs=settings.epochs,
                patience=settings.epochs,
                max_train=settings.real_images,
                model_id=f"augmentation-{seed}",
            )
            synthetic = synthetic_training_set(generator, settings.synthetic_images, seed) if condition != "real" else None
            entry = train_cnn(config, out_dir=scratch, progress=False, synthetic=synthetic)
            rows.append(
                {
                    "condition": condition,
                    "seed": seed,
                    "test_accuracy": entry["metrics"]["test_accuracy"],
                    "n_real": entry["metrics"]["n_train"] - entry["metrics"]["n_synthetic"],
                    "n_synthetic": entry["metrics"]["n_synthetic"],
                }
            )
    if progress:
        progress(1.0, "done")
    return rows


def summarise_augmentation(rows: list[dict]) -> list[dict]:
    """Per condition: accuracy mean and sample std over seeds, and the number of seeds."""
    summary = []
    for condition in dict.fromkeys(row["condition"] for row in rows):
        values = np.array([row["test_accuracy"] for row in rows if row["condition"] == condition])
        summary.append(
            {"condition": condition, "accuracy_mean": float(values.mean()), "accuracy_std": sample_std(values), "seeds": len(values)}
        )
    return summary


AUDIT_METRICS = {
    "confidence": "probability of the class",
    "drop": "average drop % when only the Grad-CAM-weighted image is kept",
    "background_mass": "share of the Grad-CAM mass outside the foreground (pixels > 0.5)",
    "concentration": "share of the Grad-CAM mass in its top 10% pixels",
}


def explanation_statistics(
    card: ModelCard, images: torch.Tensor, labels: torch.Tensor, method: str = "grad_cam"
) -> dict[str, torch.Tensor]:
    """Per image: the AUDIT_METRICS of ``method``'s map for the class label. images [N, C, H, W] in [0, 1]."""
    maps = explain(card, images, [method], labels)[method]
    maps = maps_like(images, maps)
    confidence = target_probabilities(card, images, labels)
    energy = energy_confidences(card, images, maps, labels)
    foreground = (images.mean(dim=1, keepdim=True) > FOREGROUND_THRESHOLD).float()
    mass = maps.flatten(1).sum(1).clamp(min=1e-12)
    flat = maps.flatten(1)
    top = flat.topk(max(1, flat.shape[1] // 10), dim=1).values.sum(1)
    return {
        "confidence": confidence,
        "drop": drop_percentages(confidence, energy),
        "background_mass": (maps * (1 - foreground)).flatten(1).sum(1) / mass,
        "concentration": top / mass,
    }


def bias_audit(
    card: ModelCard,
    generator: LatentGenerator,
    dataset: str,
    per_class: int = 50,
    seed: int = 0,
    method: str = "grad_cam",
    progress: Progress | None = None,
) -> list[dict]:
    """Rows ``{class, metric, real_mean, real_std, synthetic_mean, synthetic_std, ks_statistic, p_value}``
    comparing ``method``'s explanations on real test images and GAN images of each class."""
    test = load_dataset(dataset, "test")
    rows = []
    for label, name in enumerate(test.classes):
        if progress:
            progress(label / len(test.classes), f"class {name}")
        indices = torch.tensor(test.indices_of_class(label)[:per_class])
        real = test.float_images(indices)
        synthetic = generate(generator, len(indices), seed * 1000 + label, torch.full((len(indices),), label))
        labels = torch.full((len(indices),), label)
        real_stats, synthetic_stats = (explanation_statistics(card, images, labels, method) for images in (real, synthetic))
        for metric in AUDIT_METRICS:
            a, b = real_stats[metric].double().numpy(), synthetic_stats[metric].double().numpy()
            test_result = ks_2samp(a, b)
            rows.append(
                {
                    "class": name,
                    "metric": metric,
                    "real_mean": float(a.mean()),
                    "real_std": sample_std(a),
                    "synthetic_mean": float(b.mean()),
                    "synthetic_std": sample_std(b),
                    "ks_statistic": float(test_result.statistic),
                    "p_value": float(test_result.pvalue),
                }
            )
    if progress:
        progress(1.0, "done")
    return rows
