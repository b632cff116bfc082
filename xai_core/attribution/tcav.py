"""TCAV: testing with concept activation vectors, through ``captum.concept``.

Kim et al. 2018, "Interpretability Beyond Feature Attribution: Quantitative Testing with Concept Activation
Vectors (TCAV)", ICML. At a layer l with activations f_l(x):

* the **CAV** v_C of a concept C is the unit normal of a linear classifier separating the activations of C's
  example images from those of a random set R (here sklearn's ``SGDClassifier`` with the reference settings
  alpha=0.01, max_iter=1000, tol=1e-3, hinge loss, seeded; two thirds of each set train it, one third
  measures its accuracy);
* the **directional derivative** of the class-k logit h_k along the CAV is S(x) = grad h_k(f_l(x)) . v_C;
* the **TCAV score** is the share of the class inputs with S(x) > 0 (captum's ``sign_count``); the
  **magnitude** reported here is the mean of S(x) over the class inputs (captum's ``magnitude``, made
  comparable between concepts because the CAVs are unit vectors).

**Significance** (Kim et al. §3.2). With m >= 10 random sets R_0..R_{m-1}, each concept C is run m times,
against each R_i, giving m scores. The null distribution is m random-vs-random runs: R_i (as the "concept")
against R_{(i+1) mod m}. The reference implementation keeps one random set as the "concept" of every null run;
rotating through the sets instead keeps any single random set from shaping the whole null. A two-sided
Student t-test (``scipy.stats.ttest_ind``, as in the reference code) compares C's m scores with the m null
scores; C is significant when p < alpha (0.05), or p * (number of concepts) < alpha with the Bonferroni
correction. When both samples are constant and equal the test is undefined and p is reported as 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from captum.concept import TCAV, Concept
from captum.concept._utils.classifier import Classifier
from torch.utils.data import DataLoader

from ..data.concepts import build_concept, class_images, random_concept_sets
from ..models.card import ModelCard
from ..spread import sample_std
from ..versions import library_versions
from .hooks import conv_layers_in_execution_order, inplace_activations_disabled

MIN_RANDOM_SETS = 10
DEFAULT_ALPHA = 0.05
CAV_TEST_FRACTION = 1 / 3
BATCH_SIZE = 64
CSV_COLUMNS = (
    "concept",
    "tcav_score",
    "score_std",
    "random_mean",
    "random_std",
    "p_value",
    "p_adjusted",
    "significant",
    "stars",
    "magnitude",
    "cav_accuracy",
    "runs",
)

Progress = Callable[[float, str], None]


class SeededCAVClassifier(Classifier):
    """The linear concept classifier behind each CAV: sklearn ``SGDClassifier(alpha=0.01, max_iter=1000,
    tol=1e-3)`` (the settings of the reference TCAV code), on a class-stratified 2/3 : 1/3 split.

    Deterministic: the split and the SGD seed are derived from (``seed``, the two concept ids), so a CAV
    does not depend on the order in which CAVs are trained. ``weights()`` are unit vectors, so captum's
    magnitude is the mean directional derivative of Kim et al."""

    def __init__(self, seed: int, test_fraction: float = CAV_TEST_FRACTION) -> None:
        self.seed = seed
        self.test_fraction = test_fraction
        self._weights: torch.Tensor | None = None
        self._classes: list[int] = []

    def train_and_eval(self, dataloader: DataLoader, **kwargs: Any) -> dict[str, float]:
        from sklearn.linear_model import SGDClassifier  # imported on first use: sklearn takes about a second

        batches = list(dataloader)
        inputs = torch.cat([batch[0] for batch in batches]).double().numpy()
        labels = torch.cat([batch[1] for batch in batches]).numpy()
        classes = sorted({int(label) for label in labels})
        if len(classes) != 2:
            raise ValueError(f"a CAV separates exactly two concepts, got {len(classes)}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, *classes]))
        test = np.zeros(len(labels), dtype=bool)
        for label in classes:
            members = np.flatnonzero(labels == label)
            test[rng.permutation(members)[: int(round(self.test_fraction * len(members)))]] = True
        model = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=int(rng.integers(2**31 - 1)))
        model.fit(inputs[~test], labels[~test])
        accuracy = float((model.predict(inputs[test]) == labels[test]).mean()) if test.any() else float("nan")
        normal = torch.from_numpy(model.coef_[0]).float()
        normal = normal / normal.norm().clamp_min(1e-12)
        # sklearn's binary coef_ points towards classes_[1]; captum wants one row per class, in classes() order
        self._weights = torch.stack([-normal, normal])
        self._classes = [int(c) for c in model.classes_]
        return {"accs": accuracy}

    def weights(self) -> torch.Tensor:
        if self._weights is None:
            raise RuntimeError("train_and_eval has not run yet")
        return self._weights

    def classes(self) -> list[int]:
        return self._classes


def significance_stars(p_value: float) -> str:
    """'***' for p < 0.001, '**' for p < 0.01, '*' for p < 0.05, '' otherwise."""
    for threshold, stars in ((0.001, "***"), (0.01, "**"), (0.05, "*")):
        if p_value < threshold:
            return stars
    return ""


def t_test_p_value(concept_scores: Sequence[float], null_scores: Sequence[float]) -> float:
    """Two-sided Student t-test p-value of the concept's run scores against the random-vs-random scores;
    1.0 when the test is undefined (both samples constant and equal)."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy warns on (near-)constant samples; handled below
        p_value = float(stats.ttest_ind(np.asarray(concept_scores, float), np.asarray(null_scores, float)).pvalue)
    return 1.0 if math.isnan(p_value) else p_value


