"""The CAM family on one hook engine: the base class owns hooks, backward, ReLU, upsampling and
normalisation; each variant overrides only how it weighs the target layer's activations.

* Grad-CAM: Selvaraju et al., ICCV 2017.
* Grad-CAM++: Chattopadhyay et al., WACV 2018.
* Score-CAM: Wang et al., CVPR-W 2020 (weights: softmax over channels of the target logit of
  the input masked by each activation, upsampled with aligned corners and min-max normalised,
  as pytorch-grad-cam does).
* LayerCAM: Jiang et al., IEEE TIP 2021 (element-wise weights ReLU(G)).
"""

from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from .base import Explainer, normalise_maps, targets_from_logits
from .hooks import conv_layers_in_execution_order, inplace_activations_disabled, record_activations


class CAMExplainer(Explainer):
    """Base of the CAM family. ``layer``: a module of ``model``, its qualified name, or None for the last conv."""

    family = "cam"
    needs_gradients = True

    def __init__(self, model: nn.Module, layer: nn.Module | str | None = None):
        super().__init__(model)
        self._layer = layer

    def target_layer(self, inputs: torch.Tensor) -> nn.Module:
        if isinstance(self._layer, nn.Module):
            return self._layer
        if isinstance(self._layer, str):
            return self.model.get_submodule(self._layer)
        self._layer = conv_layers_in_execution_order(self.model, inputs[:1])[-1][1]
        return self._layer

    def attribute(self, inputs: torch.Tensor, target=None) -> torch.Tensor:
        layer = self.target_layer(inputs)
        with inplace_activations_disabled(self.model), record_activations([layer]) as recorder:
            if self.needs_gradients:
                with torch.enable_grad():
                    logits = self.model(inputs.detach().requires_grad_(True))
                    targets = targets_from_logits(logits, target)
                    activations = recorder.outputs[0]
                    score = logits.gather(1, targets[:, None]).sum()
                    gradients = torch.autograd.grad(score, activations)[0]
            else:
                with torch.inference_mode():
                    logits = self.model(inputs)
                targets = targets_from_logits(logits, target)
                activations, gradients = recorder.outputs[0], None
        activations = activations.detach()
        weights = self.weights(activations, gradients, inputs, targets)
        cam = torch.relu((weights * activations).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=tuple(inputs.shape[-2:]), mode="bilinear", align_corners=False)
        return normalise_maps(cam)

    @abstractmethod
    def weights(self, activations: torch.Tensor, gradients: torch.Tensor | None, inputs: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Weights broadcastable to activations [N, K, h, w]: [N, K, 1, 1] per channel or [N, K, h, w]."""


class GradCAM(CAMExplainer):
    name = "grad_cam"

    def weights(self, activations, gradients, inputs, targets):
        return gradients.mean(dim=(2, 3), keepdim=True)


class GradCAMPlusPlus(CAMExplainer):
    """``eps`` guards alpha's denominator; 1e-6 as in pytorch-grad-cam, so the maps agree."""

    name = "grad_cam_pp"
    eps = 1e-6

    def weights(self, activations, gradients, inputs, targets):
        g2 = gradients.pow(2)
        g3 = g2 * gradients
        activation_sums = activations.sum(dim=(2, 3), keepdim=True)
        alpha = g2 / (2 * g2 + activation_sums * g3 + self.eps)
        alpha = torch.where(gradients != 0, alpha, torch.zeros_like(alpha))
        return (alpha * torch.relu(gradients)).sum(dim=(2, 3), keepdim=True)


class LayerCAM(CAMExplainer):
    name = "layer_cam"

    def weights(self, activations, gradients, inputs, targets):
        return torch.relu(gradients)


class ScoreCAM(CAMExplainer):
    """Gradient-free; masked inputs are scored in batches of ``batch_size`` under ``inference_mode``."""

    name = "score_cam"
    needs_gradients = False

    def __init__(self, model: nn.Module, layer: nn.Module | str | None = None, batch_size: int = 64):
        super().__init__(model, layer)
        self.batch_size = batch_size

    @torch.inference_mode()
    def weights(self, activations, gradients, inputs, targets):
        n, k = activations.shape[:2]
        size = tuple(inputs.shape[-2:])
        scores = torch.empty(n, k, dtype=inputs.dtype, device=inputs.device)
        for i in range(n):
            for start in range(0, k, self.batch_size):  # masks made per batch: memory stays O(batch)
                channels = activations[i : i + 1, start : start + self.batch_size]
                masks = normalise_maps(F.interpolate(channels, size=size, mode="bilinear", align_corners=True))[0]
                logits = self.model(inputs[i : i + 1] * masks[:, None])
                scores[i, start : start + self.batch_size] = logits[:, targets[i]]
        return scores.softmax(dim=1)[:, :, None, None]
