"""Training data for SFT-GANs: (image, CGMAs, target Grad-CAM) over many (dataset, CNN) pairs.

Source: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §4.1. Each pair is
computed once with the one-pass layer engine and cached on disk as a safetensors shard. The split
is **by class**: a seeded share of each dataset's classes is held out, so validation images come
from classes the generator never saw. The two strategies of the paper are *symbols* (similar
semantics) and *objects* (dissimilar semantics), each over three CNN architectures.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm

from ..attribution.layers import DEFAULT_ETA, cumulative_gradcam_averages, layer_gradcams, layer_positions
from ..data import load_dataset
from ..data.chunks import Executor, LocalExecutor, concatenate, row_chunks
from ..data.registry import dataset_available
from ..models.checkpoints import REPOSITORY_ROOT
from ..models.registry import load_model

STRATEGIES: dict[str, tuple[str, ...]] = {
    "symbols": ("mnist", "glyphs", "digits"),
    "objects": ("shapes", "shapes_biased", "fashion_mnist"),
}
ARCHITECTURES = ("vgg", "resnet", "mobilenet")
SHARD_FORMAT = 1
DEFAULT_CACHE_DIR = REPOSITORY_ROOT / "runs" / "sftgan-data"
GENERATOR_MAX_SIDE = 64


@dataclass(frozen=True)
class Pair:
    """One (dataset, CNN) pair the generator learns from."""

    dataset: str
    model_id: str


def strategy_pairs(strategy: str) -> list[Pair]:
    """Every (dataset, ``<arch>-<dataset>``) pair of a strategy whose dataset is available here.

    ``fashion_mnist`` needs Debian's ``dataset-fashion-mnist``; without it the objects strategy
    trains on the other two datasets.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    return [Pair(dataset, f"{arch}-{dataset}") for dataset in STRATEGIES[strategy] if dataset_available(dataset) for arch in ARCHITECTURES]


def heldout_classes(n_classes: int, fraction: float, seed: int) -> list[int]:
    """A seeded ``ceil(fraction * n_classes)`` classes (at least one) kept out of training, sorted."""
    count = min(n_classes - 1, max(1, math.ceil(fraction * n_classes)))
    return sorted(np.random.default_rng(seed).permutation(n_classes)[:count].tolist())


def generator_image(inputs: torch.Tensor) -> torch.Tensor:
    """Model inputs Tensor[N, C, H, W] (any normalisation, C = 1 or 3) -> Tensor[N, 3, H, W] in [0, 1].

    Each image is min-max scaled over all its channels, so the generator sees the same picture
    whatever mean/std the CNN expects; one channel is repeated to three.
    """
    flat = inputs.detach().flatten(start_dim=1)
    low, high = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    scaled = ((flat - low) / (high - low).clamp(min=1e-12)).view_as(inputs)
    return scaled.expand(-1, 3, -1, -1) if scaled.shape[1] == 1 else scaled[:, :3]


def fit_cgmas(cgmas: torch.Tensor, eta: int = DEFAULT_ETA) -> torch.Tensor:
    """Tensor[N, m, H, W] with m <= eta CGMAs (a CNN with fewer conv layers than eta) -> Tensor[N, eta, H, W].

    Slot k takes CGMA ``ceil(k (m-1) / (eta-1))``, the layer-position rule applied to the CGMAs,
    so the first and the last CGMA keep their slots and the rest repeat evenly.
    """
    available = cgmas.shape[1]
    if available == eta:
        return cgmas
    return cgmas[:, cgma_slots(available, eta)]


