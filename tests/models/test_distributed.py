"""``train-cnn`` and ``train-gan`` (recipes ``dcgan``, ``projected`` and ``projected-layered``) under ``torchrun``: two
CPU processes, DDP over gloo, the trainers' one code path.

Two ranks with half a batch each must train what one process trains with the whole batch: the same
first gradients (DDP's average of the shard gradients, with BatchNorm statistics synchronised and
uneven shards weighted) and the same weights after an epoch, up to rounding; and the ranks must hold
identical weights. The worker trains in float64 so that rounding is negligible on any CPU (see
``TOLERANCE``), and a negative control (one rank halves its gradients) shows the comparison fails when
DDP averages wrongly. Only rank 0 writes. Also ``SynchronisedBatchNorm`` and ``Distributed``
alone (no process group): the identity of single-process training.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from xai_core.models.checkpoints import load_state_dict_file, read_manifest
from xai_core.models.distributed import Distributed, SynchronisedBatchNorm, distributed_context, synchronise_batchnorm

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]
GAN_RECIPES = ("dcgan", "projected", "projected-layered")  # ddp_worker.GAN_RECIPES
NETWORKS = ("cnn", *(f"{network}-{recipe}" for recipe in GAN_RECIPES for network in ("generator", "discriminator")))
# Largest difference allowed between two ranks and one process, for first gradients and final weights. In float64
# (unit roundoff 1.1e-16) two summation orders of a gradient differ by at most ~n * 1.1e-16 * sum|terms| (n <= 64
# terms per reduction here, gradients and weights of order 1): ~1e-14. Adam divides by sqrt(v) + 1e-8, so a
# gradient component near zero can scale that by up to 1e8 in its step (lr 2e-4..2e-3), and the 2-3 steps of a
# run add up: 3 * 2e-3 * 1e-14 / 1e-8 = 6e-9 at worst (measured: < 1e-11). 1e-6 sits well above that and two to five
# orders of magnitude below what a wrong average gives (the negative control: 8e-4 to 1e-1 here; after two Adam steps
# at lr 2e-4 a weight cannot move further than 4e-4 from where the right average puts it, hence only two for weights).
TOLERANCE = 1e-6


def zero_by_construction(network: str, parameter: str) -> bool:
    """Parameters whose first gradient is zero in exact arithmetic: a generator convolution's bias, which BatchNorm
    follows (it subtracts the batch mean), and under the hinge loss (``projected``, ``projected-layered``) the
    discriminator's output bias (every first logit lies inside the margin, so its gradient is -1 + 1)."""
    if network.startswith("generator-"):
        return parameter.startswith("convs.") and parameter.endswith(".bias")
    return network in ("discriminator-projected", "discriminator-projected-layered") and parameter == "head.bias"


