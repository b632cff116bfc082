"""Survey design: which images, which method pairs, where the attention checks go, and the rendered
stimuli (PNG bytes) a survey stores, with the automatic metrics of each map for later correlation.

The paper's classification survey (SFT-GANs §6.1, Fig. 17): 20 questions, each an image with its
LSFT-GAN and Grad-CAM interpretations; volunteers pick the more understandable one (or "equally good").
Its captioning survey (§6.2): 10 questions, each an image, its generated caption and two interpretations of
one word of it. Both are analysed alike (``analysis.py``).
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch

from ..attribution.agreement import rank_correlation
from ..captioning import (
    CAPTION_METHODS,
    Captioner,
    caption_images,
    captioner_info,
    load_captioner,
    mass_on_object,
    word_explanations,
    word_objects,
    word_role,
)
from ..data import load_dataset
from ..data.captioning import NO_OBJECT, SCENE_SIZE, SPLIT_SIZES, make_scene
from ..explainers import EXPLAINERS, generator_method, is_known_method
from ..imaging import fit_to_side, image_to_rgb, overlay, png_bytes, to_uint8
from ..metrics.explainability_score import NOISE_AMOUNT
from ..metrics.robustness import salt_and_pepper
from ..metrics.suite import METRICS, EvaluationSettings, MethodBatch, method_map_function
from ..models import ModelCard, load_model
from ..sftgan.explainer import SFTGANExplainer, choose_generator, generator_info
from ..versions import library_versions
from .repository import StimulusData, SurveyStore

ATTENTION_KINDS = {"noise": "attention_noise", "identical": "attention_identical"}
SURVEY_METRICS = ("average_drop", "increase_in_confidence", "deletion_auc", "insertion_auc", "energy_pointing_game", "background_error")
ROBUSTNESS_METRIC = "noise_robustness"  # the explainability score's robustness part, per image (see its docs)
MAX_QUESTIONS = 200
DEFAULT_CONSENT = (
    "This study asks which of two explanations of an image classifier you find easier to understand. "
    "It takes about 10 minutes. Taking part is voluntary and you may stop at any time. We store your answers, "
    "how long each took, and a random participant id (or your Prolific id); no name, e-mail or IP address. "
    "The anonymised answers may be published."
)
DEFAULT_INSTRUCTIONS = (
    "Each question shows an image that a neural network classified, and two explanations of its decision as heat "
    "maps over the image: warm colours (red, yellow) mark the regions the explanation says mattered most. "
    "Choose the explanation that makes it easier to understand why the network decided as it did, or "
    '"Equally good". There are no right or wrong answers; some questions check that you are paying attention.'
)

CAPTIONING_CONSENT = (
    "This study asks which of two explanations of an image-captioning network you find easier to understand. "
    "It takes about 5 minutes. Taking part is voluntary and you may stop at any time. We store your answers, "
    "how long each took, and a random participant id (or your Prolific id); no name, e-mail or IP address. "
    "The anonymised answers may be published."
)
CAPTIONING_INSTRUCTIONS = (
    "Each question shows an image, the caption a neural network wrote for it with one word highlighted, and two "
    "explanations of that word as heat maps over the image: warm colours (red, yellow) mark the regions the explanation "
    "says the network looked at. Choose the explanation that better shows what the network looked at when it wrote the "
    'highlighted word, or "Equally good". There are no right or wrong answers; some questions check that you are '
    "paying attention."
)
TASKS = ("classification", "captioning")
CAPTIONING_DATASET = "captioning"
CAPTION_METRIC = "mass_on_object"
RELATION_QUESTION_EVERY = 4  # every 4th stimulus asks about a relation word when its caption has one

ProgressCallback = Callable[[float, str], None]


@dataclass(frozen=True)
class SurveyDesign:
    """Everything that fixes a survey's questions. ``dataset`` "" means the images are uploaded.

    ``task`` "classification" explains a classifier's (``model_id``) prediction; "captioning" explains one word of the
    caption a captioner (``model_id``, e.g. "captioner-resnet") writes for a scene of the "captioning" dataset, with
    methods from CAPTION_METHODS (start from CAPTIONING_DESIGN: 10 questions, captioning consent and instructions)."""

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
    task: str = "classification"

    def validate(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; known: {', '.join(TASKS)}")
        if len(set(self.methods)) < 2:
            raise ValueError("choose at least two different methods to compare")
        captioning = self.task == "captioning"
        unknown = [m for m in self.methods if not (m in CAPTION_METHODS if captioning else is_known_method(m))]
        if unknown:
            raise ValueError(
                f"unknown method(s): {', '.join(unknown)}"
                + (f" (a captioning survey compares {', '.join(CAPTION_METHODS)})" if captioning else "")
            )
        if captioning and self.dataset != CAPTIONING_DATASET:
            raise ValueError(
                f"a captioning survey shows scenes of the {CAPTIONING_DATASET!r} dataset, not {self.dataset or 'uploaded images'!r}"
            )
        if captioning and self.split not in SPLIT_SIZES:
            raise ValueError(f"the {CAPTIONING_DATASET!r} dataset's splits are {', '.join(SPLIT_SIZES)}, not {self.split!r}")
        if not 1 <= self.questions <= MAX_QUESTIONS:
            raise ValueError(f"the number of questions must be between 1 and {MAX_QUESTIONS}")
        if self.attention_checks < 0 or (self.attention_checks and not self.attention_kinds):
            raise ValueError("attention checks need at least one kind (noise, identical)")
        bad_kinds = set(self.attention_kinds) - set(ATTENTION_KINDS)
        if bad_kinds:
            raise ValueError(f"unknown attention check kind(s) {sorted(bad_kinds)}; known: {', '.join(ATTENTION_KINDS)}")


DEMO_DESIGN = SurveyDesign(
    title="Which explanation is easier to understand? LSFT-GAN vs Grad-CAM on MNIST (demo)",
    methods=("lsft", "grad_cam"),
    model_id="vgg-mnist",
    dataset="mnist",
)
CAPTIONING_DESIGN = SurveyDesign(
    title="Which map shows what the captioner looked at? LSFT-GAN vs Grad-CAM on captioning scenes",
    methods=("lsft", "grad_cam"),
    model_id="captioner-resnet",
    dataset=CAPTIONING_DATASET,
    questions=10,
    consent_text=CAPTIONING_CONSENT,
    instructions=CAPTIONING_INSTRUCTIONS,
    task="captioning",
)
TASK_DESIGNS = {"classification": DEMO_DESIGN, "captioning": CAPTIONING_DESIGN}  # each task's defaults


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
        chosen = generator_method(method)
        if chosen:
            generator_id = f"{chosen[0]}-{chosen[1]}"
        elif method in EXPLAINERS and issubclass(EXPLAINERS[method], SFTGANExplainer):
            generator_id = choose_generator(card, method).generator_id
        else:
            continue
        versions[generator_id] = generator_info(generator_id).get("sha256", "")
    return versions


def captioning_versions(captioner_id: str, methods: Sequence[str]) -> dict:
    """sha256 of the captioner and of each SFT-GAN generator a captioning method uses (CAPTION_METHODS runs the
    "objects" generators)."""
    versions = {captioner_id: captioner_info(captioner_id).get("sha256", "")}
    for method in methods:
        if issubclass(EXPLAINERS[method], SFTGANExplainer):
            versions[f"{method}-objects"] = generator_info(f"{method}-objects").get("sha256", "")
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


def build_stimuli(
    design: SurveyDesign,
    card: ModelCard,
    images: torch.Tensor,
    sources: Sequence[str],
    masks: torch.Tensor | None = None,
    on_progress: ProgressCallback | None = None,
) -> list[StimulusData]:
    """Render every question. images: Tensor[N, C, H, W] in [0, 1] (cycled when fewer than the questions);
    sources: one description per image; masks: bool Tensor[N, 1, H, W] or None. Maps explain the predicted
    class. Each question stores both maps' SURVEY_METRICS (those needing masks only with masks) and their
    robustness to 10 % salt-and-pepper noise. Noise checks pair a method's map with uniform noise (expected answer:
    that map, "a"); identical checks show one map twice (expected: "equal"). Long: one batched pass per method
    over every image, then one stimulus per planned question, in the plan's order."""
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
        batch = MethodBatch(card, method, inputs, targets, chosen_masks, maps[method], maps[method], EvaluationSettings(), design.seed)
        metrics[method] = {
            name: METRICS[name].evaluate_batch(batch) for name in SURVEY_METRICS if not METRICS[name].needs_mask or chosen_masks is not None
        }
        noisy_maps = method_map_function(card, method, seed=design.seed)(salt_and_pepper(inputs, NOISE_AMOUNT, design.seed), targets)
        metrics[method][ROBUSTNESS_METRIC] = rank_correlation(noisy_maps, maps[method]).clamp(min=0)
    report(len(design.methods) / (len(design.methods) + 1), "Rendering the questions ...")
    noise = torch.rand(len(plan), 1, *card.input_size, generator=torch.Generator().manual_seed(design.seed))
    stimuli = []
    for index, (kind, (method_a, method_b)) in enumerate(plan):
        image = inputs[index]
        map_a = maps[method_a][index]
        confidence, predicted = probabilities[index].max(dim=0)
        stimuli.append(
            _stimulus(
                design,
                kind,
                (method_a, method_b),
                image,
                map_a,
                {"attention_noise": noise[index], "attention_identical": map_a}.get(kind, maps[method_b][index]),
                details={
                    "source": sources[pick[index]],
                    "prediction": card.classes[int(predicted)],
                    "confidence": round(float(confidence), 6),
                },
                metrics=[]
                if kind != "question"
                else [
                    {
                        "method": method,
                        "metric": name,
                        "value": float(values[index]),
                        "higher_is_better": name == ROBUSTNESS_METRIC or METRICS[name].higher_is_better,
                    }
                    for method in (method_a, method_b)
                    for name, values in metrics[method].items()
                ],
            )
        )
    report(1.0, f"{len(stimuli)} questions rendered")
    return stimuli


