"""The evaluation suite: every metric as a small class, and a runner over (model, dataset) pairs,
explainers, seeds and images that yields tidy rows (one per image, method, metric, level and seed).

Metric classes follow one contract (DESIGN.md, Conventions 5): ``name``, ``higher_is_better`` and
``evaluate_batch(batch) -> Tensor[N]`` (or a :class:`Curve` over noise levels or randomised layers);
settings live once, in :class:`EvaluationSettings`.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..attribution.agreement import BINARY_THRESHOLD, dice, extra_region_shares
from ..attribution.base import NotApplicable
from ..data import load_dataset
from ..explainers import build_explainer, is_known_method
from ..models import ModelCard, load_model, model_info
from ..versions import library_versions
from . import faithfulness, localisation
from .robustness import NOISE_LEVELS, MapFunction, noise_curves
from .sanity import SANITY_THRESHOLD, cascading_randomisation


@dataclass(frozen=True)
class EvaluationSettings:
    """Every knob of the suite. ``robustness_images`` / ``sanity_images`` evaluate those (costly,
    re-explaining) metrics on the first k images of each sample only; None uses all."""

    threshold: int = BINARY_THRESHOLD
    reference_method: str = "grad_cam"
    perturbation_steps: int = faithfulness.DEFAULT_PERTURBATION_STEPS
    noise_levels: tuple[float, ...] = NOISE_LEVELS
    robustness_images: int | None = 100
    sanity_images: int | None = 32
    sanity_steps: int | None = 6
    sanity_threshold: float = SANITY_THRESHOLD
    batch_size: int = 250


@dataclass(frozen=True)
class Curve:
    """Values of a metric along ``levels`` (noise amounts or randomised layers): Tensor[N, L]."""

    levels: tuple
    values: torch.Tensor


@dataclass
class MethodBatch:
    """One method's maps on a sample of one pair, with what the metrics share (computed once, lazily).

    images: Tensor[N, C, H, W] in [0, 1] at the model's input size; targets: Tensor[N];
    masks: bool Tensor[N, 1, H, W] or None; maps, reference_maps: Tensor[N, 1, H, W] in [0, 1].
    """

    card: ModelCard
    method: str
    images: torch.Tensor
    targets: torch.Tensor
    masks: torch.Tensor | None
    maps: torch.Tensor
    reference_maps: torch.Tensor
    settings: EvaluationSettings
    seed: int
    shared: dict = field(default_factory=dict)

    def map_function(self, card: ModelCard | None = None) -> MapFunction:
        return method_map_function(card or self.card, self.method, self.settings.batch_size, self.seed)

    def cached(self, key: str, compute: Callable[[], object]):
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    @property
    def original_confidence(self) -> torch.Tensor:
        return self.cached("original", lambda: faithfulness.target_probabilities(self.card, self.images, self.targets))

    @property
    def energy_confidence(self) -> torch.Tensor:
        return self.cached(
            f"energy:{self.method}", lambda: faithfulness.energy_confidences(self.card, self.images, self.maps, self.targets)
        )

    @property
    def reference_energy_confidence(self) -> torch.Tensor:
        return self.cached(
            "energy:reference", lambda: faithfulness.energy_confidences(self.card, self.images, self.reference_maps, self.targets)
        )


def method_map_function(card: ModelCard, method: str, batch_size: int = 250, seed: int = 0) -> MapFunction:
    """(images in [0,1] at the card's input size, targets) -> maps of ``method``, in chunks of ``batch_size``.
    The global torch seed is set to ``seed`` first, so stochastic methods (SmoothGrad) repeat exactly."""
    explainer = build_explainer(method, card)

    def maps_of(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(seed)
        chunks = [
            explainer.attribute(card.preprocess(images[i : i + batch_size]), targets[i : i + batch_size])
            for i in range(0, images.shape[0], batch_size)
        ]
        return torch.cat(chunks).detach()

    return maps_of


class Metric(ABC):
    """``evaluate_batch`` returns Tensor[N] (one value per image), a :class:`Curve`, or None when the
    metric does not apply (e.g. a method's win rate against itself)."""

    name: str = ""
    label: str = ""
    family: str = ""
    higher_is_better: bool = True
    unit: str = ""
    needs_mask: bool = False
    level_name: str = ""  # "noise" or "layer" for curves

    @abstractmethod
    def evaluate_batch(self, batch: MethodBatch) -> torch.Tensor | Curve | None: ...


class AverageDrop(Metric):
    name, label, family, higher_is_better, unit = "average_drop", "Average drop", "faithfulness", False, "%"

    def evaluate_batch(self, batch):
        return faithfulness.drop_percentages(batch.original_confidence, batch.energy_confidence)


class IncreaseInConfidence(Metric):
    """Share of images whose energy map is more confident than the image (Chattopadhyay et al.'s definition)."""

    name, label, family, unit = "increase_in_confidence", "Images with increased confidence", "faithfulness", "%"

    def evaluate_batch(self, batch):
        return (batch.energy_confidence > batch.original_confidence).double() * 100


class AverageIncrease(Metric):
    """Average increase in confidence, the SFT-GAN paper's Eq. 8 as we read it: per image max(0, O - Y) x 100."""

    name, label, family, unit = "average_increase", "Average increase in confidence", "faithfulness", "points"

    def evaluate_batch(self, batch):
        return faithfulness.increase_points(batch.original_confidence, batch.energy_confidence)


class WinRate(Metric):
    """Against the reference method (Grad-CAM by default), as in the SFT-GAN paper's Table 3."""

    name, label, family, unit = "win_rate", "Win vs reference", "faithfulness", "%"

    def evaluate_batch(self, batch):
        if batch.method == batch.settings.reference_method:
            return None
        return (batch.energy_confidence > batch.reference_energy_confidence).double() * 100


class DeletionAUC(Metric):
    name, label, family, higher_is_better = "deletion_auc", "Deletion AUC", "faithfulness", False

    def evaluate_batch(self, batch):
        return faithfulness.deletion_auc(batch.card, batch.images, batch.maps, batch.targets, batch.settings.perturbation_steps)


class InsertionAUC(Metric):
    name, label, family = "insertion_auc", "Insertion AUC", "faithfulness"

    def evaluate_batch(self, batch):
        return faithfulness.insertion_auc(batch.card, batch.images, batch.maps, batch.targets, batch.settings.perturbation_steps)


class DiceWithReference(Metric):
    name, label, family = "dice", "Dice vs reference", "agreement"

    def evaluate_batch(self, batch):
        return dice(batch.maps, batch.reference_maps, batch.settings.threshold)


class ExtraRegionMetric(Metric):
    """One output of :func:`~xai_core.attribution.agreement.extra_region_shares`: the method's regions beyond the
    reference (Grad-CAM) and whether Vanilla Saliency, the witness, marks them (SFT-GAN paper §4.3.2, Fig. 6)."""

    family = "agreement"
    WITNESS = "saliency"

    def __init__(self, name: str, label: str, output: int):
        self.name, self.label, self.output = name, label, output

    def evaluate_batch(self, batch):
        if batch.method in (batch.settings.reference_method, self.WITNESS):
            return None
        witness = batch.cached(
            f"maps:{self.WITNESS}",
            lambda: method_map_function(batch.card, self.WITNESS, batch.settings.batch_size, batch.seed)(batch.images, batch.targets),
        )
        shares = batch.cached(
            f"extra:{batch.method}", lambda: extra_region_shares(batch.maps, batch.reference_maps, witness, batch.settings.threshold)
        )
        return shares[self.output]


class LocalisationRate(Metric):
    family, needs_mask = "localisation", True

    def __init__(self, rate: str, label: str, higher_is_better: bool):
        self.name, self.label, self.higher_is_better = rate, label, higher_is_better

    def evaluate_batch(self, batch):
        rates = batch.cached(
            f"rates:{batch.method}", lambda: localisation.localisation_rates(batch.maps, batch.masks, batch.settings.threshold)
        )
        return rates[self.name]


class PointingGame(Metric):
    name, label, family, needs_mask = "pointing_game", "Pointing game", "localisation", True

    def evaluate_batch(self, batch):
        return localisation.pointing_game(batch.maps, batch.masks)


class EnergyPointingGame(Metric):
    name, label, family, needs_mask = "energy_pointing_game", "Energy pointing game", "localisation", True

    def evaluate_batch(self, batch):
        return localisation.energy_pointing_game(batch.maps, batch.masks)


class BackgroundError(Metric):
    name, label, family, higher_is_better, needs_mask = "background_error", "Background error", "localisation", False, True

    def evaluate_batch(self, batch):
        return localisation.background_error(batch.maps, batch.masks)


def _noise_curves(batch: MethodBatch):
    k = batch.settings.robustness_images or batch.images.shape[0]
    masks = None if batch.masks is None else batch.masks[:k]
    return batch.cached(
        f"noise:{batch.method}",
        lambda: noise_curves(batch.map_function(), batch.images[:k], batch.targets[:k], masks, batch.settings.noise_levels, batch.seed),
    )


class NoiseBackgroundError(Metric):
    name, label, family, higher_is_better, needs_mask, level_name = (
        "noise_background_error",
        "Background error under noise",
        "robustness",
        False,
        True,
        "noise",
    )

    def evaluate_batch(self, batch):
        curves = _noise_curves(batch)
        return Curve(curves.levels, curves.background_error)


class NoiseCurveMetric(Metric):
    """A per-level quantity of the salt-and-pepper curves (:func:`~xai_core.metrics.robustness.noise_curves`)."""

    family, level_name = "robustness", "noise"

    def __init__(self, name: str, label: str, field: str, higher_is_better: bool, needs_mask: bool = False):
        self.name, self.label, self.field, self.higher_is_better, self.needs_mask = name, label, field, higher_is_better, needs_mask

    def evaluate_batch(self, batch):
        curves = _noise_curves(batch)
        return Curve(curves.levels, getattr(curves, self.field))


class NoiseStability(Metric):
    name, label, family, level_name = "noise_stability", "Map stability under noise", "robustness", "noise"

    def evaluate_batch(self, batch):
        curves = _noise_curves(batch)
        return Curve(curves.levels, curves.stability)


class SanityCorrelation(Metric):
    """Rank correlation with the trained model's map as layers are randomised (lower = the map depends on the model)."""

    name, label, family, higher_is_better, level_name = "sanity_correlation", "Rank corr. after randomisation", "sanity", False, "layer"

    def evaluate_batch(self, batch):
        k = batch.settings.sanity_images or batch.images.shape[0]
        result = cascading_randomisation(
            batch.card.model,
            lambda model: batch.map_function(dataclasses.replace(batch.card, model=model)),
            batch.images[:k],
            batch.targets[:k],
            model_inputs=batch.card.preprocess,
            seed=batch.seed,
            max_steps=batch.settings.sanity_steps,
            threshold=batch.settings.sanity_threshold,
        )
        return Curve(tuple(result.layers), result.correlations)


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in [
        AverageDrop(),
        IncreaseInConfidence(),
        AverageIncrease(),
        WinRate(),
        DeletionAUC(),
        InsertionAUC(),
        DiceWithReference(),
        ExtraRegionMetric("extra_region_size", "Extra region beyond the reference (share of pixels)", 0),
        ExtraRegionMetric("extra_region_saliency", "Share of the extra region Saliency marks", 1),
        ExtraRegionMetric("extra_region_baseline", "Share outside the reference Saliency marks", 2),
        LocalisationRate("tp_rate", "True-positive rate", True),
        LocalisationRate("tn_rate", "True-negative rate", True),
        LocalisationRate("fp_rate", "False-positive rate", False),
        LocalisationRate("fn_rate", "False-negative rate", False),
        PointingGame(),
        EnergyPointingGame(),
        BackgroundError(),
        NoiseBackgroundError(),
        NoiseCurveMetric("noise_background_share", "Background share of the map under noise", "background_share", False, True),
        NoiseCurveMetric("noise_map_mass", "Map mass under noise", "mass", True),
        NoiseCurveMetric("noise_empty_maps", "Empty maps under noise", "empty", False),
        NoiseStability(),
        SanityCorrelation(),
    ]
}


@dataclass(frozen=True)
class EvaluationPair:
    """A model and the dataset split it is evaluated on (its own test split by default; another dataset
    tests generalisation; the training split shows what an overfitted model learnt)."""

    model_id: str
    dataset: str
    split: str = "test"

    @property
    def name(self) -> str:
        return f"{self.model_id}@{self.dataset}" + ("" if self.split == "test" else f"[{self.split}]")


def parse_pair(text: str) -> EvaluationPair:
    """``"vgg-mnist"`` (the model's own dataset), ``"vgg-mnist@digits"`` or ``"vgg-shapes_biased@shapes_biased[train]"``."""
    model_id, _, dataset = text.strip().partition("@")
    if not model_id:
        raise ValueError(f"empty model id in pair {text!r}")
    split = "test"
    if dataset.endswith("]") and "[" in dataset:
        dataset, _, split = dataset[:-1].rpartition("[")
        if split not in ("train", "test"):
            raise ValueError(f"split must be train or test in pair {text!r}")
    dataset = dataset or model_info(model_id).get("dataset") or ""
    if not dataset:
        raise ValueError(
            f"{model_id} records no dataset of its own (it was registered without its training data): name the images "
            f"to evaluate on, e.g. {model_id}@folder:/path/to/images"
        )
    return EvaluationPair(model_id, dataset, split)


TARGET_SOURCES = {"label": "the true labels", "prediction": "the model's predictions"}


@dataclass
class Sample:
    """The images a seed draws from a pair's test split, at the model's input size. ``target_source``: "label" or
    "prediction" (TARGET_SOURCES); ``labelled``: whether the data has labels at all."""

    indices: list[int]
    images: torch.Tensor
    targets: torch.Tensor
    masks: torch.Tensor | None
    target_source: str
    labelled: bool = True


def draw_sample(card: ModelCard, dataset_name: str, n: int, seed: int, split: str = "test") -> Sample:
    """``n`` images of a split chosen by ``seed`` (sorted indices). Targets are the true labels when the data
    is the model's own and labelled, otherwise (another dataset, unlabelled images) the model's predictions.
    Masks are resized with nearest neighbours."""
    dataset = load_dataset(dataset_name, split)
    count = min(n, len(dataset))
    indices = sorted(torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:count].tolist())
    images = card.resize(dataset.float_images(torch.tensor(indices)))
    masks = None
    if dataset.masks is not None:
        masks = F.interpolate(dataset.masks[indices].float(), size=card.input_size, mode="nearest") > 0.5
    if dataset_name == card.dataset and dataset.labelled:
        targets, source = dataset.labels[indices].clone(), "label"
    else:
        with torch.inference_mode():
            targets, source = card.model(card.preprocess(images)).argmax(dim=1), "prediction"
    return Sample(indices, images, targets, masks, source, dataset.labelled)


