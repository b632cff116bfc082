"""Forward hooks that record layer outputs, always removed by a context manager."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn


class ActivationRecorder:
    """Holds the outputs of the hooked modules from the most recent forward pass, in call order.

    ``outputs[i]`` is the output of ``modules[i]`` (first call per pass), still attached to the
    autograd graph so gradients with respect to it can be taken in one backward pass. The rest of the
    network receives a copy, so an in-place operation after the layer (``out += identity`` in a
    torchvision ResNet block, a functional in-place ReLU) cannot change what was recorded.
    """

    def __init__(self, modules: Sequence[nn.Module]):
        self.modules = list(modules)
        self._outputs: dict[int, torch.Tensor] = {}
        self.call_order: list[int] = []

    def _hook(self, position: int):
        def record(_module: nn.Module, _inputs, output: torch.Tensor) -> torch.Tensor | None:
            if position in self._outputs:
                return None
            self._outputs[position] = output
            self.call_order.append(position)
            return output.clone()

        return record

    def reset(self) -> None:
        self._outputs.clear()
        self.call_order.clear()

    def in_call_order(self) -> tuple[list[int], list[torch.Tensor]]:
        """(module positions, outputs) of the modules that ran, in the order they first ran."""
        order = list(self.call_order)
        return order, [self._outputs[i] for i in order]

    @property
    def outputs(self) -> list[torch.Tensor]:
        missing = [i for i in range(len(self.modules)) if i not in self._outputs]
        if missing:
            raise RuntimeError(f"{len(missing)} hooked layer(s) were not called in the forward pass")
        return [self._outputs[i] for i in range(len(self.modules))]


@contextmanager
def record_activations(modules: Sequence[nn.Module]) -> Iterator[ActivationRecorder]:
    """Hook ``modules`` for the duration of the block; the hooks are removed even on error."""
    recorder = ActivationRecorder(modules)
    handles = []
    try:
        for position, module in enumerate(recorder.modules):
            handles.append(module.register_forward_hook(recorder._hook(position)))
        yield recorder
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def inplace_activations_disabled(model: nn.Module) -> Iterator[None]:
    """Turn ``inplace`` off on every activation for the block, so a recorded conv output is never
    overwritten by a following ``ReLU(inplace=True)``; the original flags are restored after."""
    flipped = [m for m in model.modules() if getattr(m, "inplace", False) is True]
    for module in flipped:
        module.inplace = False
    try:
        yield
    finally:
        for module in flipped:
            module.inplace = True


def conv_layers_in_execution_order(model: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Conv2d]]:
    """Every ``nn.Conv2d`` of ``model`` as (qualified name, module), ordered by when it first runs.

    example: one model input Tensor[1, C, H, W] used for a gradient-free forward pass.
    Convs that never run on this input are left out.
    """
    named = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not named:
        raise ValueError("the model has no nn.Conv2d layer")
    with record_activations([module for _, module in named]) as recorder, torch.no_grad():
        model(example)
        order = list(recorder.call_order)
    return [named[i] for i in order]


@contextmanager
def record_input(module: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Hook ``module`` so each call appends its (first) input to the yielded list; removed even on error.
    Used to read a classifier's penultimate features: the input of its last Linear layer."""
    inputs: list[torch.Tensor] = []
    handle = module.register_forward_pre_hook(lambda _module, args: inputs.append(args[0]))
    try:
        yield inputs
    finally:
        handle.remove()
