"""One process or DDP under ``torchrun``: the setup every trainer (CNN, DCGAN, SFT-GAN) shares.

A trainer runs its whole body inside ``distributed_context(device)``. Launched alone it gets rank 0 of
a world of 1 and every helper below is the identity, so single-process training is unchanged. Under
``torchrun`` (``WORLD_SIZE`` > 1) the context joins the process group (gloo for CPU tensors, nccl for
CUDA ones, one GPU per rank by ``LOCAL_RANK``) and leaves it at the end. Every rank then draws the same
seeded global batches, trains on its ``shard`` of each, and DDP averages the gradients (Li et al.,
"PyTorch Distributed: Experiences on Accelerating Data Parallel Training", VLDB 2020).

BatchNorm layers are synchronised (``SynchronisedBatchNorm``): their statistics are those of the whole
global batch, so W ranks with batch B/W compute what one process computes with batch B, for the CNNs
and for the DCGAN generator alike. ``torch.nn.SyncBatchNorm`` does the same on GPUs only; this one
runs over gloo on CPU too. Spectral normalisation needs nothing: its power-iteration vectors are
buffers computed from the (synchronised) weights, so they agree on every rank, and DDP broadcasts
rank 0's buffers at each forward anyway.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the all-reduced gradient: every rank's output depends on every rank's input."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        summed = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(summed)
        return summed

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> torch.Tensor:
        summed = gradient.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(summed)
        return summed


class SynchronisedBatchNorm(_BatchNorm):
    """BatchNorm (Ioffe & Szegedy, ICML 2015) whose training-mode mean and variance are taken over the
    global batch, every rank's shard together; inputs Tensor[N, C, ...] with N possibly 0 on some rank.
    Gradients flow through the shared statistics to every rank. In eval mode, or without a process
    group of more than one rank, it is plain BatchNorm. State-dict keys are BatchNorm's."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        self._check_input_dim(input)
        reduced = [0, *range(2, input.dim())]
        shape = (1, -1) + (1,) * (input.dim() - 2)
        local_count = input.new_tensor([input.numel() // input.shape[1]])
        totals = _SumOverRanks.apply(torch.cat([input.sum(reduced), local_count]))
        count = totals[-1].detach()
        mean = totals[:-1] / count
        centred = input - mean.view(shape)
        variance = _SumOverRanks.apply(centred.square().sum(reduced)) / count
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
                self.running_var.mul_(1 - factor).add_(variance * count / (count - 1), alpha=factor)
        output = centred * torch.rsqrt(variance + self.eps).view(shape)
        if self.affine:
            output = output * self.weight.view(shape) + self.bias.view(shape)
        return output


def synchronise_batchnorm(module: nn.Module) -> nn.Module:
    """Replace, in place, every BatchNorm layer inside ``module`` by a ``SynchronisedBatchNorm`` sharing its
    parameters and buffers (optimisers built before keep working). Returns ``module``."""
    for name, child in module.named_children():
        if isinstance(child, _BatchNorm) and not isinstance(child, SynchronisedBatchNorm):
            replacement = SynchronisedBatchNorm(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            if child.affine:
                replacement.weight, replacement.bias = child.weight, child.bias
            if child.track_running_stats:
                replacement.running_mean, replacement.running_var = child.running_mean, child.running_var
                replacement.num_batches_tracked = child.num_batches_tracked
            replacement.train(child.training)
            setattr(module, name, replacement)
        else:
            synchronise_batchnorm(child)
    return module


@dataclass(frozen=True)
class Distributed:
    """This process's place in the training world: ``rank`` of ``world_size``, tensors on ``device``."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, manifests, histories and sample grids."""
        return self.rank == 0

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def sum(self, value: float) -> float:
        """``value`` summed over ranks (float64)."""
        if self.world_size == 1:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return float(tensor)

    def mean(self, value: float) -> float:
        """``value`` averaged over ranks (float64)."""
        return value if self.world_size == 1 else self.sum(value) / self.world_size

    def shard(self, batch: torch.Tensor) -> torch.Tensor:
        """This rank's contiguous share of a global batch Tensor[B, ...] (shares differ in size by at most one)."""
        return batch if self.world_size == 1 else batch.tensor_split(self.world_size)[self.rank]

    def shard_weight(self, shard_size: int, batch_size: int) -> float:
        """The weight of this rank's mean loss over its shard of a global batch: DDP averages gradients over
        ranks, so weighting by ``shard_size * world_size / batch_size`` makes the average the gradient of the
        global batch mean, also when shards differ in size. Exactly 1.0 alone and for equal shards."""
        return shard_size * self.world_size / batch_size

    def prepare(self, module: nn.Module) -> nn.Module:
        """The module to call in training steps: ``module`` itself alone; under DDP ``module`` (already on
        ``device``) with its BatchNorm layers synchronised in place, wrapped in DistributedDataParallel.
        Evaluate and save ``module`` itself."""
        if self.world_size == 1:
            return module
        from torch.nn.parallel import DistributedDataParallel

        synchronise_batchnorm(module)
        return DistributedDataParallel(module, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def decorrelate_randomness(self, seed: int) -> None:
        """Ranks after the first reseed torch's global generators (dropout masks) from ``seed`` and their
        rank, so ranks do not draw the same masks for their shards; rank 0 keeps the single-process stream."""
        if self.rank > 0:
            torch.manual_seed(seed + 1_000_003 * self.rank)


@contextmanager
def distributed_context(device: str | torch.device = "cpu") -> Iterator[Distributed]:
    """The training world. Alone (no ``WORLD_SIZE`` > 1): rank 0 of 1 on ``device``. Under ``torchrun``:
    joins the process group with the backend for ``device`` (nccl for CUDA, one GPU per ``LOCAL_RANK``;
    gloo otherwise) and destroys it on exit. A process group opened by the caller is used and left open."""
    device = torch.device(device)
    if dist.is_initialized():
        yield Distributed(dist.get_rank(), dist.get_world_size(), _rank_device(device))
        return
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        yield Distributed(0, 1, device)
        return
    device = _rank_device(device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    _join_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield Distributed(dist.get_rank(), dist.get_world_size(), device)
    finally:
        dist.destroy_process_group()


_GROUPS_JOINED = itertools.count(1)


def _join_process_group(backend: str) -> None:
    """``init_process_group`` from torchrun's environment, with keys of their own in its store: torch names
    every default group alike, so a second group in one process (``reproduce-checkpoints`` trains one model
    after another) would otherwise read the first group's stale addresses and fail to connect."""
    store, rank, world_size = next(dist.rendezvous("env://"))
    prefixed = dist.PrefixStore(f"xai_core/group{next(_GROUPS_JOINED)}", store)
    dist.init_process_group(backend, store=prefixed, rank=rank, world_size=world_size)


def _rank_device(device: torch.device) -> torch.device:
    """Under torchrun a CUDA device means this rank's GPU, ``cuda:LOCAL_RANK``."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device