@dataclass
class EvaluationResult:
    """``rows``: one dict per image, method, metric, level and seed; ``config``: what produced them;
    ``skipped``: {pair, method, reason} for methods undefined on a model (e.g. Guided Backprop without ReLU);
    ``targets``: {pair: {"source": "label" | "prediction", "labelled": bool}}, what each pair's maps explain."""

    rows: list[dict]
    config: dict
    skipped: list[dict] = field(default_factory=list)
    targets: dict[str, dict] = field(default_factory=dict)

    def summary(self) -> list[dict]:
        return summarise(self.rows)


def evaluation_config(
    pairs: Sequence[EvaluationPair],
    methods: Sequence[str],
    metrics: Sequence[str],
    n: int,
    seeds: Sequence[int],
    settings: EvaluationSettings,
) -> dict:
    config = {
        "pairs": [p.name for p in pairs],
        "methods": list(methods),
        "metrics": list(metrics),
        "n": int(n),
        "seeds": [int(s) for s in seeds],
        "settings": dataclasses.asdict(settings),
    }
    config["key"] = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    return config


def run_evaluation(
    pairs: Sequence[EvaluationPair | str],
    methods: Sequence[str],
    metrics: Sequence[str] = tuple(METRICS),
    n: int = 100,
    seeds: Sequence[int] = (0,),
    settings: EvaluationSettings = EvaluationSettings(),
    on_progress: Callable[[float, str], None] | None = None,
) -> EvaluationResult:
    """Evaluate ``methods`` with ``metrics`` on ``n`` images per pair and seed. Mask metrics are skipped
    on data without masks. ``on_progress(fraction done, what is running)`` is called after each step."""
    pairs = [parse_pair(p) if isinstance(p, str) else p for p in pairs]
    unknown = [m for m in methods if not is_known_method(m)] + [m for m in metrics if m not in METRICS]
    if unknown:
        raise KeyError(f"unknown method or metric: {', '.join(unknown)}")
    config = evaluation_config(pairs, methods, metrics, n, seeds, settings)
    steps = len(pairs) * len(seeds) * (len(methods) + 1)
    done = 0

    def advance(message: str) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done / steps, message)

    rows: list[dict] = []
    skipped: list[dict] = []
    targets: dict[str, dict] = {}
    for pair in pairs:
        card = load_model(pair.model_id)
        for seed in seeds:
            sample = draw_sample(card, pair.dataset, n, seed, pair.split)
            targets[pair.name] = {"source": sample.target_source, "labelled": sample.labelled}
            reference = method_map_function(card, settings.reference_method, settings.batch_size, seed)(sample.images, sample.targets)
            shared: dict = {}
            advance(f"{pair.name} seed {seed}: reference maps")
            for method in methods:
                try:
                    maps = (
                        reference
                        if method == settings.reference_method
                        else method_map_function(card, method, settings.batch_size, seed)(sample.images, sample.targets)
                    )
                except NotApplicable as reason:
                    if seed == seeds[0]:
                        skipped.append({"pair": pair.name, "method": method, "reason": str(reason)})
                    advance(f"{pair.name} seed {seed}: {method} (not applicable)")
                    continue
                batch = MethodBatch(card, method, sample.images, sample.targets, sample.masks, maps, reference, settings, seed, shared)
                for metric_name in metrics:
                    metric = METRICS[metric_name]
                    if metric.needs_mask and sample.masks is None:
                        continue
                    rows.extend(_rows(pair, seed, method, metric, metric.evaluate_batch(batch), sample))
                advance(f"{pair.name} seed {seed}: {method}")
    return EvaluationResult(rows, config, skipped, targets)