def _stimulus(
    design: SurveyDesign,
    kind: str,
    methods: tuple[str, str],
    image: torch.Tensor,
    map_a: torch.Tensor,
    map_b: torch.Tensor,
    details: dict,
    metrics: list,
) -> StimulusData:
    """One rendered stimulus: image Tensor[C, H, W] in [0, 1], maps Tensor[1, H, W] (map_b is noise or map_a again in
    attention checks, whose method_b is method_a); ``details`` gain the image's sha256."""
    render = lambda saliency: png_bytes(overlay(image, saliency, design.opacity, design.colormap, design.display_side))  # noqa: E731
    return StimulusData(
        kind=kind,
        method_a=methods[0],
        method_b=methods[1] if kind == "question" else methods[0],
        image_png=png_bytes(fit_to_side(to_uint8(image_to_rgb(image)), design.display_side)),
        map_a_png=render(map_a),
        map_b_png=render(map_b),
        expected_answer={"attention_noise": "a", "attention_identical": "equal"}.get(kind),
        details={**details, "image_sha256": hashlib.sha256(image.numpy().tobytes()).hexdigest()},
        metrics=metrics,
    )


def caption_word(words: Sequence[str], objects: Sequence[tuple], index: int, seed: int) -> int:
    """The position of the word that stimulus ``index`` (design order) asks about: a seeded choice among the caption's
    relation words ("left", "of", "above", ...) when ``index`` is 3, 7, 11, ... (every RELATION_QUESTION_EVERY-th) and the
    caption has one; otherwise among its colour and shape words that name one of the scene's ``objects``
    (``word_objects``), else any colour or shape word (a wrong caption), else any word. Articles are not chosen while
    another word is left. With 70 % two-object scenes, about one stimulus in six asks about a relation word."""
    if not words:
        raise ValueError("the caption has no words")
    roles, named = [word_role(word) for word in words], word_objects(words, objects)
    relations = [p for p, role in enumerate(roles) if role == "relation"]
    naming = [p for p, role in enumerate(roles) if role in ("colour", "shape") and named[p] != NO_OBJECT]
    nouns = [p for p, role in enumerate(roles) if role in ("colour", "shape")]
    asks_relation = index % RELATION_QUESTION_EVERY == RELATION_QUESTION_EVERY - 1
    candidates = (relations if asks_relation else []) or naming or nouns or relations or list(range(len(words)))
    return random.Random(f"{seed}:{index}").choice(candidates)


