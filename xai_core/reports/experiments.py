"""The SFT-GAN paper's evaluations (Guna et al., §4.2, §4.3.4-4.3.6, §4.4, §5.3) as pinned suite
configurations, run once per configuration and cached under ``runs/evaluation`` (keyed by the
configuration's hash), so ``python -m xai_core report-results`` can rebuild docs/results.md cheaply."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..attribution.hooks import conv_layers_in_execution_order
from ..explainers import build_explainer
from ..metrics.suite import EvaluationResult, EvaluationSettings, draw_sample, evaluation_config, parse_pair, run_evaluation
from ..models import load_model
from ..models.checkpoints import REPOSITORY_ROOT
from ..sftgan.data import ARCHITECTURES, STRATEGIES, slot_layers
from ..sftgan.explainer import average_relevance
from .evaluation_report import write_evaluation

EVALUATION_CACHE_DIR = REPOSITORY_ROOT / "runs" / "evaluation"
REPORT_SEEDS = (0, 1, 2)

SYMBOL_PAIRS = tuple(f"{arch}-{dataset}" for dataset in STRATEGIES["symbols"] for arch in ARCHITECTURES)
OBJECT_PAIRS = tuple(f"{arch}-{dataset}" for dataset in STRATEGIES["objects"] for arch in ARCHITECTURES)
ALL_METHODS = (
    "saliency",
    "smoothgrad",
    "integrated_gradients",
    "guided_backprop",
    "grad_cam",
    "grad_cam_pp",
    "score_cam",
    "layer_cam",
    "lsft",
    "gsft",
)


@dataclass(frozen=True)
class Experiment:
    """One pinned run of the suite: what it reproduces, and its configuration."""

    name: str
    purpose: str
    pairs: tuple[str, ...]
    methods: tuple[str, ...]
    metrics: tuple[str, ...]
    n: int
    seeds: tuple[int, ...] = REPORT_SEEDS
    settings: EvaluationSettings = field(default_factory=EvaluationSettings)

    def config(self) -> dict:
        return evaluation_config([parse_pair(p) for p in self.pairs], self.methods, self.metrics, self.n, self.seeds, self.settings)

    def cache_dir(self, root: Path = EVALUATION_CACHE_DIR) -> Path:
        return root / f"{self.name}-{self.config()['key']}"


LOCALISATION_METRICS = ("tp_rate", "tn_rate", "fp_rate", "fn_rate", "dice", "pointing_game", "energy_pointing_game")
FAITHFULNESS_METRICS = ("average_drop", "increase_in_confidence", "win_rate")
NOISE_METRICS = ("noise_background_error", "noise_background_share", "noise_map_mass", "noise_empty_maps")
SFTGAN_METHODS = ("grad_cam", "lsft", "gsft")

EXPERIMENTS: dict[str, Experiment] = {
    experiment.name: experiment
    for experiment in [
        Experiment(
            "symbols",
            "Tables 1-3 and Fig. 13 on strategy 1 (symbols, which have stroke masks)",
            SYMBOL_PAIRS,
            SFTGAN_METHODS,
            LOCALISATION_METRICS + FAITHFULNESS_METRICS + ("average_increase",) + NOISE_METRICS,
            n=64,
            settings=EvaluationSettings(robustness_images=16),
        ),
        Experiment(
            "objects",
            "Table 3 on strategy 2 (objects), with deletion/insertion AUC",
            OBJECT_PAIRS,
            SFTGAN_METHODS,
            FAITHFULNESS_METRICS + ("average_increase", "dice", "deletion_auc", "insertion_auc"),
            n=48,
            settings=EvaluationSettings(perturbation_steps=8),
        ),
        Experiment(
            "extra_regions",
            "§4.3.2 / Fig. 6: do the regions LSFT and GSFT add to Grad-CAM match what Vanilla Saliency marks?",
            SYMBOL_PAIRS,
            ("lsft", "gsft"),
            ("extra_region_size", "extra_region_saliency", "extra_region_baseline"),
            n=64,
        ),
        Experiment(
            "generalisation",
            "§4.3.4: generators on datasets and architectures they never saw",
            (
                "vgg-shapes",
                "resnet-fashion_mnist",
                "mobilenet-shapes",
                "vgg-mnist",
                "resnet-glyphs",
                "mobilenet-digits",
                "efficientnet_lite0-imagenet@photos",
            ),
            ("grad_cam", "lsft-symbols", "gsft-symbols", "lsft-objects", "gsft-objects"),
            ("dice",) + FAITHFULNESS_METRICS,
            n=64,
        ),
        Experiment(
            "unseen_symbols",
            "§4.3.5: the two strategies' generators on a symbol set neither saw (Chinese numerals, for the paper's Tamil characters)",
            ("vgg-glyphs_cjk",),
            ("grad_cam", "lsft-symbols", "gsft-symbols", "lsft-objects", "gsft-objects"),
            ("dice",) + FAITHFULNESS_METRICS + ("average_increase",),
            n=64,
        ),
        Experiment(
            "overfitting",
            "§4.3.6: an overfitted CNN (shapes_biased) vs an unbiased one on the leaking training images",
            tuple(f"{arch}-{dataset}@shapes_biased[train]" for dataset in ("shapes_biased", "shapes") for arch in ARCHITECTURES),
            ALL_METHODS,
            ("energy_pointing_game", "background_error"),
            n=16,
        ),
        Experiment(
            "sanity",
            "Cascading model randomisation of every method on every shipped CNN (the Explain page's badges)",
            SYMBOL_PAIRS + OBJECT_PAIRS,
            ALL_METHODS,
            ("sanity_correlation",),
            n=6,
            seeds=(0,),
            settings=EvaluationSettings(sanity_images=6, sanity_steps=4),
        ),
    ]
}


def run_experiment(
    experiment: Experiment, rerun: bool = False, root: Path = EVALUATION_CACHE_DIR, on_progress: Callable[[float, str], None] | None = None
) -> EvaluationResult:
    """The experiment's result, from its cache directory when present (unless ``rerun``), else computed and cached."""
    cached = experiment.cache_dir(root) / "results.json"
    if cached.exists() and not rerun:
        recorded = json.loads(cached.read_text())
        return EvaluationResult(recorded["rows"], recorded["config"], recorded.get("skipped", []))
    result = run_evaluation(
        list(experiment.pairs), experiment.methods, experiment.metrics, experiment.n, experiment.seeds, experiment.settings, on_progress
    )
    write_evaluation(result, experiment.cache_dir(root))
    return result


