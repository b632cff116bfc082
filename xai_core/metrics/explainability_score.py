"""The explainability score: one documented number with its parts (defined in docs/explainability_score.md).

The unified XAI framework paper (Table 2) reports 61 (CNN), 54 (GAN) and 79 (unified framework) but
never defines the score. Ours, for a system that produces a set of explanations:

    score = 100 * sum_k w_k * part_k / sum_k w_k,  parts in [0, 1]:
    fidelity (w 0.4), localisation (w 0.3), robustness (w 0.3), human preference (w 0.25, only when
    survey data exists). Each part is the mean over the explanations the system provides.

* CNN explanations (a map per image, evaluated on images with a foreground mask):
  fidelity = 1 - average drop / 100; localisation = share of the map's mass on the foreground
  (energy pointing game); robustness = Spearman correlation (clipped at 0) between the maps of the
  clean image and of a copy with 10% salt-and-pepper noise.
* GAN explanations (latent sensitivities of a generator):
  fidelity = 1 - relative error of the first-order prediction J e_i of a unit latent step on the actual
  change G(z + e_i) - G(z), over the top-k dimensions; localisation = share of the per-sample
  sensitivity mass sum_i |dG/dz_i| on the generated foreground; robustness = Spearman correlation
  (clipped at 0) of the sensitivity rankings from two independent latent samples.
* Systems: CNN-only = Grad-CAM maps on real images; GAN-only = latent sensitivities; unified = the
  unified layer's aggregated map (normalised mean of Grad-CAM and LSFT) on real and on generated images
  of the same classes, together with the latent sensitivities.

Foreground: the dataset's mask on real images; pixels brighter than 0.5 on generated ones, which
matches the stroke masks of the symbol datasets (mnist, glyphs) where the score is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import jvp

from ..attribution.agreement import rank_correlation
from ..data import load_dataset
from ..explainers import explain
from ..generative.dcgan import LatentGenerator, sample_latents
from ..generative.latent import latent_stability
from ..generative.training import grid_labels
from ..models.card import ModelCard
from ..spread import sample_std
from .faithfulness import average_drop, maps_like
from .localisation import energy_pointing_game
from .robustness import salt_and_pepper

PART_WEIGHTS = {"fidelity": 0.4, "localisation": 0.3, "robustness": 0.3}
HUMAN_PREFERENCE_WEIGHT = 0.25
NOISE_AMOUNT = 0.1
FOREGROUND_THRESHOLD = 0.5
SYSTEMS = ("CNN only", "GAN only", "Unified framework")
AGGREGATED_METHODS = ("grad_cam", "lsft")


def explainability_score(parts: dict[str, float], human_preference: float | None = None) -> float:
    """100 * weighted mean of the parts in [0, 1] (human preference joins with weight 0.25 when given)."""
    weights = dict(PART_WEIGHTS)
    values = {name: parts[name] for name in PART_WEIGHTS}
    if human_preference is not None:
        weights["human_preference"], values["human_preference"] = HUMAN_PREFERENCE_WEIGHT, human_preference
    for name, value in values.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"part {name} must lie in [0, 1], got {value}")
    return 100 * sum(weights[n] * values[n] for n in weights) / sum(weights.values())


def map_parts(
    card: ModelCard,
    images: torch.Tensor,
    masks: torch.Tensor,
    targets: torch.Tensor,
    explain_maps: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    seed: int = 0,
) -> dict[str, float]:
    """Fidelity, localisation and robustness of a map explainer on images [N,C,H,W] with masks [N,1,H,W]."""
    maps = maps_like(images, explain_maps(images, targets))
    noisy = maps_like(images, explain_maps(salt_and_pepper(images, NOISE_AMOUNT, seed), targets))
    return {
        "fidelity": 1 - average_drop(card, images, maps, targets) / 100,
        "localisation": float(energy_pointing_game(maps, masks).mean()),
        "robustness": float(rank_correlation(noisy, maps).clamp(min=0).mean()),
    }


def method_maps(card: ModelCard, methods: tuple[str, ...]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """images, targets -> the normalised mean of ``methods``' maps (one method: its map), Tensor[N,1,h,w]."""

    def maps(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        results = explain(card, images, list(methods), targets)
        return torch.stack([results[m] for m in methods]).mean(dim=0)

    return maps


def generated_foreground(images: torch.Tensor) -> torch.Tensor:
    """Foreground of generated images [N,C,H,W]: mean over channels > 0.5, Tensor[N,1,H,W] float."""
    return (images.mean(dim=1, keepdim=True) > FOREGROUND_THRESHOLD).float()


def sensitivity_parts(generator: LatentGenerator, samples: int = 128, top_k: int = 8, seed: int = 0) -> dict[str, float]:
    """Fidelity, localisation and robustness of the generator's latent sensitivities (see module docstring)."""
    latents = sample_latents(samples, generator.latent_dim, seed)
    labels = grid_labels(generator.num_classes, samples) if generator.conditional else None

    def render(z: torch.Tensor) -> torch.Tensor:
        return generator(z, labels)

    with torch.no_grad():
        images = render(latents)
        norms, errors, mass = [], [], torch.zeros(samples, 1, *images.shape[-2:])
        for i in range(generator.latent_dim):
            step = torch.zeros_like(latents)
            step[:, i] = 1.0
            _, derivative = jvp(render, (latents,), (step,))
            actual = render(latents + step) - images
            norms.append(derivative.flatten(1).norm(dim=1).mean())
            errors.append(
                ((actual - derivative).flatten(1).norm(dim=1) / actual.flatten(1).norm(dim=1).clamp(min=1e-12)).clamp(max=1).mean()
            )
            mass += derivative.abs().sum(dim=1, keepdim=True)
    top = torch.argsort(torch.stack(norms), descending=True)[:top_k]
    stability = latent_stability(render, generator.latent_dim, samples=samples, seeds=(seed, seed + 100))
    return {
        "fidelity": float(1 - torch.stack(errors)[top].mean()),
        "localisation": float(energy_pointing_game(mass, generated_foreground(images)).mean()),
        "robustness": max(0.0, stability.rank_correlation),
    }


@dataclass
class ScoreRow:
    system: str
    seed: int
    parts: dict[str, float]

    @property
    def score(self) -> float:
        return explainability_score(self.parts)


def mean_parts(*part_sets: dict[str, float]) -> dict[str, float]:
    return {name: float(np.mean([parts[name] for parts in part_sets])) for name in PART_WEIGHTS}


def score_systems(
    card: ModelCard,
    generator: LatentGenerator,
    dataset: str,
    images_per_seed: int = 100,
    seeds: tuple[int, ...] = (0, 1, 2),
    progress: Callable[[float, str], None] | None = None,
) -> list[ScoreRow]:
    """The three systems' parts and scores per seed on ``dataset`` (which needs masks), with the
    conditional ``generator`` of that dataset providing generated images of the same classes."""
    if not generator.conditional:
        raise ValueError("the unified system explains generated images of known classes: use a conditional GAN")
    test = load_dataset(dataset, "test")
    if test.masks is None:
        raise ValueError(f"{dataset} has no foreground masks: localisation cannot be measured")
    rows = []
    for done, seed in enumerate(seeds):
        if progress:
            progress(done / len(seeds), f"seed {seed}")
        order = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))[:images_per_seed]
        images, masks, targets = test.float_images(order), test.masks[order].float(), test.labels[order]
        with torch.no_grad():
            generated = generator(sample_latents(len(targets), generator.latent_dim, seed + 10_000), targets)
        cnn = map_parts(card, images, masks, targets, method_maps(card, ("grad_cam",)), seed)
        gan = sensitivity_parts(generator, seed=seed)
        aggregated = method_maps(card, AGGREGATED_METHODS)
        unified_real = map_parts(card, images, masks, targets, aggregated, seed)
        unified_generated = map_parts(card, generated, generated_foreground(generated), targets, aggregated, seed)
        rows += [
            ScoreRow("CNN only", seed, cnn),
            ScoreRow("GAN only", seed, gan),
            ScoreRow("Unified framework", seed, mean_parts(unified_real, unified_generated, gan)),
        ]
    if progress:
        progress(1.0, "done")
    return rows


def summarise_scores(rows: list[ScoreRow]) -> list[dict]:
    """Per system: score and each part as mean and sample std over seeds."""
    summary = []
    for system in SYSTEMS:
        chosen = [row for row in rows if row.system == system]
        if not chosen:
            continue
        entry = {
            "system": system,
            "score_mean": float(np.mean([r.score for r in chosen])),
            "score_std": sample_std([r.score for r in chosen]),
            "seeds": len(chosen),
        }
        for part in PART_WEIGHTS:
            values = [r.parts[part] for r in chosen]
            entry[f"{part}_mean"], entry[f"{part}_std"] = float(np.mean(values)), sample_std(values)
        summary.append(entry)
    return summary
