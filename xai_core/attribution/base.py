"""The explainer contract: one verb, ``attribute(inputs, target) -> Tensor[N,1,H,W]`` in [0, 1]."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class NotApplicable(ValueError):
    """The method is undefined for this model (the message says why)."""


class Explainer(ABC):
    """Explains a classifier's decision for a batch of model inputs.

    ``inputs``: preprocessed model inputs Tensor[N, C, H, W].
    ``target``: class index per input (int, list or Tensor[N]); None explains the predicted class.
    Returns a relevance map per input, Tensor[N, 1, H, W] in [0, 1] (an all-zero map stays zero).
    """

    name: str = ""
    family: str = ""

    def __init__(self, model: nn.Module):
        self.model = model

    @abstractmethod
    def attribute(self, inputs: torch.Tensor, target: int | list[int] | torch.Tensor | None = None) -> torch.Tensor: ...

    def passes(self, inputs: torch.Tensor) -> int:
        """Passes through the model (forward, or forward and backward) one input costs: 1 here; the sampling and
        masking methods say how many they make. Orders methods cheapest first; not a timing."""
        return 1


def targets_from_logits(logits: torch.Tensor, target) -> torch.Tensor:
    """Target classes as a long Tensor[N]: the given class(es) (checked), or the argmax of ``logits`` [N, K]."""
    n, num_classes = logits.shape
    if target is None:
        return logits.detach().argmax(dim=1)
    targets = torch.as_tensor(target, dtype=torch.long, device=logits.device).flatten()
    if targets.numel() == 1:
        targets = targets.expand(n)
    if targets.numel() != n:
        raise ValueError(f"got {targets.numel()} targets for {n} inputs")
    if targets.min() < 0 or targets.max() >= num_classes:
        raise ValueError(f"target class must be in 0..{num_classes - 1}, got {sorted(set(targets.tolist()))}")
    return targets.clone()


def resolve_targets(model: nn.Module, inputs: torch.Tensor, target) -> torch.Tensor:
    """Like :func:`targets_from_logits`, running the model (without gradients) to get the logits."""
    with torch.no_grad():
        return targets_from_logits(model(inputs), target)


def normalise_maps(maps: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Per-map min-max scaling to [0, 1] over the last two dims; a constant map becomes all zeros.

    maps: Tensor[..., H, W] -> same shape.
    """
    flat = maps.flatten(start_dim=-2)
    low, high = torch.aminmax(flat, dim=-1, keepdim=True)
    span = high - low
    divisor = torch.where(span > eps, span, torch.full_like(span, float("inf")))  # constant maps -> 0
    return (flat - low).div_(divisor).view_as(maps)
