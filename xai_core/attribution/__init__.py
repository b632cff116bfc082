"""Explainers: gradient family (captum), CAM family (own hooks), all-layer Grad-CAM and CGMAs."""

from .base import Explainer, NotApplicable, normalise_maps
from .cam import CAMExplainer, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from .gradient import GuidedBackpropExplainer, IntegratedGradientsExplainer, SmoothGrad, VanillaSaliency
from .hooks import conv_layers_in_execution_order, record_activations
from .layers import DEFAULT_ETA, LayerGradCams, cumulative_gradcam_averages, layer_gradcams, layer_positions
from .registry import EXPLAINERS, METHOD_LABELS, build_explainer, explain
from .tcav import ConceptScore, TCAVResult, default_layer, run_tcav, tcav_scores

__all__ = [
    "CAMExplainer", "ConceptScore", "DEFAULT_ETA", "EXPLAINERS", "Explainer", "GradCAM", "GradCAMPlusPlus", "GuidedBackpropExplainer",
    "IntegratedGradientsExplainer", "LayerCAM", "LayerGradCams", "METHOD_LABELS", "NotApplicable", "ScoreCAM", "SmoothGrad", "TCAVResult",
    "VanillaSaliency", "build_explainer", "conv_layers_in_execution_order", "cumulative_gradcam_averages", "default_layer", "explain",
    "layer_gradcams", "layer_positions", "normalise_maps", "record_activations", "run_tcav", "tcav_scores",
]