def _rows(pair: EvaluationPair, seed: int, method: str, metric: Metric, values, sample: Sample) -> list[dict]:
    if values is None:
        return []
    base = {
        "pair": pair.name,
        "model": pair.model_id,
        "dataset": pair.dataset,
        "split": pair.split,
        "seed": seed,
        "method": method,
        "metric": metric.name,
    }
    if isinstance(values, Curve):
        return [
            {**base, "image": sample.indices[i], "level": str(level), "value": float(values.values[i, j])}
            for i in range(values.values.shape[0])
            for j, level in enumerate(values.levels)
        ]
    return [{**base, "image": sample.indices[i], "level": "", "value": float(value)} for i, value in enumerate(values.tolist())]


def seed_means(rows: Sequence[dict]) -> list[dict]:
    """Mean over images per (pair, method, metric, level, seed): dicts with those keys, ``value`` (the mean) and
    ``n`` (the images it averages). NaN values (undefined for an image, e.g. an empty map's background share) are
    left out; ``rows`` may themselves be such means (their ``n`` weights them), so this is idempotent."""
    totals: dict[tuple, list[float]] = {}
    for row in rows:
        weight = row.get("n", 1)
        if math.isnan(row["value"]) or weight == 0:
            continue
        total = totals.setdefault((row["pair"], row["method"], row["metric"], row["level"], row["seed"]), [0.0, 0])
        total[0] += row["value"] * weight
        total[1] += weight
    return [
        {"pair": pair, "method": method, "metric": metric, "level": level, "seed": seed, "n": n, "value": total / n}
        for (pair, method, metric, level, seed), (total, n) in totals.items()
    ]


