"""The explainer registry, and ``explain``: every chosen method on images through a model card."""

from __future__ import annotations

from typing import Sequence

import torch

from .models.card import ModelCard
from .sftgan.data import STRATEGIES
from .sftgan.explainer import GSFT, LSFT, SFTGANExplainer, strategy_for
from .attribution.base import Explainer
from .attribution.cam import GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from .attribution.gradient import GuidedBackpropExplainer, IntegratedGradientsExplainer, SmoothGrad, VanillaSaliency

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
    "saliency": "Saliency", "smoothgrad": "SmoothGrad", "integrated_gradients": "Integrated Gradients",
    "guided_backprop": "Guided Backprop", "grad_cam": "Grad-CAM", "grad_cam_pp": "Grad-CAM++",
    "score_cam": "Score-CAM", "layer_cam": "LayerCAM", "lsft": "LSFT-GAN", "gsft": "GSFT-GAN",
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


def build_explainer(method: str, card: ModelCard) -> Explainer:
    """An explainer for ``card.model`` with card-aware defaults: IG's baseline is a black image; the
    SFT-GANs use the generator trained on symbols for handwriting/glyph models, on objects otherwise.
    ``<kind>-<strategy>`` (e.g. ``lsft-objects``) picks the generator explicitly (generalisation tests)."""
    chosen = generator_method(method)
    if chosen is not None:
        return EXPLAINERS[chosen[0]](card.model, strategy=chosen[1])
    if method not in EXPLAINERS:
        raise KeyError(f"unknown method {method!r}; known: {', '.join(EXPLAINERS)} (or lsft|gsft-<strategy>)")
    if method == "integrated_gradients":
        black = torch.zeros(1, card.in_channels, *card.input_size)
        return IntegratedGradientsExplainer(card.model, baseline=card.preprocess(black))
    if issubclass(EXPLAINERS[method], SFTGANExplainer):
        return EXPLAINERS[method](card.model, strategy=strategy_for(card.dataset))
    return EXPLAINERS[method](card.model)


def explain(card: ModelCard, images: torch.Tensor, methods: Sequence[str] = tuple(EXPLAINERS), target=None) -> dict[str, torch.Tensor]:
    """Maps of every method for images in [0, 1] ([C,H,W] or [N,C,H,W]).

    Returns {method: Tensor[N, 1, *card.input_size] in [0, 1]}; ``target`` None explains the prediction.
    """
    inputs = card.preprocess(images)
    return {method: build_explainer(method, card).attribute(inputs, target) for method in methods}
