"""Model-randomisation sanity check, cascading (Adebayo et al., "Sanity Checks for Saliency Maps",
NeurIPS 2018): re-initialise the model's layers one after another from the output towards the input,
explain the same images with each increasingly random model, and measure the Spearman rank
correlation of each map with the trained model's map. A method whose maps do not change with the
model explains the image, not the model, and fails the check."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..attribution.agreement import rank_correlation
from .robustness import MapFunction

SANITY_THRESHOLD = 0.5
RANDOMISED_LAYER_TYPES = (nn.Conv2d, nn.Linear)


@dataclass
class SanityResult:
    """``layers``: the layer randomised last at each step (output side first); ``correlations``:
    Tensor[N, steps], rank correlation with the trained model's map after each step."""

    layers: list[str]
    correlations: torch.Tensor
    threshold: float = SANITY_THRESHOLD

    @property
    def final_correlation(self) -> float:
        """Mean correlation once every layer is random."""
        return float(self.correlations[:, -1].mean())

    @property
    def passed(self) -> bool:
        """True when the fully randomised model's maps no longer rank pixels like the trained model's."""
        return self.final_correlation < self.threshold


def layers_in_execution_order(model: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) of the Conv2d/Linear layers in the order a forward pass of ``example`` calls them."""
    names = {module: name for name, module in model.named_modules()}
    called: list[nn.Module] = []
    handles = [
        module.register_forward_hook(lambda m, _i, _o: called.append(m) if m not in called else None)
        for module in model.modules()
        if isinstance(module, RANDOMISED_LAYER_TYPES)
    ]
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for handle in handles:
            handle.remove()
    return [(names[module], module) for module in called]


def cascading_randomisation(
    model: nn.Module,
    build: Callable[[nn.Module], MapFunction],
    images: torch.Tensor,
    targets: torch.Tensor,
    model_inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    seed: int = 0,
    max_steps: int | None = None,
    threshold: float = SANITY_THRESHOLD,
) -> SanityResult:
    """Cascading randomisation of ``model`` (left untouched: a copy is randomised).

    build(model) -> map function for that model; ``model_inputs`` turns images into the model's input
    (a card's ``preprocess``) to find the layers. Every layer is re-initialised (its own
    ``reset_parameters`` under seed ``seed``), output side first; maps are compared after each layer,
    or at ``max_steps`` evenly spaced points of the cascade (the last point is always the fully random model).
    """
    reference = build(model)(images, targets)
    randomised = copy.deepcopy(model).eval()
    layers = list(reversed(layers_in_execution_order(randomised, model_inputs(images[:1]))))
    if not layers:
        raise ValueError("the model has no Conv2d or Linear layer to randomise")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    last = len(layers) - 1
    checkpoints = set(range(len(layers)))
    if max_steps == 1:
        checkpoints = {last}  # one comparison: the fully random model
    elif max_steps is not None and max_steps < len(layers):
        checkpoints = {round(i * last / (max_steps - 1)) for i in range(max_steps)}
    names, correlations = [], []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for step, (name, layer) in enumerate(layers):
            layer.reset_parameters()
            if step in checkpoints:
                names.append(name)
                correlations.append(rank_correlation(build(randomised)(images, targets), reference))
    return SanityResult(names, torch.stack(correlations, dim=1), threshold)
