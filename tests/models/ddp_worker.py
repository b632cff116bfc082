"""Run by tests/models/test_distributed.py, under ``torchrun`` and alone: ``train-cnn`` then ``train-gan`` once per
recipe of ``GAN_RECIPES`` through the CLI on tiny settings, one intra-op thread. Writes ``<out>/rank<rank>.pt``: the
world size, whether a process group was left open, this rank's trained weights (CNN; each recipe's generator and
discriminator, keyed ``generator-<recipe>``) and the gradients each optimiser took its first step with (after DDP's
averaging).
Each rank gets its own ``--out`` and ``--run-dir`` under ``<out>/rank<rank>``, so what a rank wrote shows.

Training runs in float64 (default dtype, and every network casts its floating inputs to float64): two ranks
and one process sum the same gradients in different orders, and in float32 that rounding (~1e-7 relative)
grows over Adam steps past any tolerance one could defend on every CPU; in float64 it stays ~1e-16 relative,
so a wrong average (a factor, not a rounding) stands out by many orders of magnitude.

The CNN is a one-conv network with BatchNorm, put in place of the architecture ``train_cnn`` builds:
the training code path is the real one. The GANs train on the first ``GAN_IMAGES`` images of the split, and the EMA
generator's BatchNorm re-estimate (rank 0 alone, after training) uses 2 batches, to keep the run short.

Negative control: with ``XAI_TEST_HALVE_RANK=<r>`` rank ``r`` halves its own gradients before DDP averages
them, so DDP trains on a wrong average; the test shows its comparison then fails.
"""

import dataclasses
import functools
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from xai_core.cli import main as cli
from xai_core.generative import training as gan_training
from xai_core.models import training as cnn_training

# 69 images in batches of 31 (31, 31, 7): every batch splits unevenly over two ranks
CNN_ARGUMENTS = [
    "train-cnn",
    "--dataset",
    "digits",
    "--arch",
    "vgg",
    "--seed",
    "3",
    "--epochs",
    "1",
    "--batch-size",
    "31",
    "--max-train",
    "69",
    "--id",
    "ddp-cnn",
    "--threads",
    "1",
    "--quiet",
]
GAN_IMAGES = 126  # the first 126 training images in batches of 63: two batches, each split unevenly over two ranks
# recipes whose training is the same under DDP as alone (``projected-diverse`` is not: its mode-seeking term is computed
# on each rank's shard, ``mode_seeking_loss``): ``projected-layered`` also covers what ``sngan`` and ``projected-deviation``
# add to ``dcgan`` (hinge, EMA, DiffAugment, AC head, pixel head, the minibatch deviation: the first shard of 63 images
# holds 32, a multiple of its groups of 4) and the layered generator
GAN_RECIPES = ("dcgan", "projected", "projected-layered")
GAN_ARGUMENTS = [
    "train-gan",
    "--dataset",
    "digits",
    "--conditional",
    "--seed",
    "3",
    "--epochs",
    "1",
    "--batch-size",
    "63",
    "--width",
    "8",
    "--latent-dim",
    "8",
    "--no-fid",
    "--threads",
    "1",
    "--quiet",
]