@dataclass
class ConceptScore:
    """One concept's TCAV outcome. run_scores / run_magnitudes / cav_accuracies: one entry per random set."""

    concept: str
    run_scores: list[float]
    run_magnitudes: list[float]
    cav_accuracies: list[float]
    p_value: float
    p_adjusted: float
    significant: bool

    @property
    def score(self) -> float:
        """Mean TCAV score (share of class inputs with a positive directional derivative) over the runs."""
        return float(np.mean(self.run_scores))

    @property
    def score_std(self) -> float:
        return sample_std(self.run_scores)

    @property
    def magnitude(self) -> float:
        """Mean directional derivative of the class logit along the unit CAV, over class inputs and runs."""
        return float(np.mean(self.run_magnitudes))

    @property
    def cav_accuracy(self) -> float:
        """Mean held-out accuracy of the concept-vs-random classifiers (0.5 = the CAV separates nothing)."""
        return float(np.mean(self.cav_accuracies))

    @property
    def stars(self) -> str:
        return significance_stars(self.p_adjusted)


@dataclass
class TCAVResult:
    """TCAV scores of several concepts for one class at one layer, with the random-vs-random null."""

    model_id: str
    layer: str
    target: int
    target_class: str
    concepts: list[ConceptScore]
    random_run_scores: list[float]
    random_run_magnitudes: list[float]
    alpha: float
    bonferroni: bool
    seed: int
    n_class_images: int
    concept_set_sizes: dict[str, int]
    random_set_size: int
    config: dict = field(default_factory=dict)

    @property
    def n_random_sets(self) -> int:
        return len(self.random_run_scores)

    @property
    def random_mean(self) -> float:
        return float(np.mean(self.random_run_scores))

    @property
    def random_std(self) -> float:
        return sample_std(self.random_run_scores)

    def concept(self, name: str) -> ConceptScore:
        for score in self.concepts:
            if score.concept == name:
                return score
        raise KeyError(f"no concept {name!r} in this result; it has {', '.join(c.concept for c in self.concepts)}")

    def rows(self) -> list[dict]:
        """One dict per concept with the :data:`CSV_COLUMNS`."""
        return [
            {
                "concept": c.concept,
                "tcav_score": c.score,
                "score_std": c.score_std,
                "random_mean": self.random_mean,
                "random_std": self.random_std,
                "p_value": c.p_value,
                "p_adjusted": c.p_adjusted,
                "significant": c.significant,
                "stars": c.stars,
                "magnitude": c.magnitude,
                "cav_accuracy": c.cav_accuracy,
                "runs": len(c.run_scores),
            }
            for c in self.concepts
        ]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows())
        return buffer.getvalue()

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            random_mean=self.random_mean,
            random_std=self.random_std,
            versions=library_versions(),
            summary=self.rows(),
            method="TCAV (Kim et al. 2018) via captum.concept; null: R_i vs R_(i+1 mod m); two-sided Student t-test",
        )
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def default_layer(card: ModelCard) -> str:
    """Name (as in ``card.model.named_modules()``) of the model's last conv layer in execution order."""
    example = torch.zeros(1, card.in_channels, *card.input_size)
    return conv_layers_in_execution_order(card.model, example)[-1][0]


