"""The one registry of every explanation method (the gradient and CAM families, and the SFT-GANs' LSFT and
GSFT), ``explain`` (maps of chosen methods for a batch) and ``explain_image`` (one image: prediction, every
method's map or the reason it does not apply, and optionally its scores): the call the Explain page, the
explanation bundle and the CLI share."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .attribution.base import Explainer, NotApplicable
from .attribution.cam import SCORE_CAM_BATCH, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from .attribution.gradient import GuidedBackpropExplainer, IntegratedGradientsExplainer, SmoothGrad, VanillaSaliency
from .models.card import ModelCard, Prediction
from .models.checkpoints import CheckpointError
from .sftgan.data import STRATEGIES
from .sftgan.explainer import GSFT, LSFT, SFTGANExplainer, choose_generator

EXPLAINERS: dict[str, type[Explainer]] = {
    "saliency": VanillaSaliency,
    "smoothgrad": SmoothGrad,
    "integrated_gradients": IntegratedGradientsExplainer,
    "guided_backprop": GuidedBackpropExplainer,
    "grad_cam": GradCAM,
    "grad_cam_pp": GradCAMPlusPlus,
    "score_cam": ScoreCAM,
    "layer_cam": LayerCAM,
    "lsft": LSFT,
    "gsft": GSFT,
}

METHOD_LABELS = {
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
    "integrated_gradients": "Integrated Gradients",
    "guided_backprop": "Guided Backprop",
    "grad_cam": "Grad-CAM",
    "grad_cam_pp": "Grad-CAM++",
    "score_cam": "Score-CAM",
    "layer_cam": "LayerCAM",
    "lsft": "LSFT-GAN",
    "gsft": "GSFT-GAN",
}


def generator_method(method: str) -> tuple[str, str] | None:
    """``"lsft-symbols"`` -> ("lsft", "symbols"): an SFT-GAN with a chosen generator; None for other names."""
    kind, _, strategy = method.partition("-")
    if kind in EXPLAINERS and issubclass(EXPLAINERS[kind], SFTGANExplainer) and strategy in STRATEGIES:
        return kind, strategy
    return None


def is_known_method(method: str) -> bool:
    return method in EXPLAINERS or generator_method(method) is not None


def method_label(method: str) -> str:
    """Display name: "Grad-CAM", "LSFT-GAN", or "LSFT-GAN (symbols)" for a chosen generator."""
    chosen = generator_method(method)
    return f"{METHOD_LABELS[chosen[0]]} ({chosen[1]})" if chosen else METHOD_LABELS.get(method, method)


def build_explainer(method: str, card: ModelCard, on_progress: Callable[[float], None] | None = None) -> Explainer:
    """An explainer for ``card.model`` with card-aware defaults: IG's baseline is a black image; the
    SFT-GANs use :func:`~xai_core.sftgan.explainer.choose_generator` (the model's own generator, photos for
    224-px RGB models, symbols for handwriting/glyph models, objects otherwise).
    ``<kind>-<strategy>`` (e.g. ``lsft-objects``) picks the generator explicitly (generalisation tests).
    ``on_progress(fraction)`` follows a long map (Score-CAM's masked passes)."""
    chosen = generator_method(method)
    if chosen is not None:
        return EXPLAINERS[chosen[0]](card.model, strategy=chosen[1])
    if method not in EXPLAINERS:
        raise KeyError(f"unknown method {method!r}; known: {', '.join(EXPLAINERS)} (or lsft|gsft-<strategy>)")
    if method == "integrated_gradients":
        black = torch.zeros(1, card.in_channels, *card.input_size)
        return IntegratedGradientsExplainer(card.model, baseline=card.preprocess(black))
    if issubclass(EXPLAINERS[method], SFTGANExplainer):
        choice = choose_generator(card, method)
        return EXPLAINERS[method](card.model, generator_id=choice.generator_id, max_side=choice.max_side)
    if method == "score_cam":
        return ScoreCAM(card.model, on_progress=on_progress)
    return EXPLAINERS[method](card.model)


# the app computes a map needing more passes than this only when asked (Score-CAM on a last layer wider than 511
# channels: 1,281 passes for EfficientNet-Lite0), showing its estimated time (docs/benchmarks.md has measured ones)
ON_REQUEST_PASSES = 512


def method_passes(card: ModelCard, methods: Sequence[str]) -> dict[str, int]:
    """{method: passes through ``card.model`` its map of one image costs} (see :meth:`Explainer.passes`), for ordering
    maps cheapest first and, with :func:`seconds_per_pass`, estimating how long each takes."""
    example = card.preprocess(torch.zeros(1, card.in_channels, *card.input_size))
    return {method: build_explainer(method, card).passes(example) for method in methods}


def seconds_per_pass(card: ModelCard, image: torch.Tensor, batch: int = SCORE_CAM_BATCH) -> float:
    """Wall seconds of one forward pass of ``image`` (Tensor[C,H,W] in [0,1]) through ``card.model``, from a
    batched pass of ``batch`` copies (Score-CAM's batch; the fastest of three): with :func:`method_passes`, an
    estimate of a map's time."""
    inputs = card.preprocess(image).expand(batch, -1, -1, -1).contiguous()
    timings = []
    with torch.inference_mode():
        for _ in range(3):  # the first call of a batch shape also builds its kernels: the fastest of three
            started = time.perf_counter()
            card.model(inputs)
            timings.append(time.perf_counter() - started)
    return min(timings) / batch


def explain(card: ModelCard, images: torch.Tensor, methods: Sequence[str] = tuple(EXPLAINERS), target=None) -> dict[str, torch.Tensor]:
    """Maps of every method for images in [0, 1] ([C,H,W] or [N,C,H,W]).

    Returns {method: Tensor[N, 1, *card.input_size] in [0, 1]}; ``target`` None explains the prediction.
    """
    inputs = card.preprocess(images)
    return {method: build_explainer(method, card).attribute(inputs, target) for method in methods}


# (card, image Tensor[C,H,W], maps {method: Tensor[1,1,H,W]}, target, mask Tensor[1,H,W] | None) -> {method: {name: value}}
BadgeFunction = Callable[[ModelCard, torch.Tensor, dict, int, "torch.Tensor | None"], dict]


@dataclass
class ImageExplanation:
    """One image explained: the top-5 ``predictions``, the ``target`` class explained and its probability, each
    method's map Tensor[1, 1, *card.input_size] in [0, 1], the reason for each method that does not apply (a model
    it is undefined on, generator weights that cannot be loaded), and per-method scores when asked for."""

    predictions: list[Prediction]
    target: int
    target_probability: float
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    badges: dict[str, dict[str, float]] = field(default_factory=dict)


def explain_image(
    card: ModelCard,
    image: torch.Tensor,
    methods: Sequence[str],
    target: int | None = None,
    mask: torch.Tensor | None = None,
    *,
    badges: BadgeFunction | None = None,
    seed: int | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> ImageExplanation:
    """Predict and explain one image Tensor[C,H,W] in [0,1] with each of ``methods``; ``target`` None explains
    the prediction (ValueError outside the classes). Each method runs after ``torch.manual_seed(seed)`` when a
    seed is given (SmoothGrad's noise). ``badges`` (e.g. :func:`xai_core.metrics.badges.image_badges`) scores
    the maps, with ``mask`` Tensor[1,H,W] (foreground > 0.5) or None. ``on_progress(fraction, message)``
    follows each method (and the masked passes of Score-CAM within it)."""
    with torch.no_grad():
        probabilities = card.probabilities(image)[0]
    top = probabilities.topk(min(5, len(card.classes)))
    predictions = [Prediction(int(i), card.classes[int(i)], float(p)) for p, i in zip(top.values, top.indices)]
    target = predictions[0].label if target is None else int(target)
    if not 0 <= target < len(card.classes):
        raise ValueError(f"target must be in 0..{len(card.classes) - 1}, got {target}")
    result = ImageExplanation(predictions, target, float(probabilities[target]))
    steps = len(methods) + (badges is not None)
    inputs = card.preprocess(image)
    for done, method in enumerate(methods, start=1):
        if seed is not None:
            torch.manual_seed(seed)

        def within(fraction: float, done: int = done, method: str = method) -> None:
            if on_progress is not None:
                on_progress((done - 1 + fraction) / steps, method)

        try:
            result.maps[method] = build_explainer(method, card, on_progress=within).attribute(inputs, target)
        except NotApplicable as reason:
            result.not_applicable[method] = str(reason)
        except CheckpointError as error:
            result.not_applicable[method] = f"its weights cannot be loaded ({error})"
        if on_progress is not None:
            on_progress(done / steps, method)
    if badges is not None:
        result.badges = badges(card, image, result.maps, target, mask)
        if on_progress is not None:
            on_progress(1.0, "scores")
    return result
