"""The pinned GAN experiments behind docs/results.md (unified XAI framework paper, Table 2 and §4):
FID beside the real-vs-real baseline, within-class diversity, latent-explanation stability, synthetic augmentation, the bias
audit, TCAV and the explainability score. Each runs once per configuration (which includes the sha256
of the checkpoints it uses) and is cached as JSON under ``runs/gan-results``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..attribution.tcav import run_tcav
from ..data import load_dataset
from ..generative.dcgan import LatentGenerator, gan_info, load_gan
from ..generative.fid import PenultimateFeatures, extract_features, frechet_distance, gaussian_fit, seeded_subset
from ..generative.latent import latent_deletion, latent_sensitivity, latent_stability, pca_directions, sefa_directions
from ..generative.training import SHIPPED_GAN_DATASETS, generate, score_generator, scoring_sets
from ..models.checkpoints import REPOSITORY_ROOT
from ..models.registry import load_model, model_info
from ..spread import mean_std
from .augmentation import AugmentationSettings, bias_audit, run_augmentation, summarise_augmentation
from .explainability_score import ScoreRow, score_systems, summarise_scores
from .fid_yardsticks import YARDSTICKS, yardsticks_over_seeds

GAN_RESULTS_DIR = REPOSITORY_ROOT / "runs" / "gan-results"
REPORT_SEEDS = (0, 1, 2)
Progress = Callable[[float, str], None]


def cache_path(name: str, config: dict, root: Path | None = None) -> Path:
    """Where ``cached`` keeps (name, config): ``root`` (default ``GAN_RESULTS_DIR``, read at call time)."""
    return (root or GAN_RESULTS_DIR) / f"{name}-{hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]}.json"


def cached(name: str, config: dict, compute: Callable[[], Any], rerun: bool = False, root: Path | None = None) -> Any:
    """``compute()`` once per (name, config); the JSON result lives in ``root/<name>-<key>.json``."""
    path = cache_path(name, config, root)
    if path.exists() and not rerun:
        return json.loads(path.read_text())["result"]
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"name": name, "config": config, "result": result}, indent=1) + "\n")
    return result


def fid_over_seeds(gan_id: str, seeds: tuple[int, ...] = REPORT_SEEDS) -> dict:
    """FID and the real-vs-real baseline (mean and std over sampling seeds), plus class accuracy for conditional GANs."""
    info = gan_info(gan_id)
    feature_model = info["training"]["feature_model"]
    runs = [score_generator(load_gan(gan_id), info["dataset"], feature_model, seed) for seed in seeds]
    summary = {
        "fid": mean_std([r["fid"] for r in runs]),
        "fid_real_vs_real": mean_std([r["fid_real_vs_real"] for r in runs]),
        "n": runs[0]["fid_n"],
        "feature_network": runs[0]["fid_feature_network"],
    }
    if "class_accuracy" in runs[0]:
        summary["class_accuracy"] = mean_std([r["class_accuracy"] for r in runs])
    return summary


DIVERSITY_PER_CLASS = 100


def class_diversity(images: torch.Tensor, labels: torch.Tensor) -> float:
    """Within-class diversity of images Tensor[N, C, H, W] with labels Tensor[N]: per class, the standard deviation
    (n - 1) of each pixel over that class's images, averaged over pixels; then the mean over classes. 0 when every
    image of a class is the same (mode collapse)."""
    return float(torch.stack([images[labels == label].std(dim=0).mean() for label in labels.unique()]).mean())


def generated_class_diversity(generator: LatentGenerator, seed: int, per_class: int = DIVERSITY_PER_CLASS) -> float:
    """:func:`class_diversity` of ``per_class`` samples of every class of a conditional generator (latent seed ``seed``)."""
    labels = torch.arange(generator.num_classes).repeat_interleave(per_class)
    return class_diversity(generate(generator, len(labels), seed, labels), labels)


def real_class_diversity(dataset: str) -> float:
    """:func:`class_diversity` of a dataset's real test images, the yardstick beside a GAN's."""
    test = load_dataset(dataset, "test")
    return class_diversity(test.float_images(), test.labels)


def class_swap_fids(generator: LatentGenerator, dataset: str, feature_model: str, seed: int = 0) -> list[float]:
    """Which class costs a conditional GAN its FID: for each class c, the FID of :func:`score_generator`'s samples
    (the same seeds, reference and judge) with every generated image of class c swapped for a seeded draw of real
    training images of class c: list of ``num_classes`` floats. A class whose swap brings the FID down near the
    real-vs-real baseline is the one the GAN draws worst. The judge reads each image alone (eval mode), so the swap
    is made on its features."""
    reference, labels, generated = scoring_sets(generator, dataset, seed)
    train = load_dataset(dataset, "train")
    network = PenultimateFeatures(load_model(feature_model))
    reference_fit, generated_features = gaussian_fit(extract_features(network, reference)), extract_features(network, generated)
    fids = []
    for label in range(generator.num_classes):
        slots = (labels == label).nonzero()[:, 0]
        pool = torch.tensor(train.indices_of_class(label))
        swapped = generated_features.clone()
        swapped[slots] = extract_features(network, train.float_images(pool[seeded_subset(len(pool), len(slots), seed)]))
        fids.append(frechet_distance(*reference_fit, *gaussian_fit(swapped)))
    return fids


def diversity_over_seeds(gan_id: str, seeds: tuple[int, ...] = REPORT_SEEDS) -> dict:
    """A conditional GAN's within-class diversity (mean and std over sampling seeds) beside the real test images'."""
    generator = load_gan(gan_id)
    return {
        "generated": mean_std([generated_class_diversity(generator, seed) for seed in seeds]),
        "real": real_class_diversity(gan_info(gan_id)["dataset"]),
        "per_class": DIVERSITY_PER_CLASS,
    }


def latent_summary(gan_id: str, samples: int = 256, k: int = 8) -> dict:
    """Sensitivity ranking stability over two latent samples, top dimensions, and the variance shares of
    the leading SeFa and GANSpace directions."""
    generator = load_gan(gan_id)
    label = torch.zeros(samples, dtype=torch.long) if generator.conditional else None
    stability = latent_stability(lambda z: generator(z, label), generator.latent_dim, samples=samples, k=k)
    eigenvalues, _ = sefa_directions(generator.latent_weight())
    latents = torch.randn(2048, generator.latent_dim, generator=torch.Generator().manual_seed(7))
    conditioning = torch.zeros(2048, dtype=torch.long) if generator.conditional else None
    ratios, _ = pca_directions(lambda z: generator.first_features(z, conditioning), latents, components=5)
    return {
        "rank_correlation": stability.rank_correlation,
        "top_k_overlap": stability.top_k_overlap,
        "k": stability.k,
        "top_dimensions": stability.first.ranking[:k].tolist(),
        "sefa_top5_share": float(eigenvalues[:5].sum() / eigenvalues.sum()),
        "pca_top5_share": float(ratios.sum()),
    }


DELETION_KS = (1, 4, 8)
DELETION_SAMPLES = 256
DELETION_RANDOM_DRAWS = 5


def latent_deletion_over_seeds(gan_id: str, seeds: tuple[int, ...] = REPORT_SEEDS) -> dict:
    """Per seed and k: the effect (:func:`latent_deletion`) of zeroing the k most sensitive latent dimensions and of
    zeroing k random ones (the mean over DELETION_RANDOM_DRAWS draws), on DELETION_SAMPLES fresh latents. The
    ranking comes from an independent latent sample; the judge is the domain CNN of the GAN's dataset."""
    generator = load_gan(gan_id)
    card = load_model(gan_info(gan_id)["training"]["feature_model"])
    labels = torch.arange(DELETION_SAMPLES) % generator.num_classes if generator.conditional else None

    def generate_from(latents: torch.Tensor) -> torch.Tensor:
        return generator(latents, labels)

    def classify(images: torch.Tensor) -> torch.Tensor:
        return card.model(card.preprocess(images))

    def effect(deletion) -> dict:
        return {name: float(getattr(deletion, name).mean()) for name in ("image_change", "probability_drop", "flipped")}

    runs = []
    for seed in seeds:
        rng = torch.Generator().manual_seed(1000 + seed)
        ranking = latent_sensitivity(generate_from, torch.randn(DELETION_SAMPLES, generator.latent_dim, generator=rng)).ranking
        latents = torch.randn(DELETION_SAMPLES, generator.latent_dim, generator=rng)
        for k in DELETION_KS:
            random_effects = [
                effect(latent_deletion(generate_from, classify, latents, torch.randperm(generator.latent_dim, generator=rng)[:k]))
                for _ in range(DELETION_RANDOM_DRAWS)
            ]
            runs.append(
                {
                    "seed": seed,
                    "k": k,
                    "top": effect(latent_deletion(generate_from, classify, latents, ranking[:k])),
                    "random": {name: float(np.mean([e[name] for e in random_effects])) for name in random_effects[0]},
                }
            )
    return {"runs": runs, "samples": DELETION_SAMPLES, "random_draws": DELETION_RANDOM_DRAWS, "judge": card.id}


