"""Survey design: which images, which method pairs, where the attention checks go, and the rendered
stimuli (PNG bytes) a survey stores, with the automatic metrics of each map for later correlation.

The paper's classification survey (SFT-GANs §6.1, Fig. 17): 20 questions, each an image with its
LSFT-GAN and Grad-CAM interpretations; volunteers pick the more understandable one (or "equally good").
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch

from ..attribution.registry import EXPLAINERS, generator_method, is_known_method
from ..data import load_dataset
from ..metrics.agreement import rank_correlation
from ..metrics.robustness import salt_and_pepper
from ..metrics.suite import METRICS, EvaluationSettings, MethodBatch, method_map_function
from ..models import ModelCard, load_model
from ..sftgan.explainer import SFTGANExplainer, generator_info, strategy_for
from ..unified.explainability_score import NOISE_AMOUNT
from ..unified.overlays import enlarge, overlay, png_bytes
from ..versions import library_versions
from .repository import StimulusData, SurveyStore

ATTENTION_KINDS = {"noise": "attention_noise", "identical": "attention_identical"}
SURVEY_METRICS = ("average_drop", "increase_in_confidence", "deletion_auc", "insertion_auc", "energy_pointing_game",
                  "background_error")
ROBUSTNESS_METRIC = "noise_robustness"  # the explainability score's robustness part, per image (see its docs)
MAX_QUESTIONS = 200
DEFAULT_CONSENT = (
    "This study asks which of two explanations of an image classifier you find easier to understand. "
    "It takes about 10 minutes. Taking part is voluntary and you may stop at any time. We store your answers, "
    "how long each took, and a random participant id (or your Prolific id); no name, e-mail or IP address. "
    "The anonymised answers may be published.")
DEFAULT_INSTRUCTIONS = (
    "Each question shows an image that a neural network classified, and two explanations of its decision as heat "
    "maps over the image: warm colours (red, yellow) mark the regions the explanation says mattered most. "
    "Choose the explanation that makes it easier to understand why the network decided as it did, or "
    "\"Equally good\". There are no right or wrong answers; some questions check that you are paying attention.")

ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class SurveyDesign:
    """Everything that fixes a survey's questions. ``dataset`` "" means the images are uploaded."""

    title: str
    methods: tuple[str, ...]
    model_id: str
    dataset: str = ""
    split: str = "test"
    questions: int = 20
    seed: int = 0
    attention_checks: int = 2
    attention_kinds: tuple[str, ...] = ("noise", "identical")
    consent_text: str = DEFAULT_CONSENT
    instructions: str = DEFAULT_INSTRUCTIONS
    shuffle_questions: bool = True
    colormap: str = "jet"
    opacity: float = 0.5
    display_side: int = 224

    def validate(self) -> None:
        if len(set(self.methods)) < 2:
            raise ValueError("choose at least two different methods to compare")
        unknown = [m for m in self.methods if not is_known_method(m)]
        if unknown:
            raise ValueError(f"unknown method(s): {', '.join(unknown)}")
        if not 1 <= self.questions <= MAX_QUESTIONS:
            raise ValueError(f"the number of questions must be between 1 and {MAX_QUESTIONS}")
        if self.attention_checks < 0 or (self.attention_checks and not self.attention_kinds):
            raise ValueError("attention checks need at least one kind (noise, identical)")
        bad_kinds = set(self.attention_kinds) - set(ATTENTION_KINDS)
        if bad_kinds:
            raise ValueError(f"unknown attention check kind(s) {sorted(bad_kinds)}; known: {', '.join(ATTENTION_KINDS)}")


DEMO_DESIGN = SurveyDesign(title="Which explanation is easier to understand? LSFT-GAN vs Grad-CAM on MNIST (demo)",
                           methods=("lsft", "grad_cam"), model_id="vgg-mnist", dataset="mnist")