def build_caption_stimuli(design: SurveyDesign, captioner: Captioner, on_progress: ProgressCallback | None = None) -> list[StimulusData]:
    """Render every stimulus of a captioning survey (SFT-GANs §6.2): a seeded sample of distinct scenes of
    ``design.split``, the captioner's greedy caption of each, one word of it (``caption_word``) and the design's maps
    of that word (``word_explanations`` over the whole caption). details: source, caption (generated), true_caption,
    word, word_position (in the generated caption), role, word_probability, image_sha256. A question stores each
    map's mass_on_object when the word names one of the scene's objects; attention checks are as in ``build_stimuli``.
    Long: the same plan-ordered stimulus loop as ``build_stimuli``, over captions and words."""
    design.validate()
    report = on_progress or (lambda _done, _message: None)
    plan = _stimulus_plan(design)
    if len(plan) > SPLIT_SIZES[design.split]:
        raise ValueError(f"the captioning {design.split} split has only {SPLIT_SIZES[design.split]} scenes; {len(plan)} are needed")
    indices = random.Random(design.seed).sample(range(SPLIT_SIZES[design.split]), len(plan))
    scenes = [make_scene(design.split, index) for index in indices]
    report(0.0, f"Captioning {len(plan)} scenes ...")
    captions = caption_images(captioner, torch.stack([scene.image for scene in scenes]))
    noise = torch.rand(len(plan), 1, SCENE_SIZE, SCENE_SIZE, generator=torch.Generator().manual_seed(design.seed))
    stimuli = []
    for index, ((kind, (method_a, method_b)), scene, words) in enumerate(zip(plan, scenes, captions)):
        report(index / len(plan), f"Explaining the words of question {index + 1} of {len(plan)} ...")
        source = f"{CAPTIONING_DATASET}/{design.split}#{indices[index]}"
        if not words:
            raise ValueError(f"the captioner wrote an empty caption for {source}")
        position = caption_word(words, scene.objects, index, design.seed)
        image = scene.image.float() / 255
        explanation = word_explanations(captioner, image, words, tuple(dict.fromkeys((method_a, method_b))))
        explanation.objects = word_objects(words, scene.objects)
        map_a = explanation.maps[method_a][position]
        metrics = []
        if kind == "question" and explanation.objects[position] != NO_OBJECT:
            word_masks = explanation.word_masks(scene.masks)
            metrics = [
                {
                    "method": method,
                    "metric": CAPTION_METRIC,
                    "higher_is_better": True,
                    "value": float(mass_on_object(explanation.maps[method], word_masks)[position]),
                }
                for method in (method_a, method_b)
            ]
        stimuli.append(
            _stimulus(
                design,
                kind,
                (method_a, method_b),
                image,
                map_a,
                {"attention_noise": noise[index], "attention_identical": map_a}.get(kind, explanation.maps[method_b][position]),
                details={
                    "source": source,
                    "caption": " ".join(words),
                    "true_caption": scene.caption,
                    "word": words[position],
                    "word_position": position,
                    "role": word_role(words[position]),
                    "word_probability": round(float(explanation.probabilities[position]), 6),
                },
                metrics=metrics,
            )
        )
    report(1.0, f"{len(stimuli)} questions rendered")
    return stimuli