def augmentation_config(settings: AugmentationSettings) -> dict:
    return {**settings.__dict__, "seeds": list(settings.seeds), "sha256": gan_info(settings.gan_id)["sha256"]}


def augmentation_result(
    settings: AugmentationSettings, rerun: bool = False, on_progress: Progress | None = None, root: Path | None = None
) -> dict:
    """{"rows": per (condition, seed), "summary": per condition} for ``settings``, cached."""
    rows = cached(
        "augmentation",
        augmentation_config(settings),
        lambda: run_augmentation(settings, load_gan(settings.gan_id), on_progress),
        rerun,
        root,
    )
    return {"rows": rows, "summary": summarise_augmentation(rows)}


def pair_config(dataset: str) -> dict:
    """The conditional GAN and the domain CNN an experiment on ``dataset`` uses, with their checkpoints' sha256."""
    gan_id, model_id = f"cdcgan-{dataset}", f"vgg-{dataset}"
    return {"gan": gan_id, "sha256": gan_info(gan_id)["sha256"], "model": model_id, "model_sha256": model_info(model_id)["sha256"]}


def audit_config(dataset: str, per_class: int = 50) -> dict:
    return {**pair_config(dataset), "per_class": per_class}


def audit_result(
    dataset: str, per_class: int = 50, rerun: bool = False, on_progress: Progress | None = None, root: Path | None = None
) -> list[dict]:
    """Bias-audit rows of ``vgg-<dataset>`` on real vs ``cdcgan-<dataset>`` images, cached."""
    config = audit_config(dataset, per_class)
    return cached(
        "audit",
        config,
        lambda: bias_audit(load_model(config["model"]), load_gan(config["gan"]), dataset, per_class, progress=on_progress),
        rerun,
        root,
    )


