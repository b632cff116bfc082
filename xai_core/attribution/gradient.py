"""The gradient family, computed by captum and reduced to one map per input.

* Saliency: Simonyan et al. 2014; map = max over channels of |dScore/dx|.
* SmoothGrad: Smilkov et al. 2017; saliency averaged over noisy copies (captum NoiseTunnel).
* Integrated Gradients: Sundararajan et al. 2017; map = |sum over channels of the attribution|.
* Guided Backprop: Springenberg et al. 2015 (overrides the backward of ``nn.ReLU`` modules only).
Every map is min-max normalised per input.
"""

from __future__ import annotations

import warnings
from abc import abstractmethod

import torch
from captum.attr import GuidedBackprop, IntegratedGradients, NoiseTunnel, Saliency
from torch import nn

from .base import Explainer, NotApplicable, normalise_maps, resolve_targets
from .hooks import inplace_activations_disabled


class GradientExplainer(Explainer):
    family = "gradient"

    def attribute(self, inputs: torch.Tensor, target=None) -> torch.Tensor:
        targets = resolve_targets(self.model, inputs, target)
        with inplace_activations_disabled(self.model), torch.enable_grad():
            attributions = self.input_attributions(inputs.detach().clone().requires_grad_(True), targets)
        return normalise_maps(self.reduce_channels(attributions.detach()))

    @abstractmethod
    def input_attributions(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """captum attributions Tensor[N, C, H, W]."""

    @staticmethod
    def reduce_channels(attributions: torch.Tensor) -> torch.Tensor:
        return attributions.abs().amax(dim=1, keepdim=True)


class VanillaSaliency(GradientExplainer):
    name = "saliency"

    def input_attributions(self, inputs, targets):
        return Saliency(self.model).attribute(inputs, target=targets, abs=True)


class SmoothGrad(GradientExplainer):
    """``samples`` noisy copies with noise std ``noise_level`` x (input max - input min), batched."""

    name = "smoothgrad"

    def __init__(self, model: nn.Module, samples: int = 25, noise_level: float = 0.15, batch_size: int = 25):
        super().__init__(model)
        self.samples, self.noise_level, self.batch_size = samples, noise_level, batch_size

    def passes(self, inputs: torch.Tensor) -> int:
        return self.samples

    def input_attributions(self, inputs, targets):
        spread = float(inputs.detach().max() - inputs.detach().min()) or 1.0
        tunnel = NoiseTunnel(Saliency(self.model))
        return tunnel.attribute(
            inputs,
            nt_type="smoothgrad",
            nt_samples=self.samples,
            nt_samples_batch_size=self.batch_size,
            stdevs=self.noise_level * spread,
            target=targets,
            abs=True,
        )


class IntegratedGradientsExplainer(GradientExplainer):
    """Path integral from ``baseline`` (model input of a black image by default: zeros) in ``steps`` steps."""

    name = "integrated_gradients"

    def __init__(self, model: nn.Module, baseline: torch.Tensor | float = 0.0, steps: int = 32, batch_size: int = 32):
        super().__init__(model)
        self.baseline, self.steps, self.batch_size = baseline, steps, batch_size

    def passes(self, inputs: torch.Tensor) -> int:
        return self.steps

    def input_attributions(self, inputs, targets):
        baseline = self.baseline if isinstance(self.baseline, float) else self.baseline.expand_as(inputs)
        return IntegratedGradients(self.model).attribute(
            inputs, baselines=baseline, target=targets, n_steps=self.steps, internal_batch_size=self.batch_size
        )

    @staticmethod
    def reduce_channels(attributions: torch.Tensor) -> torch.Tensor:
        return attributions.sum(dim=1, keepdim=True).abs()


class GuidedBackpropExplainer(GradientExplainer):
    """Refuses models without ``nn.ReLU`` (ReLU6, SiLU ...): there captum's map would be plain saliency."""

    name = "guided_backprop"

    def input_attributions(self, inputs, targets):
        if not any(isinstance(module, nn.ReLU) for module in self.model.modules()):
            raise NotApplicable("Guided Backprop rewrites the backward pass of nn.ReLU; this model has none")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
            return GuidedBackprop(self.model).attribute(inputs, target=targets)