def cgma_slots(available: int, eta: int = DEFAULT_ETA) -> list[int]:
    """Which of ``available`` <= eta CGMAs fills each of the eta generator slots (see :func:`fit_cgmas`)."""
    if available > eta:
        raise ValueError(f"got {available} CGMAs for {eta} slots")
    if eta == 1:
        return [available - 1]
    return [-(-k * (available - 1) // (eta - 1)) for k in range(eta)]


def slot_layers(n_layers: int, eta: int = DEFAULT_ETA) -> list[int]:
    """The last conv layer each generator slot's CGMA averages up to (layers 0..slot_layers[k])."""
    positions = layer_positions(n_layers, eta)
    return [positions[i] for i in cgma_slots(len(positions), eta)]


@dataclass
class GeneratorInputs:
    """What a generator sees for a batch, and the Grad-CAM it is trained to imitate.

    image: Tensor[N, 3, H, W] in [0, 1]; cgmas: Tensor[N, eta, H, W]; final_gradcam: Tensor[N, 1, H, W]
    (the last conv layer's Grad-CAM); targets: Tensor[N] explained classes; logits: Tensor[N, K].
    """

    image: torch.Tensor
    cgmas: torch.Tensor
    final_gradcam: torch.Tensor
    targets: torch.Tensor
    logits: torch.Tensor


def generator_inputs(model: torch.nn.Module, inputs: torch.Tensor, target=None, eta: int = DEFAULT_ETA) -> GeneratorInputs:
    """One forward and one backward pass of ``model`` on preprocessed ``inputs`` Tensor[N, C, H, W]."""
    layers = layer_gradcams(model, inputs, target)
    cgmas = fit_cgmas(cumulative_gradcam_averages(layers, eta), eta)
    return GeneratorInputs(generator_image(inputs), cgmas, layers.maps[:, -1:], layers.targets, layers.logits)


def working_size(size: tuple[int, int], max_side: int = GENERATOR_MAX_SIDE) -> tuple[int, int]:
    """The size a generator runs at: ``size``, or scaled down so its longer side is ``max_side``."""
    height, width = size
    scale = max_side / max(height, width)
    return (height, width) if scale >= 1 else (max(8, round(height * scale)), max(8, round(width * scale)))


def resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(maps.shape[-2:]) == tuple(size):
        return maps
    shrinking = size[0] < maps.shape[-2]
    return F.interpolate(maps, size=size, mode="bilinear", align_corners=False, antialias=shrinking)


def _to_uint8(maps: torch.Tensor) -> torch.Tensor:
    return (maps.clamp(0, 1) * 255).round().to(torch.uint8)


def shard_path(cache_dir: str | Path, pair: Pair) -> Path:
    return Path(cache_dir) / f"{pair.model_id}.safetensors"


def _fingerprint(pair: Pair, model_sha256: str, per_pair: int, holdout_fraction: float, seed: int, eta: int) -> dict:
    return {
        "format": SHARD_FORMAT,
        "dataset": pair.dataset,
        "model_id": pair.model_id,
        "model_sha256": model_sha256,
        "per_pair": per_pair,
        "holdout_fraction": holdout_fraction,
        "seed": seed,
        "eta": eta,
    }


def _cached_fingerprint(path: Path) -> dict | None:
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {}).get("fingerprint", "null"))
    except Exception:  # a missing, truncated or foreign file is simply rebuilt
        return None


def _pair_images(dataset: str) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """uint8 images [N,C,H,W] and labels [N] of a dataset's train then test split, and its classes."""
    parts = [load_dataset(dataset, split) for split in ("train", "test")]
    return torch.cat([part.images for part in parts]), torch.cat([part.labels for part in parts]), list(parts[0].classes)


class CGMAWorker:
    """(generator image, CGMAs, final Grad-CAM, explained class) for rows[start:stop] of a pair's images, as uint8
    arrays: the unit of work of a shard on any executor (``xai_core.data.chunks``, ``xai_core.jobs``)."""

    def __init__(self, model_id: str, dataset: str, rows: list[int], eta: int = DEFAULT_ETA):
        self.card = load_model(model_id)
        self.images = _pair_images(dataset)[0][torch.as_tensor(rows)]
        self.eta = eta

    def __call__(self, chunk: dict) -> dict[str, np.ndarray]:
        batch = self.images[chunk["start"] : chunk["stop"]].float() / 255
        computed = generator_inputs(self.card.model, self.card.preprocess(batch), eta=self.eta)
        return {
            "image": _to_uint8(computed.image).numpy(),
            "cgmas": _to_uint8(computed.cgmas).numpy(),
            "target": _to_uint8(computed.final_gradcam).numpy(),
            "explained": computed.targets.numpy(),
        }