SCORE_DATASETS = ("mnist", "glyphs")


def score_config(dataset: str, images: int = 100, seeds: tuple[int, ...] = REPORT_SEEDS) -> dict:
    return {**pair_config(dataset), "seeds": list(seeds), "images": images}


def score_result(
    dataset: str,
    images: int = 100,
    seeds: tuple[int, ...] = REPORT_SEEDS,
    rerun: bool = False,
    on_progress: Progress | None = None,
    root: Path | None = None,
) -> dict:
    """Explainability-score rows (system, seed, parts, score) and per-system summary on ``dataset``, cached."""
    config = score_config(dataset, images, seeds)

    def compute() -> dict:
        rows = score_systems(load_model(config["model"]), load_gan(config["gan"]), dataset, images, seeds, on_progress)
        return {"rows": [{"system": r.system, "seed": r.seed, "parts": r.parts, "score": r.score} for r in rows]}

    rows = cached("score", config, compute, rerun, root)["rows"]
    return {"rows": rows, "summary": summarise_scores([ScoreRow(row["system"], row["seed"], row["parts"]) for row in rows])}


# (model, class index, concepts): the concepts of each dataset on one class; the biased CNN should lean on colour
TCAV_EXPERIMENTS = (
    ("vgg-mnist", 1, ("thick strokes", "thin strokes", "slanted")),
    ("vgg-glyphs", 0, ("thick strokes", "thin strokes", "slanted")),
    ("vgg-shapes", 0, ("red", "green", "striped texture")),
    ("vgg-shapes_biased", 0, ("red", "green", "striped texture")),
)


def tcav_result(
    model_id: str,
    target: int,
    concepts: tuple[str, ...],
    seeds: tuple[int, ...] = REPORT_SEEDS,
    n_images: int = 50,
    n_random: int = 10,
    rerun: bool = False,
    on_progress: Progress | None = None,
    root: Path | None = None,
) -> list[dict]:
    """TCAV rows (one per seed and concept: score, random mean, p, significant, CAV accuracy), cached."""
    config = {
        "model": model_id,
        "model_sha256": model_info(model_id)["sha256"],
        "target": target,
        "concepts": list(concepts),
        "seeds": list(seeds),
        "n_images": n_images,
        "n_random": n_random,
    }

    def compute() -> list[dict]:
        card = load_model(model_id)
        rows = []
        for i, seed in enumerate(seeds):
            result = run_tcav(
                card,
                list(concepts),
                target,
                n_images,
                n_random,
                seed,
                progress=on_progress and (lambda f, m, i=i: on_progress((i + f) / len(seeds), f"seed {seed}: {m}")),
            )
            rows += [{"seed": seed, "class": result.target_class, "layer": result.layer, **row} for row in result.rows()]
        return rows

    return cached("tcav", config, compute, rerun, root)


