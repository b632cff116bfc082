"""Explainers: gradient family (captum), CAM family (own hooks), all-layer Grad-CAM and CGMAs."""

from .base import Explainer, NotApplicable, normalise_maps
from .cam import CAMExplainer, GradCAM, GradCAMPlusPlus, LayerCAM, ScoreCAM
from .gradient import GuidedBackpropExplainer, IntegratedGradientsExplainer, SmoothGrad, VanillaSaliency
from .hooks import conv_layers_in_execution_order, record_activations
from .layers import DEFAULT_ETA, LayerGradCams, cumulative_gradcam_averages, layer_gradcams, layer_positions
from .tcav import ConceptScore, TCAVResult, default_layer, run_tcav, tcav_scores

__all__ = [
    "CAMExplainer",
    "ConceptScore",
    "DEFAULT_ETA",
    "Explainer",
    "GradCAM",
    "GradCAMPlusPlus",
    "GuidedBackpropExplainer",
    "IntegratedGradientsExplainer",
    "LayerCAM",
    "LayerGradCams",
    "NotApplicable",
    "ScoreCAM",
    "SmoothGrad",
    "TCAVResult",
    "VanillaSaliency",
    "conv_layers_in_execution_order",
    "cumulative_gradcam_averages",
    "default_layer",
    "layer_gradcams",
    "layer_positions",
    "normalise_maps",
    "record_activations",
    "run_tcav",
    "tcav_scores",
]