def run_worker(out: Path, ranks: int | None, halve_rank: int | None = None) -> None:
    """The worker alone (``ranks`` None) or under ``torchrun --standalone --nproc_per_node ranks``; with
    ``halve_rank`` that rank halves its gradients before DDP averages them (the negative control)."""
    out.mkdir()
    environment = {
        key: value for key, value in os.environ.items() if key not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "XAI_TEST_HALVE_RANK")
    }
    environment.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    if halve_rank is not None:
        environment["XAI_TEST_HALVE_RANK"] = str(halve_rank)
    launcher = [] if ranks is None else ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks)]
    result = subprocess.run(
        [sys.executable, *launcher, str(WORKER), str(out)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """What the worker wrote with two ranks, alone, and with two ranks of which rank 1 halves its gradients:
    {"ddp": [rank 0, rank 1], "single": rank 0, "control": rank 0, "dirs": ...}."""
    root = tmp_path_factory.mktemp("distributed")
    run_worker(root / "ddp", ranks=2)
    run_worker(root / "single", ranks=None)
    run_worker(root / "control", ranks=2, halve_rank=1)

    def read(path):
        return torch.load(path, weights_only=True)

    return {
        "ddp": [read(root / "ddp" / f"rank{r}.pt") for r in (0, 1)],
        "single": read(root / "single" / "rank0.pt"),
        "control": read(root / "control" / "rank0.pt"),
        "dirs": root,
    }


def largest_differences(trained: dict, single: dict, network: str) -> tuple[float, float]:
    """The largest absolute difference between ``trained`` and ``single``'s first gradients, and their final
    floating-point state (parameters, BatchNorm statistics, spectral-norm vectors), for ``network``."""
    expected = single["first_gradients"][network]
    assert trained["first_gradients"][network].keys() == expected.keys()
    gradients = max((trained["first_gradients"][network][name] - value).abs().max().item() for name, value in expected.items())
    states = single["weights"][network]
    weights = max(
        (trained["weights"][network][key] - value).abs().max().item() for key, value in states.items() if value.is_floating_point()
    )
    return gradients, weights


def test_each_process_joined_a_world_of_two_and_left_it(runs):
    assert [r["world_size"] for r in runs["ddp"]] == [2, 2] and runs["single"]["world_size"] == 1
    assert not any(r["group_left_open"] for r in runs["ddp"])  # and later groups (train-gan after train-cnn) could join


def test_every_network_was_trained_and_recorded(runs):
    for run in (*runs["ddp"], runs["single"], runs["control"]):
        assert tuple(run["weights"]) == NETWORKS and tuple(run["first_gradients"]) == NETWORKS


@pytest.mark.parametrize("network", NETWORKS)
def test_ranks_hold_identical_weights_and_stepped_with_identical_gradients(runs, network):
    first, second = runs["ddp"]
    assert first["weights"][network].keys() == second["weights"][network].keys()
    for key, tensor in first["weights"][network].items():  # parameters, BatchNorm statistics, spectral-norm vectors
        assert torch.equal(tensor, second["weights"][network][key]), key
    assert first["first_gradients"][network].keys() == second["first_gradients"][network].keys()
    for name, gradient in first["first_gradients"][network].items():
        assert torch.equal(gradient, second["first_gradients"][network][name]), name


@pytest.mark.parametrize("network", NETWORKS)
def test_two_ranks_train_what_one_process_trains_on_the_whole_batch(runs, network):
    ddp, single = runs["ddp"][0], runs["single"]
    first_gradients = ddp["first_gradients"][network]
    assert all(g.dtype == torch.float64 for g in first_gradients.values())  # the tolerance assumes float64
    for name, gradient in first_gradients.items():  # real gradients, not vanishing, but where they vanish by construction
        assert (gradient.abs().max() < 1e-12) if zero_by_construction(network, name) else (gradient.abs().max() > 10 * TOLERANCE), name
    for key, tensor in single["weights"][network].items():
        assert ddp["weights"][network][key].shape == tensor.shape, key
    gradients, weights = largest_differences(ddp, single, network)
    assert gradients < TOLERANCE and weights < TOLERANCE, (gradients, weights)


@pytest.mark.parametrize("network", NETWORKS)
def test_the_comparison_fails_when_one_rank_halves_its_gradients(runs, network):
    gradients, weights = largest_differences(runs["control"], runs["single"], network)
    assert gradients > 1e3 * TOLERANCE and weights > 1e2 * TOLERANCE, (gradients, weights)


def test_only_rank_0_writes_checkpoints_manifest_history_and_sample_grids(runs):
    rank0, rank1 = runs["dirs"] / "ddp" / "rank0", runs["dirs"] / "ddp" / "rank1"
    assert not rank1.exists()
    assert [e["id"] for e in read_manifest(rank0 / "checkpoints")] == ["ddp-cnn"]
    assert [e["id"] for e in read_manifest(rank0 / "checkpoints", "gans")] == sorted(f"ddp-{recipe}" for recipe in GAN_RECIPES)
    for recipe in GAN_RECIPES:
        assert (rank0 / recipe / "samples" / "epoch_001.png").is_file()
        assert [h["epoch"] for h in json.loads((rank0 / recipe / "history.json").read_text())] == [1]
    saved = load_state_dict_file(rank0 / "checkpoints" / "ddp-cnn.safetensors")
    assert all(torch.equal(saved[key], tensor) for key, tensor in runs["ddp"][0]["weights"]["cnn"].items())


def test_synchronise_batchnorm_keeps_parameters_buffers_and_state_dict_keys():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.BatchNorm2d(2, momentum=0.3), nn.ReLU()))
    batchnorm = model[1][0]
    keys, weight, running_mean = model.state_dict().keys(), batchnorm.weight, batchnorm.running_mean
    assert synchronise_batchnorm(model) is model
    replaced = model[1][0]
    assert type(replaced) is SynchronisedBatchNorm and replaced.momentum == 0.3
    assert replaced.weight is weight and replaced.running_mean is running_mean and model.state_dict().keys() == keys


def test_without_a_process_group_synchronised_batchnorm_is_batchnorm():
    torch.manual_seed(0)
    plain = nn.BatchNorm2d(3)
    synchronised = synchronise_batchnorm(nn.Sequential(nn.BatchNorm2d(3)))[0]
    inputs = torch.randn(4, 3, 5, 5)
    assert torch.equal(synchronised(inputs), plain(inputs))
    assert torch.equal(synchronised.running_var, plain.running_var)


def test_alone_the_world_is_one_process_and_every_helper_the_identity(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with distributed_context() as world:
        assert world == Distributed(0, 1, torch.device("cpu")) and world.is_main
        batch = torch.arange(7)
        assert world.shard(batch) is batch and world.shard_weight(7, 7) == 1.0
        assert world.sum(2.5) == 2.5 and world.mean(2.5) == 2.5
        module = nn.BatchNorm1d(2)
        assert world.prepare(module) is module and type(module) is nn.BatchNorm1d


def test_shards_and_their_weights_for_uneven_batches():
    shards = [Distributed(rank, 3).shard(torch.arange(7)).tolist() for rank in range(3)]
    assert shards == [[0, 1, 2], [3, 4], [5, 6]]
    # weighted shard means, averaged over ranks, give the mean of the whole batch
    weights = [Distributed(rank, 3).shard_weight(len(shard), 7) for rank, shard in enumerate(shards)]
    assert weights == [9 / 7, 6 / 7, 6 / 7]
    losses = torch.arange(7.0)
    averaged = sum(w * losses[s].mean() for w, s in zip(weights, shards)) / 3
    assert averaged.item() == pytest.approx(losses.mean().item(), abs=1e-6)
