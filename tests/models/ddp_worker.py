"""Run by tests/models/test_distributed.py, under ``torchrun`` and alone: ``train-cnn`` then ``train-gan``
through the CLI on tiny settings, one intra-op thread. Writes ``<out>/rank<rank>.pt``: the world size,
whether a process group was left open, this rank's trained weights (CNN, DCGAN generator and
discriminator) and the gradients each optimiser took its first step with (after DDP's averaging).
Each rank gets its own ``--out`` and ``--run-dir`` under ``<out>/rank<rank>``, so what a rank wrote shows.

The CNN is a one-conv network with BatchNorm, put in place of the architecture ``train_cnn`` builds:
in float32 a deep ResNet's gradients on a batch of 31 digits are themselves only good to ~1e-3
(against float64), so no comparison of them could be exact; the training code path is the real one.
"""

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
CNN_ARGUMENTS = ["train-cnn", "--dataset", "digits", "--arch", "vgg", "--seed", "3", "--epochs", "1", "--batch-size", "31",
                 "--max-train", "69", "--id", "ddp-cnn", "--threads", "1", "--quiet"]
GAN_ARGUMENTS = ["train-gan", "--dataset", "digits", "--conditional", "--seed", "3", "--epochs", "1", "--batch-size", "63",
                 "--width", "8", "--latent-dim", "8", "--id", "ddp-cdcgan", "--no-fid", "--threads", "1", "--quiet"]


def one_conv_cnn(in_channels: int, num_classes: int) -> nn.Module:
    """Conv (no bias: BatchNorm follows) - BatchNorm - ReLU, pooled to 4x4, linear."""
    return nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, num_classes))


def recording(built: dict, name: str, build):
    """``build`` that also keeps what it built in ``built[name]``."""
    def record(*args, **kwargs):
        built[name] = build(*args, **kwargs)
        return built[name]

    return record


def first_step_recording(optimiser_class: type, gradients: list) -> type:
    """``optimiser_class`` that appends the gradients of its first step to ``gradients``."""
    class FirstStepRecording(optimiser_class):
        def step(self, *args, **kwargs):
            if not getattr(self, "recorded", False):
                self.recorded = True
                gradients.append([p.grad.detach().clone() for group in self.param_groups for p in group["params"]])
            return super().step(*args, **kwargs)

    return FirstStepRecording


def main(out: Path) -> None:
    rank = int(os.environ.get("RANK", "0"))
    built: dict = {}
    gradients: list = []  # the CNN's AdamW, then the DCGAN generator's and discriminator's Adam, in creation order
    cnn_training.build_model = recording(built, "cnn", lambda arch, in_channels, num_classes: one_conv_cnn(in_channels, num_classes))
    gan_training.DCGANGenerator = recording(built, "generator", gan_training.DCGANGenerator)
    gan_training.DCGANDiscriminator = recording(built, "discriminator", gan_training.DCGANDiscriminator)
    torch.optim.AdamW = first_step_recording(torch.optim.AdamW, gradients)
    torch.optim.Adam = first_step_recording(torch.optim.Adam, gradients)
    mine = out / f"rank{rank}"
    assert cli(CNN_ARGUMENTS + ["--out", str(mine / "checkpoints")]) == 0
    assert cli(GAN_ARGUMENTS + ["--out", str(mine / "checkpoints"), "--run-dir", str(mine / "gan-run")]) == 0
    torch.save({"world_size": int(os.environ.get("WORLD_SIZE", "1")), "group_left_open": dist.is_initialized(),
                "weights": {name: module.state_dict() for name, module in built.items()},
                "first_gradients": dict(zip(("cnn", "generator", "discriminator"), gradients))}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