def build_pair_shard(
    pair: Pair,
    cache_dir: str | Path = DEFAULT_CACHE_DIR,
    per_pair: int = 1000,
    holdout_fraction: float = 0.2,
    seed: int = 0,
    eta: int = DEFAULT_ETA,
    batch_size: int = 128,
    progress: bool = True,
    executor: Executor | None = None,
) -> Path:
    """Compute (image, CGMAs, final Grad-CAM) for ``per_pair`` images of a pair and cache them.

    Images are a seeded random subset of the dataset's train and test splits; the CNN explains its
    own prediction. The shard is reused when its fingerprint (model sha256, sizes, seed, eta, split)
    matches. Stored as uint8 (maps quantised to 1/255) to keep shards small. Batches run on ``executor``
    (local by default; a Ray executor computes the same bytes).
    """
    card = load_model(pair.model_id)
    fingerprint = _fingerprint(pair, card.provenance.get("sha256", ""), per_pair, holdout_fraction, seed, eta)
    path = shard_path(cache_dir, pair)
    if path.is_file() and _cached_fingerprint(path) == fingerprint:
        return path
    images, labels, classes = _pair_images(pair.dataset)
    chosen = torch.from_numpy(np.sort(np.random.default_rng(seed).permutation(len(images))[:per_pair]))
    heldout = torch.tensor(heldout_classes(len(classes), holdout_fraction, seed))
    chunks = row_chunks(len(chosen), batch_size)
    with tqdm(total=len(chunks), desc=f"CGMAs {pair.model_id}", disable=not progress, leave=False) as bar:
        results = (executor or LocalExecutor()).run(
            CGMAWorker,
            chunks,
            {"model_id": pair.model_id, "dataset": pair.dataset, "rows": chosen.tolist(), "eta": eta},
            on_progress=lambda done, _message: bar.update(round(done * len(chunks)) - bar.n),
        )
    tensors = {name: torch.from_numpy(values) for name, values in concatenate(results).items()}
    tensors["label"] = labels[chosen]
    tensors["heldout"] = torch.isin(tensors["label"], heldout)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    save_file(
        {k: v.contiguous() for k, v in tensors.items()},
        str(temporary),
        metadata={"fingerprint": json.dumps(fingerprint), "heldout_classes": json.dumps(heldout.tolist()), "classes": json.dumps(classes)},
    )
    temporary.replace(path)
    return path


@dataclass
class Shard:
    """One pair's cached samples, uint8 in memory; ``batch`` turns rows into float tensors."""

    pair: Pair
    image: torch.Tensor
    cgmas: torch.Tensor
    target: torch.Tensor
    heldout: torch.Tensor
    heldout_classes: list[int]

    @classmethod
    def load(cls, path: Path, pair: Pair) -> Shard:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
            heldout_classes_ = json.loads(handle.metadata()["heldout_classes"])
        return cls(pair, tensors["image"], tensors["cgmas"], tensors["target"], tensors["heldout"].bool(), heldout_classes_)

    def rows(self, heldout: bool) -> torch.Tensor:
        return torch.nonzero(self.heldout == heldout).flatten()

    def batch(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image [B,3,H,W], cgmas [B,eta,H,W], target [B,1,H,W]) as float in [0, 1]."""
        return tuple(tensor[rows].float().div_(255) for tensor in (self.image, self.cgmas, self.target))  # type: ignore[return-value]


def build_strategy(strategy: str, cache_dir: str | Path = DEFAULT_CACHE_DIR, progress: bool = True, **options) -> list[Shard]:
    """Build (or reuse) the shard of every pair of ``strategy`` and load them all."""
    pairs = strategy_pairs(strategy)
    if not pairs:
        raise RuntimeError(f"no dataset of the {strategy} strategy is available")
    bar = tqdm(pairs, desc=f"{strategy} pairs", disable=not progress)
    return [Shard.load(build_pair_shard(pair, cache_dir, progress=progress, **options), pair) for pair in bar]


def training_batches(
    shards: list[Shard], batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1
) -> Iterator[tuple[Shard, torch.Tensor]]:
    """This rank's training batches for one epoch: (shard, rows) from non-held-out classes.

    Every batch holds rows of one shard (pairs differ in resolution). The batch list is shuffled
    with ``seed + epoch`` and dealt round-robin to ranks, cut to a multiple of ``world_size`` so
    every rank takes the same number of steps (DDP requires it).
    """
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    batches = []
    for shard in shards:
        rows = shard.rows(heldout=False)
        rows = rows[torch.randperm(len(rows), generator=generator)]
        batches += [(shard, rows[start : start + batch_size]) for start in range(0, len(rows), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    usable = len(order) - len(order) % world_size
    for position in order[rank:usable:world_size]:
        yield batches[position]