def summarise(rows: Sequence[dict]) -> list[dict]:
    """Mean over images per seed, then mean and sample std over seeds, per (pair, method, metric, level).

    ``rows``: per image, or per seed (:func:`seed_means`). Returns dicts with pair, method, metric, level, mean,
    std (0 for one seed), seeds, images (per seed, the most of any seed)."""
    grouped: dict[tuple, list[tuple[float, int]]] = {}
    for row in seed_means(rows):
        grouped.setdefault((row["pair"], row["method"], row["metric"], row["level"]), []).append((row["value"], row["n"]))
    summary = []
    for (pair, method, metric, level), means in grouped.items():
        values = [m for m, _ in means]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
        summary.append(
            {
                "pair": pair,
                "method": method,
                "metric": metric,
                "level": level,
                "mean": mean,
                "std": std,
                "seeds": len(values),
                "images": max(count for _, count in means),
            }
        )
    return summary


def sanity_verdicts(summary: Sequence[dict], threshold: float = SANITY_THRESHOLD) -> dict[tuple[str, str], dict]:
    """{(pair, method): {"passed", "final_correlation"}} from the last randomisation step of each cascade."""
    verdicts: dict[tuple[str, str], dict] = {}
    for row in summary:
        if row["metric"] == "sanity_correlation":
            verdicts[(row["pair"], row["method"])] = {"final_correlation": row["mean"], "passed": row["mean"] < threshold}
    return verdicts


