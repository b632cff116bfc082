"""The CAM family on one hook engine, and the CAM maths written once.

:func:`layer_pass` runs the model once with hooks on any number of layers (and, for gradient-based
methods, one ``autograd.grad`` call for all of them); :func:`class_activation_maps` turns per-layer
channel weights into maps (weighted sum -> ReLU -> bilinear upsampling -> min-max normalisation).
:class:`CAMExplainer` is the one-layer case of that engine, and ``layers.layer_gradcams`` (Grad-CAM
at every conv layer) the all-layer case; each CAM variant overrides only its channel weights.

* Grad-CAM: Selvaraju et al., ICCV 2017.
* Grad-CAM++: Chattopadhyay et al., WACV 2018.
* Score-CAM: Wang et al., CVPR-W 2020 (weights: softmax over channels of the target logit of
  the input masked by each activation, upsampled with aligned corners and min-max normalised,
  as pytorch-grad-cam does).
* LayerCAM: Jiang et al., IEEE TIP 2021 (element-wise weights ReLU(G)).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import Explainer, normalise_maps, targets_from_logits
from .hooks import conv_layers_in_execution_order, inplace_activations_disabled, record_activations


def grad_cam_weights(gradients: torch.Tensor) -> torch.Tensor:
    """Grad-CAM channel weights, w_k = spatial mean of dScore/dA_k: Tensor[N, K, h, w] -> Tensor[N, K, 1, 1]."""
    return gradients.mean(dim=(2, 3), keepdim=True)


def class_activation_maps(activations: Sequence[torch.Tensor], weights: Sequence[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    """The CAM maths, for L layers at once (DESIGN.md "Intermediate Grad-CAM" when weights are :func:`grad_cam_weights`).

    activations[l]: Tensor[N, K_l, h_l, w_l]; weights[l]: broadcastable to it ([N, K_l, 1, 1] or
    [N, K_l, h_l, w_l]). Map l = ReLU(sum_k w_k A_k), bilinear (align_corners=False) to ``size``,
    min-max to [0, 1] per map (an all-zero map stays zero). Returns Tensor[N, L, H, W].
    """
    raw = [torch.relu((w * a).sum(dim=1, keepdim=True)) for a, w in zip(activations, weights)]
    # upsample all layers of one resolution in a single call, then normalise every map at once
    by_resolution: dict[tuple[int, int], list[int]] = {}
    for index, cam in enumerate(raw):
        by_resolution.setdefault(tuple(cam.shape[-2:]), []).append(index)
    if len(by_resolution) == 1:  # one layer (or one resolution): no regrouping needed
        maps = F.interpolate(raw[0] if len(raw) == 1 else torch.cat(raw, dim=1), size=size, mode="bilinear", align_corners=False)
        return normalise_maps(maps)
    upsampled: list[torch.Tensor] = [torch.empty(0)] * len(raw)
    for indices in by_resolution.values():
        group = F.interpolate(torch.cat([raw[i] for i in indices], dim=1), size=size, mode="bilinear", align_corners=False)
        for position, index in enumerate(indices):
            upsampled[index] = group[:, position : position + 1]
    return normalise_maps(torch.cat(upsampled, dim=1))


@dataclass
class LayerPass:
    """What one hooked pass recorded. ``order``: positions (in the ``modules`` given) of the layers that
    ran, in the order they first ran; ``activations``/``gradients``: their detached outputs and the
    gradients of the summed target logits with respect to them (zeros where a layer does not reach the
    logits; None without gradients); ``targets``: Tensor[N]; ``logits``: Tensor[N, K], detached."""

    order: list[int]
    activations: list[torch.Tensor]
    gradients: list[torch.Tensor] | None
    targets: torch.Tensor
    logits: torch.Tensor


def layer_pass(model: nn.Module, modules: Sequence[nn.Module], inputs: torch.Tensor, target=None, gradients: bool = True) -> LayerPass:
    """One forward pass recording the outputs of ``modules`` and, if ``gradients``, one backward pass
    of the target logits to all of them. Hooks are removed and in-place flags restored even on error."""
    with inplace_activations_disabled(model), record_activations(modules) as recorder:
        if gradients:
            with torch.enable_grad():
                logits = model(inputs.detach().requires_grad_(True))
                targets = targets_from_logits(logits, target)
                order, activations = recorder.in_call_order()
                score = logits.gather(1, targets[:, None]).sum()
                grads = torch.autograd.grad(score, activations, allow_unused=True)
            grads = [torch.zeros_like(a) if g is None else g for a, g in zip(activations, grads)]
        else:
            with torch.inference_mode():
                logits = model(inputs)
            targets = targets_from_logits(logits, target)
            order, activations = recorder.in_call_order()
            grads = None
    return LayerPass(order, [a.detach() for a in activations], grads, targets, logits.detach())


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
        recorded = layer_pass(self.model, [self.target_layer(inputs)], inputs, target, self.needs_gradients)
        if not recorded.order:
            raise RuntimeError("the target layer was not called in the forward pass")
        activations = recorded.activations[0]
        gradients = recorded.gradients[0] if recorded.gradients is not None else None
        weights = self.weights(activations, gradients, inputs, recorded.targets)
        return class_activation_maps([activations], [weights], tuple(inputs.shape[-2:]))

    @abstractmethod
    def weights(
        self, activations: torch.Tensor, gradients: torch.Tensor | None, inputs: torch.Tensor, targets: torch.Tensor
    ) -> torch.Tensor:
        """Weights broadcastable to activations [N, K, h, w]: [N, K, 1, 1] per channel or [N, K, h, w]."""


class GradCAM(CAMExplainer):
    name = "grad_cam"

    def weights(self, activations, gradients, inputs, targets):
        return grad_cam_weights(gradients)


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


SCORE_CAM_BATCH = 16  # masked images per forward pass: at 224 px on 2 CPU cores, smaller batches run faster per image than 64


class ScoreCAM(CAMExplainer):
    """Gradient-free; masked inputs are scored in batches of ``batch_size`` under ``inference_mode``, one masked
    forward pass per channel of the target layer. ``on_progress(fraction)`` follows the batches."""

    name = "score_cam"
    needs_gradients = False

    def __init__(
        self,
        model: nn.Module,
        layer: nn.Module | str | None = None,
        batch_size: int = SCORE_CAM_BATCH,
        on_progress: Callable[[float], None] | None = None,
    ):
        super().__init__(model, layer)
        self.batch_size, self.on_progress = batch_size, on_progress

    def passes(self, inputs: torch.Tensor) -> int:
        """The target layer's channel count (one masked forward pass each), plus the pass that records them."""
        layer = self.target_layer(inputs)
        if isinstance(layer, nn.Conv2d):
            return layer.out_channels + 1
        with torch.inference_mode():
            return layer_pass(self.model, [layer], inputs[:1], None, False).activations[0].shape[1] + 1

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
                if self.on_progress is not None:
                    self.on_progress((i * k + min(k, start + self.batch_size)) / (n * k))
        return scores.softmax(dim=1)[:, :, None, None]