def method_pairs(methods: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair, in the given order: (m0, m1), (m0, m2), ..., (m1, m2), ..."""
    return list(itertools.combinations(dict.fromkeys(methods), 2))


def balanced_indices(labels: torch.Tensor, count: int, seed: int) -> list[int]:
    """``count`` distinct dataset indices, classes taken in turn (seeded), so every class appears about equally."""
    draw = random.Random(seed)
    by_class = {int(label): torch.nonzero(labels == label).flatten().tolist() for label in labels.unique()}
    for indices in by_class.values():
        draw.shuffle(indices)
    classes = list(by_class)
    draw.shuffle(classes)
    chosen: list[int] = []
    while len(chosen) < count and any(by_class.values()):
        for label in classes:
            if by_class[label] and len(chosen) < count:
                chosen.append(by_class[label].pop())
    if len(chosen) < count:
        raise ValueError(f"the dataset has only {len(chosen)} images; {count} are needed")
    return chosen


def model_versions(card: ModelCard, methods: Sequence[str]) -> dict:
    """sha256 of the CNN and of each SFT-GAN generator a method uses: recorded with every vote."""
    versions = {card.id: card.provenance.get("sha256", "")}
    for method in methods:
        uses_default_generator = method in EXPLAINERS and issubclass(EXPLAINERS[method], SFTGANExplainer)
        chosen = generator_method(method) or ((method, strategy_for(card.dataset)) if uses_default_generator else None)
        if chosen:
            generator_id = f"{chosen[0]}-{chosen[1]}"
            versions[generator_id] = generator_info(generator_id).get("sha256", "")
    return versions


def _stimulus_plan(design: SurveyDesign) -> list[tuple[str, tuple[str, str]]]:
    """[(kind, (method_a, method_b))] in design order: questions cycle through the method pairs; attention
    checks (alternating kinds) are placed at seeded positions, never first."""
    pairs = method_pairs(design.methods)
    plan = [("question", pairs[i % len(pairs)]) for i in range(design.questions)]
    draw = random.Random(design.seed)
    for i in range(design.attention_checks):
        kind = ATTENTION_KINDS[design.attention_kinds[i % len(design.attention_kinds)]]
        method = design.methods[i % len(design.methods)]
        plan.insert(draw.randint(1, len(plan)), (kind, (method, method)))
    return plan


def build_stimuli(design: SurveyDesign, card: ModelCard, images: torch.Tensor, sources: Sequence[str],
                  masks: torch.Tensor | None = None, on_progress: ProgressCallback | None = None) -> list[StimulusData]:
    """Render every question. images: Tensor[N, C, H, W] in [0, 1] (cycled when fewer than the questions);
    sources: one description per image; masks: bool Tensor[N, 1, H, W] or None. Maps explain the predicted
    class. Each question stores both maps' SURVEY_METRICS (those needing masks only with masks) and their
    robustness to 10 % salt-and-pepper noise. Noise checks pair a method's map with uniform noise (expected answer: that map, "a"); identical
    checks show one map twice (expected: "equal")."""
    design.validate()
    report = on_progress or (lambda _done, _message: None)
    plan = _stimulus_plan(design)
    pick = [i % images.shape[0] for i in range(len(plan))]
    inputs = card.resize(images[pick])
    chosen_masks = None if masks is None else card.resize(masks[pick].float()) > 0.5
    with torch.inference_mode():
        probabilities = card.probabilities(inputs)
    targets = probabilities.argmax(dim=1)
    maps, metrics = {}, {}
    for step, method in enumerate(dict.fromkeys(design.methods)):
        report(step / (len(design.methods) + 1), f"Explaining {len(plan)} images with {method} ...")
        maps[method] = method_map_function(card, method, seed=design.seed)(inputs, targets)
        batch = MethodBatch(card, method, inputs, targets, chosen_masks, maps[method], maps[method], EvaluationSettings(),
                            design.seed)
        metrics[method] = {name: METRICS[name].evaluate_batch(batch) for name in SURVEY_METRICS
                           if not METRICS[name].needs_mask or chosen_masks is not None}
        noisy_maps = method_map_function(card, method, seed=design.seed)(salt_and_pepper(inputs, NOISE_AMOUNT, design.seed), targets)
        metrics[method][ROBUSTNESS_METRIC] = rank_correlation(noisy_maps, maps[method]).clamp(min=0)
    report(len(design.methods) / (len(design.methods) + 1), "Rendering the questions ...")
    noise = torch.rand(len(plan), 1, *card.input_size, generator=torch.Generator().manual_seed(design.seed))
    stimuli = []
    for index, (kind, (method_a, method_b)) in enumerate(plan):
        image = inputs[index]
        map_a = maps[method_a][index]
        map_b = {"attention_noise": noise[index], "attention_identical": map_a}.get(kind, maps[method_b][index])
        render = lambda saliency: png_bytes(overlay(image, saliency, design.opacity, design.colormap, design.display_side))  # noqa: E731
        image_array = (image.expand(3, -1, -1) if image.shape[0] == 1 else image).permute(1, 2, 0).mul(255).round().byte().numpy()
        confidence, predicted = probabilities[index].max(dim=0)
        stimuli.append(StimulusData(
            kind=kind, method_a=method_a, method_b=method_b if kind == "question" else method_a,
            image_png=png_bytes(enlarge(image_array, design.display_side)), map_a_png=render(map_a), map_b_png=render(map_b),
            expected_answer={"attention_noise": "a", "attention_identical": "equal"}.get(kind),
            details={"source": sources[pick[index]], "prediction": card.classes[int(predicted)],
                     "confidence": round(float(confidence), 6),
                     "image_sha256": hashlib.sha256(image.numpy().tobytes()).hexdigest()},
            metrics=[] if kind != "question" else [
                {"method": method, "metric": name, "value": float(values[index]),
                 "higher_is_better": name == ROBUSTNESS_METRIC or METRICS[name].higher_is_better}
                for method in (method_a, method_b) for name, values in metrics[method].items()]))
    report(1.0, f"{len(stimuli)} questions rendered")
    return stimuli


def create_survey(store: SurveyStore, design: SurveyDesign, images: Sequence[torch.Tensor] | None = None,
                  sources: Sequence[str] | None = None, on_progress: ProgressCallback | None = None) -> str:
    """Build and store a survey (status "draft"); returns its code. Images come from ``design.dataset``
    (class-balanced, seeded) unless ``images`` are given (e.g. uploads: Tensor[C, H, W] each in [0, 1], any size and
    channel count; each is resized to the model's input)."""
    design.validate()
    card = load_model(design.model_id)
    masks, uploaded = None, images is not None
    if uploaded:
        if len(images) == 0:
            raise ValueError("upload at least one image")
        images = torch.cat([card.resize(image) for image in images])
    else:
        if not design.dataset:
            raise ValueError("choose a dataset or upload images")
        dataset = load_dataset(design.dataset, design.split)
        needed = design.questions + design.attention_checks
        indices = balanced_indices(dataset.labels, min(needed, len(dataset)), design.seed)
        images = dataset.float_images(torch.tensor(indices))
        masks = None if dataset.masks is None else dataset.masks[indices]
        sources = [f"{design.dataset}/{design.split}#{i} ({dataset.classes[int(dataset.labels[i])]})" for i in indices]
    if sources is None or len(sources) != images.shape[0]:
        sources = [f"upload #{i + 1}" for i in range(images.shape[0])]
    stimuli = build_stimuli(design, card, images, sources, masks, on_progress)
    settings = {key: value for key, value in asdict(design).items() if key not in ("title", "consent_text", "instructions")}
    settings.update(model_versions=model_versions(card, design.methods), library_versions=library_versions(),
                    images="uploaded" if uploaded else "dataset")
    return store.create_survey(design.title, list(design.methods), stimuli, model_id=design.model_id,
                               dataset="" if uploaded else design.dataset, seed=design.seed, consent_text=design.consent_text,
                               instructions=design.instructions, settings=settings)