CSV_COLUMNS = ("pair", "model", "dataset", "split", "seed", "method", "metric", "level", "image", "value")
SUMMARY_COLUMNS = ("pair", "method", "metric", "level", "mean", "std", "seeds", "images")


def rows_to_csv(rows: Sequence[dict], columns: Sequence[str] = CSV_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows({column: row[column] for column in columns} for row in rows)
    return buffer.getvalue()


def write_evaluation_data(result: EvaluationResult, out_dir: Path) -> list[Path]:
    """results.csv (tidy rows), summary.csv and results.json (config + rows + summary + sanity verdicts);
    :func:`xai_core.reports.evaluation_report.write_evaluation` adds the figures. Returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    written = [out_dir / "results.csv", out_dir / "summary.csv", out_dir / "results.json"]
    written[0].write_text(rows_to_csv(result.rows))
    written[1].write_text(rows_to_csv(summary, SUMMARY_COLUMNS))
    written[2].write_text(results_json(result, summary))
    return written


def results_json(result: EvaluationResult, summary: Sequence[dict] | None = None) -> str:
    """The run as JSON: config, library versions, summary, sanity verdicts, skipped methods and the tidy rows."""
    summary = result.summary() if summary is None else summary
    verdicts = sanity_verdicts(summary, result.config["settings"]["sanity_threshold"])
    return json.dumps(
        {
            "config": result.config,
            "versions": library_versions(),
            "summary": summary,
            "sanity": [{"pair": pair, "method": method, **verdict} for (pair, method), verdict in verdicts.items()],
            "skipped": result.skipped,
            "targets": result.targets,
            "rows": result.rows,
        },
        indent=1,
    )


SANITY_VERDICTS_PATH = Path(__file__).resolve().parents[2] / "assets" / "evaluation" / "sanity.json"


def write_sanity_verdicts(result: EvaluationResult, path: Path = SANITY_VERDICTS_PATH) -> Path:
    """Record each (model, method)'s cascading-randomisation verdict for the Explain page's badges."""
    summary = result.summary()
    verdicts = sanity_verdicts(summary, result.config["settings"]["sanity_threshold"])
    images = {(row["pair"], row["method"]): row["images"] for row in summary if row["metric"] == "sanity_correlation"}
    entries = [
        {
            "model": pair.partition("@")[0],
            "dataset": pair.partition("@")[2],
            "method": method,
            "final_correlation": round(verdict["final_correlation"], 4),
            "passed": verdict["passed"],
            "images": images[(pair, method)],
            "seeds": result.config["seeds"],
        }
        for (pair, method), verdict in verdicts.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"threshold": result.config["settings"]["sanity_threshold"], "verdicts": entries}, indent=1))
    return path


def load_sanity_verdicts(path: Path = SANITY_VERDICTS_PATH) -> dict[tuple[str, str], dict]:
    """{(model id, method): {"passed", "final_correlation", "images", "seeds", "dataset"}}; empty when none recorded."""
    if not path.exists():
        return {}
    return {(entry["model"], entry["method"]): entry for entry in json.loads(path.read_text())["verdicts"]}