def yardsticks_result(dataset: str, rerun: bool = False, root: Path | None = None) -> dict:
    """The FID yardsticks of ``dataset`` (mean and std over ``REPORT_SEEDS``), cached by its judge's weights."""
    judge = f"vgg-{dataset}"
    config = {"dataset": dataset, "judge": judge, "judge_sha256": model_info(judge)["sha256"], "seeds": list(REPORT_SEEDS)}
    config["yardsticks"] = list(YARDSTICKS)
    return cached("fid-yardsticks", config, lambda: yardsticks_over_seeds(dataset, REPORT_SEEDS), rerun, root)


GAN_EXPERIMENT_SECTIONS = ("gans", "fid", "diversity", "yardsticks", "latent", "deletion", "augmentation", "audit", "score", "tcav")


def run_gan_experiments(
    rerun: bool = False, on_progress: Progress | None = None, root: Path | None = None, datasets: Sequence[str] = SHIPPED_GAN_DATASETS
) -> dict:
    """Every GAN experiment of docs/results.md on ``datasets`` (default: every shipped GAN's), cached: {"fid",
    "diversity" (conditional GANs), "yardsticks" (per dataset), "latent", "deletion", "augmentation", "audit", "score",
    "tcav" (of the CNNs of ``datasets``)}, and "gans": {GAN id: the sha256 of the weights they used}."""
    results: dict[str, Any] = {section: {} for section in GAN_EXPERIMENT_SECTIONS}
    gan_ids = [f"{kind}-{dataset}" for dataset in datasets for kind in ("dcgan", "cdcgan")]
    score_datasets = [dataset for dataset in SCORE_DATASETS if dataset in datasets]
    tcav_experiments = [experiment for experiment in TCAV_EXPERIMENTS if model_info(experiment[0])["dataset"] in datasets]
    steps = len(gan_ids) + 3 * len(datasets) + len(score_datasets) + len(tcav_experiments)
    done = 0

    def stage(message: str) -> Progress:
        start = done / steps

        def report(fraction: float, detail: str) -> None:
            if on_progress is not None:
                on_progress(start + fraction / steps, f"{message}: {detail}")

        report(0.0, "starting")
        return report

    for gan_id in gan_ids:
        stage(f"FID and latent stability of {gan_id}")
        config = {"gan": gan_id, "sha256": gan_info(gan_id)["sha256"], "seeds": list(REPORT_SEEDS)}
        results["fid"][gan_id] = cached("fid", config, lambda: fid_over_seeds(gan_id), rerun, root)
        if gan_info(gan_id)["kind"] == "cdcgan":
            results["diversity"][gan_id] = cached("diversity", config, lambda: diversity_over_seeds(gan_id), rerun, root)
        results["latent"][gan_id] = cached("latent", config, lambda: latent_summary(gan_id), rerun, root)
        results["deletion"][gan_id] = cached("latent-deletion", config, lambda: latent_deletion_over_seeds(gan_id), rerun, root)
        results["gans"][gan_id] = config["sha256"]
        done += 1
    for dataset in datasets:
        stage(f"FID yardsticks on {dataset}")
        results["yardsticks"][dataset] = yardsticks_result(dataset, rerun, root)
        done += 1
        results["augmentation"][dataset] = augmentation_result(
            AugmentationSettings(dataset, f"cdcgan-{dataset}"), rerun, stage(f"augmentation on {dataset}"), root
        )
        done += 1
        results["audit"][dataset] = audit_result(dataset, rerun=rerun, on_progress=stage(f"bias audit on {dataset}"), root=root)
        done += 1
    for dataset in score_datasets:
        results["score"][dataset] = score_result(dataset, rerun=rerun, on_progress=stage(f"explainability score on {dataset}"), root=root)
        done += 1
    for model_id, target, concepts in tcav_experiments:
        results["tcav"][model_id] = tcav_result(
            model_id, target, concepts, rerun=rerun, on_progress=stage(f"TCAV of {model_id}"), root=root
        )
        done += 1
    if on_progress is not None:
        on_progress(1.0, "done")
    return results


def merge_gan_experiments(recorded: dict, fresh: dict) -> dict:
    """``recorded`` (a summary of :func:`run_gan_experiments`) with every entry of ``fresh`` (one on fewer datasets) put
    in, section by section: an entry of ``fresh`` replaces the recorded one in its place, a new one comes last."""
    return {section: {**recorded.get(section, {}), **fresh[section]} for section in GAN_EXPERIMENT_SECTIONS}