def tcav_scores(
    card: ModelCard,
    layer_name: str | None,
    concept_sets: Mapping[str, torch.Tensor],
    random_sets: Sequence[torch.Tensor],
    class_images: torch.Tensor,
    target: int,
    seed: int = 0,
    *,
    alpha: float = DEFAULT_ALPHA,
    bonferroni: bool = False,
    progress: Progress | None = None,
) -> TCAVResult:
    """TCAV scores of each concept for class ``target`` at layer ``layer_name`` (default :func:`default_layer`).
    Long: Kim et al.'s procedure (CAVs per concept and random set, directional derivatives, t-tests) reads in order.

    concept_sets: {name: float Tensor[n_c, C, H, W] in [0, 1]}; random_sets: >= 10 float Tensor[n_r, C, H, W];
    class_images: float Tensor[N, C, H, W] in [0, 1], the inputs whose directional derivatives are counted
    (usually images of the target class). Every image goes through ``card.preprocess``. The procedure and the
    test are in the module docstring. ``progress(fraction, message)`` is called after every CAV. Deterministic
    for a seed; CAVs and activations go to a temporary directory that is removed afterwards.
    """
    if not concept_sets:
        raise ValueError("give at least one concept set")
    if len(random_sets) < MIN_RANDOM_SETS:
        raise ValueError(f"TCAV's significance test needs at least {MIN_RANDOM_SETS} random sets, got {len(random_sets)}")
    if not 0 <= target < len(card.classes):
        raise ValueError(f"target must be a class index in 0..{len(card.classes) - 1}, got {target}")
    if len(class_images) == 0:
        raise ValueError("give at least one class image")
    for name, images in [*concept_sets.items(), *((f"random set {i}", r) for i, r in enumerate(random_sets))]:
        if len(images) < 2:
            raise ValueError(f"{name} needs at least 2 images to train and test a CAV, got {len(images)}")
    layer = default_layer(card) if layer_name is None else layer_name
    if layer not in dict(card.model.named_modules()):
        raise ValueError(f"{card.id} has no layer {layer!r}")
    report = progress or (lambda fraction, message: None)

    names = list(concept_sets)
    concepts = [Concept(i, f"concept{i}", _loader(card.preprocess(concept_sets[name]))) for i, name in enumerate(names)]
    randoms = [Concept(len(names) + j, f"random{j}", _loader(card.preprocess(images))) for j, images in enumerate(random_sets)]
    m = len(randoms)
    concept_runs = [[[concept, random] for random in randoms] for concept in concepts]
    null_runs = [[randoms[j], randoms[(j + 1) % m]] for j in range(m)]
    experimental_sets = [run for runs in concept_runs for run in runs] + null_runs
    labels = [f"{name} vs random {j}" for name in names for j in range(m)] + [f"random {j} vs random {(j + 1) % m}" for j in range(m)]

    model = card.model
    with tempfile.TemporaryDirectory(prefix="xai-tcav-") as save_path, inplace_activations_disabled(model):
        tcav = TCAV(model, [layer], model_id="model", classifier=SeededCAVClassifier(seed), save_path=save_path)
        for index, (experimental_set, label) in enumerate(zip(experimental_sets, labels)):
            tcav.compute_cavs([experimental_set])
            report((index + 1) / (len(experimental_sets) + 1), f"CAV {index + 1}/{len(experimental_sets)}: {label}")
        report(len(experimental_sets) / (len(experimental_sets) + 1), f"directional derivatives of {len(class_images)} class images")
        scores = tcav.interpret(card.preprocess(class_images), experimental_sets, target=target)
        accuracies = {key: float(tcav.cavs[key][layer].stats["accs"]) for key in scores}

    def first_concept(run: list[Concept], kind: str) -> float:
        return float(scores[_key(run)][layer][kind][0])

    def sign_count(run: list[Concept]) -> float:  # an exact share k/N (captum averages in float32)
        return round(first_concept(run, "sign_count") * len(class_images)) / len(class_images)

    random_run_scores = [sign_count(run) for run in null_runs]
    results = []
    for name, runs in zip(names, concept_runs):
        run_scores = [sign_count(run) for run in runs]
        p_value = t_test_p_value(run_scores, random_run_scores)
        p_adjusted = min(1.0, p_value * len(names)) if bonferroni else p_value
        results.append(
            ConceptScore(
                name,
                run_scores,
                [first_concept(run, "magnitude") for run in runs],
                [accuracies[_key(run)] for run in runs],
                p_value,
                p_adjusted,
                p_adjusted < alpha,
            )
        )
    report(1.0, "done")
    return TCAVResult(
        model_id=card.id,
        layer=layer,
        target=target,
        target_class=card.classes[target],
        concepts=results,
        random_run_scores=random_run_scores,
        random_run_magnitudes=[first_concept(run, "magnitude") for run in null_runs],
        alpha=alpha,
        bonferroni=bonferroni,
        seed=seed,
        n_class_images=len(class_images),
        concept_set_sizes={name: len(concept_sets[name]) for name in names},
        random_set_size=len(random_sets[0]),
    )