def create_survey(
    store: SurveyStore,
    design: SurveyDesign,
    images: Sequence[torch.Tensor] | None = None,
    sources: Sequence[str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Build and store a survey (status "draft"); returns its code. Images come from ``design.dataset``
    (class-balanced, seeded; unlabelled data too, e.g. a folder of photos: maps always explain the prediction) unless
    ``images`` are given (e.g. uploads: Tensor[C, H, W] each in [0, 1], any size and channel count; each is resized
    to the model's input). A captioning survey uses the captioning scenes only."""
    design.validate()
    if design.task == "captioning":
        if images is not None:
            raise ValueError("a captioning survey shows the captioning scenes; uploaded images are not supported")
        stimuli = build_caption_stimuli(design, load_captioner(design.model_id), on_progress)
        return _store_survey(store, design, stimuli, captioning_versions(design.model_id, design.methods), uploaded=False)
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
        sources = [dataset.describe(i, design.dataset) for i in indices]
    if sources is None or len(sources) != images.shape[0]:
        sources = [f"upload #{i + 1}" for i in range(images.shape[0])]
    stimuli = build_stimuli(design, card, images, sources, masks, on_progress)
    return _store_survey(store, design, stimuli, model_versions(card, design.methods), uploaded)


def _store_survey(store: SurveyStore, design: SurveyDesign, stimuli: list[StimulusData], versions: dict, uploaded: bool) -> str:
    """Store the stimuli with settings: the design (task included) less its texts, the model versions and the libraries."""
    settings = {key: value for key, value in asdict(design).items() if key not in ("title", "consent_text", "instructions")}
    settings.update(model_versions=versions, library_versions=library_versions(), images="uploaded" if uploaded else "dataset")
    return store.create_survey(
        design.title,
        list(design.methods),
        stimuli,
        model_id=design.model_id,
        dataset="" if uploaded else design.dataset,
        seed=design.seed,
        consent_text=design.consent_text,
        instructions=design.instructions,
        settings=settings,
    )