def one_conv_cnn(in_channels: int, num_classes: int) -> nn.Module:
    """Conv (no bias: BatchNorm follows) - BatchNorm - ReLU, pooled to 4x4, linear."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(4),
        nn.Flatten(),
        nn.Linear(128, num_classes),
    )


def first_images(load_dataset):
    """``load_dataset`` keeping only the first ``GAN_IMAGES`` images of a split (with their labels and masks)."""

    def load(*args, **kwargs):
        data = load_dataset(*args, **kwargs)
        masks = None if data.masks is None else data.masks[:GAN_IMAGES]
        return dataclasses.replace(data, images=data.images[:GAN_IMAGES], labels=data.labels[:GAN_IMAGES], masks=masks)

    return load


def float64_inputs(module: nn.Module, inputs: tuple) -> tuple:
    """Forward pre-hook: floating-point inputs (float32 images) cast to float64, the rest (labels) untouched."""
    return tuple(x.double() if torch.is_tensor(x) and x.is_floating_point() else x for x in inputs)


def halve_gradients(module: nn.Module) -> None:
    """Every trained parameter's gradient halved as it arrives, before DDP's all-reduce sees it."""
    for parameter in filter(lambda p: p.requires_grad, module.parameters()):
        parameter.register_hook(lambda gradient: gradient * 0.5)


def recording(built: dict, name: str, build, halve: bool):
    """``build`` that also keeps what it built in ``built[name]``, with float64 inputs (and halved gradients)."""

    def record(*args, **kwargs):
        module = built[name] = build(*args, **kwargs)
        module.register_forward_pre_hook(float64_inputs)
        if halve:
            halve_gradients(module)
        return module

    return record


def first_step_recording(optimiser_class: type, gradients: dict) -> type:
    """``optimiser_class`` that keeps the gradients of its first step in ``gradients[id(its first parameter)]``, as
    {id(parameter): gradient} for the parameters that have one."""

    class FirstStepRecording(optimiser_class):
        def step(self, *args, **kwargs):
            if not getattr(self, "recorded", False):
                self.recorded = True
                parameters = [p for group in self.param_groups for p in group["params"]]
                gradients[id(parameters[0])] = {id(p): p.grad.detach().clone() for p in parameters if p.grad is not None}
            return super().step(*args, **kwargs)

    return FirstStepRecording


def named_first_gradients(module: nn.Module, gradients: dict) -> dict:
    """{parameter name: first-step gradient} of ``module``, whose optimiser took all its parameters."""
    by_id = gradients[id(next(module.parameters()))]
    return {name: by_id[id(parameter)] for name, parameter in module.named_parameters() if id(parameter) in by_id}


def main(out: Path) -> None:
    rank = int(os.environ.get("RANK", "0"))
    halve = os.environ.get("XAI_TEST_HALVE_RANK") == str(rank)
    torch.set_default_dtype(torch.float64)
    built: dict = {}
    gradients: dict = {}  # per optimiser (the CNN's AdamW, each recipe's generator's and discriminator's Adam)
    cnn_training.build_model = recording(built, "cnn", lambda arch, in_channels, num_classes: one_conv_cnn(in_channels, num_classes), halve)
    build_generator, build_discriminator = gan_training.build_generator, gan_training.build_discriminator
    gan_training.load_dataset = first_images(gan_training.load_dataset)
    # the EMA generator's BatchNorm re-estimate runs on rank 0 alone and trains nothing: 2 batches, not 40 (float64 convs are slow)
    gan_training.recalibrate_batchnorm = functools.partial(gan_training.recalibrate_batchnorm, batches=2)
    torch.optim.AdamW = first_step_recording(torch.optim.AdamW, gradients)
    torch.optim.Adam = first_step_recording(torch.optim.Adam, gradients)
    mine = out / f"rank{rank}"
    assert cli(CNN_ARGUMENTS + ["--out", str(mine / "checkpoints")]) == 0
    for recipe in GAN_RECIPES:
        gan_training.build_generator = recording(built, f"generator-{recipe}", build_generator, halve)
        gan_training.build_discriminator = recording(built, f"discriminator-{recipe}", build_discriminator, halve)
        arguments = ["--recipe", recipe, "--id", f"ddp-{recipe}", "--out", str(mine / "checkpoints"), "--run-dir", str(mine / recipe)]
        assert cli(GAN_ARGUMENTS + arguments) == 0
    torch.save(
        {
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "group_left_open": dist.is_initialized(),
            "weights": {name: module.state_dict() for name, module in built.items()},
            "first_gradients": {name: named_first_gradients(module, gradients) for name, module in built.items()},
        },
        out / f"rank{rank}.pt",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