def run_tcav(
    card: ModelCard,
    concepts: Sequence[str],
    target: int,
    n_images: int = 50,
    n_random: int = MIN_RANDOM_SETS,
    seed: int = 0,
    layer_name: str | None = None,
    *,
    extra_concepts: Mapping[str, torch.Tensor] | None = None,
    alpha: float = DEFAULT_ALPHA,
    bonferroni: bool = False,
    progress: Progress | None = None,
) -> TCAVResult:
    """TCAV on the model's own dataset: the registered concept sets ``concepts`` of ``card.dataset``
    (:data:`xai_core.data.concepts.CONCEPTS`) plus ``extra_concepts`` ({name: float Tensor[n, C, H, W]}, e.g. a
    user's uploads), ``n_random`` random training-split sets and up to ``n_images`` test images of class
    ``target``; ``n_images`` images per concept and random set. Sets are drawn with ``seed``
    (see :mod:`xai_core.data.concepts`); the result's ``config`` records every argument."""
    if not card.dataset:
        raise ValueError(f"{card.id} names no training dataset to draw random and class images from")
    extra = dict(extra_concepts or {})
    clashes = sorted(set(extra) & set(concepts))
    if clashes:
        raise ValueError(f"concept name(s) used twice: {', '.join(clashes)}")
    report = progress or (lambda fraction, message: None)
    report(0.0, "building concept sets")
    concept_sets = {name: build_concept(card.dataset, name, n_images, seed) for name in concepts} | extra
    random_sets = random_concept_sets(card.dataset, n_images, n_random, seed)
    inputs = class_images(card.dataset, target, n_images, seed)
    result = tcav_scores(
        card,
        layer_name,
        concept_sets,
        random_sets,
        inputs,
        target,
        seed,
        alpha=alpha,
        bonferroni=bonferroni,
        progress=lambda fraction, message: report(0.02 + 0.98 * fraction, message),
    )
    result.config = {
        "model": card.id,
        "dataset": card.dataset,
        "concepts": list(concepts),
        "user_concepts": sorted(extra),
        "target": target,
        "n_images": n_images,
        "n_random": n_random,
        "seed": seed,
        "layer": result.layer,
        "alpha": alpha,
        "bonferroni": bonferroni,
        "class_images_split": "test",
        "random_sets_split": "train",
    }
    return result


def _loader(images: torch.Tensor) -> DataLoader:
    """Batches of one preprocessed concept set (captum's Concept iterates over input batches only)."""
    return DataLoader(images, batch_size=BATCH_SIZE, shuffle=False)


def _key(run: list[Concept]) -> str:
    return "-".join(str(concept.id) for concept in run)