@dataclass(frozen=True)
class RelevanceExperiment:
    """Fig. 15: average CGMA relevance of LSFT per dataset/CNN pair, ``n`` images drawn per seed."""

    pairs: tuple[str, ...] = SYMBOL_PAIRS + OBJECT_PAIRS
    n: int = 32
    seeds: tuple[int, ...] = REPORT_SEEDS
    kind: str = "lsft"


def run_relevance(
    experiment: RelevanceExperiment = RelevanceExperiment(),
    rerun: bool = False,
    root: Path = EVALUATION_CACHE_DIR,
    on_progress: Callable[[float, str], None] | None = None,
) -> dict[str, dict]:
    """{pair: {"mean": [eta], "std": [eta] over seeds, "layers": slot layers}}, cached like the suite runs."""
    cached = root / f"relevance-{experiment.kind}-n{experiment.n}-seeds{'_'.join(map(str, experiment.seeds))}.json"
    if cached.exists() and not rerun:
        recorded = json.loads(cached.read_text())
        # the file name does not name the pairs: reuse it only when it holds exactly these pairs
        if list(recorded) == [parse_pair(p).name for p in experiment.pairs]:
            return recorded
    results = {}
    for i, pair_text in enumerate(experiment.pairs):
        pair = parse_pair(pair_text)
        card = load_model(pair.model_id)
        explainer = build_explainer(experiment.kind, card)
        per_seed = []
        for seed in experiment.seeds:
            sample = draw_sample(card, pair.dataset, experiment.n, seed, pair.split)
            mean, _ = average_relevance(explainer, card.preprocess, sample.images)
            per_seed.append(mean)
        stacked = torch.stack(per_seed)
        convs = len(conv_layers_in_execution_order(card.model, card.preprocess(sample.images[:1])))
        results[pair.name] = {
            "mean": stacked.mean(0).tolist(),
            "std": stacked.std(0).tolist() if len(per_seed) > 1 else [0.0] * stacked.shape[1],
            "layers": slot_layers(convs, stacked.shape[1]),
            "images": experiment.n,
            "seeds": list(experiment.seeds),
        }
        if on_progress is not None:
            on_progress((i + 1) / len(experiment.pairs), pair.name)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(results, indent=1))
    return results
