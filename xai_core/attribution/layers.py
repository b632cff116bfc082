"""Grad-CAM at every conv layer from one forward and one backward pass, and the CGMAs built on it.

Source: Guna, Benitez, Sikha, "Interpreting CNN Predictions using Conditional GANs", §3.1
(Intermediate Grad-CAMs, Eq. 1-4); definitions pinned in DESIGN.md "Methods, pinned".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .cam import class_activation_maps, grad_cam_weights, layer_pass

DEFAULT_ETA = 8


@dataclass
class LayerGradCams:
    """Per-layer Grad-CAMs of a batch.

    maps: Tensor[N, L, H, W] in [0, 1], layer l in execution order; names[l] its qualified name;
    targets: Tensor[N] explained classes; logits: Tensor[N, K].
    """

    names: list[str]
    maps: torch.Tensor
    targets: torch.Tensor
    logits: torch.Tensor

    def __len__(self) -> int:
        return len(self.names)


def layer_gradcams(model: nn.Module, inputs: torch.Tensor, target=None) -> LayerGradCams:
    """Intermediate Grad-CAM of every ``nn.Conv2d`` of ``model``, ordered by execution.

    inputs: model inputs Tensor[N, C, H, W]; target: class per input or None for the prediction.
    One forward pass records every conv output; one ``autograd.grad`` call returns the gradient
    of the target logits with respect to all of them. Works on any model without naming layers.
    The all-layer case of the CAM engine: ``GradCAM(model, name).attribute`` is the one-layer case,
    with the same maths (:func:`.cam.class_activation_maps` on :func:`.cam.grad_cam_weights`).
    """
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        raise ValueError("the model has no nn.Conv2d layer")
    recorded = layer_pass(model, [module for _, module in convs], inputs, target)
    weights = [grad_cam_weights(g) for g in recorded.gradients]
    maps = class_activation_maps(recorded.activations, weights, tuple(inputs.shape[-2:]))
    return LayerGradCams([convs[i][0] for i in recorded.order], maps, recorded.targets, recorded.logits)


def layer_positions(n_layers: int, eta: int = DEFAULT_ETA) -> list[int]:
    """Indices of the eta layers CGMAs end at: ``ceil(k (N-1) / (eta-1))``, k = 0..eta-1.

    First and last layer are always included; with fewer layers than eta, all of them.
    Example: ``layer_positions(13, 8) == [0, 2, 4, 6, 7, 9, 11, 12]``.
    """
    if n_layers < 1:
        raise ValueError("need at least one layer")
    if eta < 1:
        raise ValueError(f"eta must be at least 1, got {eta}")
    if n_layers <= eta:
        return list(range(n_layers))
    if eta == 1:
        return [n_layers - 1]
    # exact integer ceil(k*(N-1)/(eta-1)) avoids float rounding
    return [-(-k * (n_layers - 1) // (eta - 1)) for k in range(eta)]


def cumulative_gradcam_averages(layer_maps: torch.Tensor | LayerGradCams, eta: int = DEFAULT_ETA) -> torch.Tensor:
    """CGMA[k] = mean of the Grad-CAMs of layers 0..pos[k] (shallow to deep).

    layer_maps: Tensor[N, L, H, W] (or a :class:`LayerGradCams`) -> Tensor[N, min(eta, L), H, W].
    """
    maps = layer_maps.maps if isinstance(layer_maps, LayerGradCams) else layer_maps
    positions = layer_positions(maps.shape[1], eta)
    # one pass over the maps: the sum of each segment between positions, then a running sum of 8
    starts = [0] + [p + 1 for p in positions[:-1]]
    segment_sums = torch.stack([maps[:, start : end + 1].sum(dim=1) for start, end in zip(starts, positions)], dim=1)
    counts = torch.tensor([p + 1 for p in positions], dtype=maps.dtype, device=maps.device).view(1, -1, 1, 1)
    return segment_sums.cumsum(dim=1) / counts
