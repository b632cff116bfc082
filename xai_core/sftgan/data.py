"""Training data for SFT-GANs: (image, CGMAs, target Grad-CAM) over many (dataset, CNN) pairs.

Source: Guna et al., "Interpreting CNN Predictions using Conditional GANs", §4.1. Each pair is
computed once with the one-pass layer engine and cached on disk as a safetensors shard, at the
generator's working size. Shards draw only from a dataset's **train** split (evaluation uses the
test split, so no evaluated image was ever seen by a generator). Inside the shard the split is
**by class**: a seeded share of classes is held out, so validation images come from classes the
generator never saw (the dataset's classes; the CNN's predicted classes for unlabelled data).
Datasets whose images are views of source photos (``info["groups"]``) also hold out a share of
the photos: validation rows are views of held-out photos only, and training rows never show a
held-out photo or a held-out class. Strategies: the paper's *symbols* (similar semantics) and
*objects* (dissimilar semantics), each over three small CNNs, and *photos* (ImageNet-scale CNNs at
224 px on views of real photographs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm.auto import tqdm

from ..attribution.layers import DEFAULT_ETA, cumulative_gradcam_averages, layer_gradcams, layer_positions
from ..data import ImageDataset, load_dataset
from ..data.chunks import Executor, LocalExecutor, concatenate, row_chunks
from ..data.registry import dataset_available
from ..models.checkpoints import REPOSITORY_ROOT
from ..models.registry import EFFICIENTNET_LITE0_ID, load_model

STRATEGIES: dict[str, tuple[str, ...]] = {
    "symbols": ("mnist", "glyphs", "digits"),
    "objects": ("shapes", "shapes_biased", "fashion_mnist"),
    "photos": ("photo_views",),
}
ARCHITECTURES = ("vgg", "resnet", "mobilenet")
PHOTO_MODELS = (EFFICIENTNET_LITE0_ID,)  # the ImageNet-scale CNNs whose real weights ship offline
SHARD_FORMAT = 3
SHARD_SPLIT = "train"
DEFAULT_CACHE_DIR = REPOSITORY_ROOT / "runs" / "sftgan-data"
GENERATOR_MAX_SIDE = 64


@dataclass(frozen=True)
class Pair:
    """One (dataset, CNN) pair the generator learns from."""

    dataset: str
    model_id: str

    @classmethod
    def parse(cls, text: str) -> Pair:
        """``MODEL@DATASET`` (e.g. ``my-resnet@folder:/data/leaves``) -> Pair; ValueError otherwise."""
        model_id, separator, dataset = text.partition("@")
        if not separator or not model_id or not dataset:
            raise ValueError(f"a pair is MODEL@DATASET (e.g. vgg-mnist@mnist or my-resnet@folder:/data/photos), got {text!r}")
        return cls(dataset, model_id)

    def __str__(self) -> str:
        return f"{self.model_id}@{self.dataset}"


def strategy_pairs(strategy: str) -> list[Pair]:
    """Every pair of a strategy whose dataset is available here: (dataset, ``<arch>-<dataset>``) for symbols
    and objects, (``photo_views``, each of :data:`PHOTO_MODELS`) for photos.

    ``fashion_mnist`` needs Debian's ``dataset-fashion-mnist``; without it the objects strategy
    trains on the other two datasets.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if strategy == "photos":
        return [Pair(dataset, model_id) for dataset in STRATEGIES[strategy] for model_id in PHOTO_MODELS]
    return [Pair(dataset, f"{arch}-{dataset}") for dataset in STRATEGIES[strategy] if dataset_available(dataset) for arch in ARCHITECTURES]


def heldout_classes(n_classes: int, fraction: float, seed: int) -> list[int]:
    """A seeded ``ceil(fraction * n_classes)`` classes (at least one) kept out of training, sorted.
    Also used for source photos (:func:`heldout_groups`)."""
    count = min(n_classes - 1, max(1, math.ceil(fraction * n_classes)))
    return sorted(np.random.default_rng(seed).permutation(n_classes)[:count].tolist())


def heldout_groups(n_groups: int, fraction: float, seed: int) -> list[int]:
    """The source photos held out for validation: the class rule under another seed stream."""
    return heldout_classes(n_groups, fraction, seed + 1_000_003)


@dataclass(frozen=True)
class RowSplit:
    """Which shard rows train and which validate. ``heldout``: Tensor[N] bool, validation rows; ``excluded``:
    Tensor[N] bool, rows used for neither (a held-out class in a training photo); ``classes``/``groups``: the
    held-out class and photo indices."""

    heldout: torch.Tensor
    excluded: torch.Tensor
    classes: list[int]
    groups: list[int]


def split_rows(classes: torch.Tensor, n_classes: int, groups: torch.Tensor | None, n_groups: int, fraction: float, seed: int) -> RowSplit:
    """The validation split of a shard's rows. ``classes``: Tensor[N] each row's class (label, or the CNN's
    prediction on unlabelled data); ``groups``: Tensor[N] each row's source photo, or None.

    Without groups a row validates iff its class is held out. With groups a row validates iff its photo is
    held out, and trains iff neither its photo nor its class is held out; the rest is excluded, so training
    sees no held-out class and validation no crop of a training photo.
    """
    held_classes = heldout_classes(n_classes, fraction, seed)
    class_out = torch.isin(classes, torch.tensor(held_classes, dtype=classes.dtype))
    if groups is None:
        return RowSplit(class_out, torch.zeros_like(class_out), held_classes, [])
    held_groups = heldout_groups(n_groups, fraction, seed)
    group_out = torch.isin(groups, torch.tensor(held_groups, dtype=groups.dtype))
    return RowSplit(group_out, class_out & ~group_out, held_classes, held_groups)


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


def _fingerprint(pair: Pair, model_sha256: str, per_pair: int, holdout_fraction: float, seed: int, eta: int, max_side: int) -> dict:
    return {
        "format": SHARD_FORMAT,
        "dataset": pair.dataset,
        "split": SHARD_SPLIT,
        "model_id": pair.model_id,
        "model_sha256": model_sha256,
        "per_pair": per_pair,
        "holdout_fraction": holdout_fraction,
        "seed": seed,
        "eta": eta,
        "max_side": max_side,
    }


def _cached_fingerprint(path: Path) -> dict | None:
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {}).get("fingerprint", "null"))
    except Exception:  # a missing, truncated or foreign file is simply rebuilt
        return None


def training_images(dataset: str) -> ImageDataset:
    """The images generators may learn from: the dataset's train split, never its test split."""
    return load_dataset(dataset, SHARD_SPLIT)


class CGMAWorker:
    """(generator image, CGMAs, final Grad-CAM, explained class) for rows[start:stop] of a pair's training images,
    at the generator's working size (longer side at most ``max_side``; image and Grad-CAM as uint8, CGMAs as
    float16: see :func:`build_pair_shard`): the unit of work of a shard on any executor (``xai_core.data.chunks``,
    ``xai_core.jobs``)."""

    def __init__(self, model_id: str, dataset: str, rows: list[int], eta: int = DEFAULT_ETA, max_side: int = GENERATOR_MAX_SIDE):
        self.card = load_model(model_id)
        self.images = training_images(dataset).images[torch.as_tensor(rows)]
        self.eta, self.size = eta, working_size(self.card.input_size, max_side)

    def __call__(self, chunk: dict) -> dict[str, np.ndarray]:
        batch = self.images[chunk["start"] : chunk["stop"]].float() / 255
        computed = generator_inputs(self.card.model, self.card.preprocess(batch), eta=self.eta)
        return {
            "image": _to_uint8(resize_maps(computed.image, self.size)).numpy(),
            "cgmas": resize_maps(computed.cgmas, self.size).clamp(0, 1).half().numpy(),
            "target": _to_uint8(resize_maps(computed.final_gradcam, self.size)).numpy(),
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
    max_side: int = GENERATOR_MAX_SIDE,
) -> Path:
    """Compute (image, CGMAs, final Grad-CAM) for ``per_pair`` images of a pair's train split and cache them.

    Images are a seeded random subset of the train split (``row``: their indices in it); the CNN explains its own
    prediction. Validation rows follow :func:`split_rows` (classes are labels, or the CNN's predictions on
    unlabelled data). The shard is reused when its fingerprint (model sha256, sizes, seed, eta, split) matches.
    Stored at the working size; image and Grad-CAM as uint8 (1/255 steps), the CGMAs as float16: the last CGMA
    of a 49-layer CNN holds its final layer at 1/49 weight, which 1/255 steps would wipe out. Batches run on
    ``executor`` (local by default; a Ray executor computes the same bytes).
    """
    card = load_model(pair.model_id)
    fingerprint = _fingerprint(pair, card.provenance.get("sha256", ""), per_pair, holdout_fraction, seed, eta, max_side)
    path = shard_path(cache_dir, pair)
    if path.is_file() and _cached_fingerprint(path) == fingerprint:
        return path
    data = training_images(pair.dataset)
    chosen = torch.from_numpy(np.sort(np.random.default_rng(seed).permutation(len(data))[:per_pair]))
    chunks = row_chunks(len(chosen), batch_size)
    with tqdm(total=len(chunks), desc=f"CGMAs {pair}", disable=not progress, leave=False) as bar:
        results = (executor or LocalExecutor()).run(
            CGMAWorker,
            chunks,
            {"model_id": pair.model_id, "dataset": pair.dataset, "rows": chosen.tolist(), "eta": eta, "max_side": max_side},
            on_progress=lambda done, _message: bar.update(round(done * len(chunks)) - bar.n),
        )
    tensors = {name: torch.from_numpy(values) for name, values in concatenate(results).items()}
    by = "label" if data.labelled else "prediction"
    classes = data.labels[chosen] if data.labelled else tensors["explained"].clone()
    groups = data.info.get("groups")
    n_groups = len(data.info.get("photos", [])) if groups is not None else 0
    chosen_groups = None if groups is None else groups[chosen]
    rows = split_rows(classes, len(data.classes or card.classes), chosen_groups, n_groups, holdout_fraction, seed)
    tensors |= {"label": classes, "row": chosen, "heldout": rows.heldout, "excluded": rows.excluded}
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    metadata = {
        "fingerprint": json.dumps(fingerprint),
        "heldout_classes": json.dumps(rows.classes),
        "heldout_groups": json.dumps(rows.groups),
        "classes": json.dumps(list(data.classes or card.classes)),
        "class_source": by,
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(temporary), metadata=metadata)
    temporary.replace(path)
    return path


@dataclass
class Shard:
    """One pair's cached samples (image and target uint8, CGMAs float16 or uint8); ``batch`` turns rows into floats. ``row``: each sample's
    index in the dataset's train split; ``class_source``: "label" or "prediction"."""

    pair: Pair
    image: torch.Tensor
    cgmas: torch.Tensor
    target: torch.Tensor
    heldout: torch.Tensor
    heldout_classes: list[int]
    excluded: torch.Tensor | None = None  # None: no row excluded
    heldout_groups: list[int] = field(default_factory=list)
    row: torch.Tensor | None = None
    class_source: str = "label"

    def __post_init__(self):
        if self.excluded is None:
            self.excluded = torch.zeros_like(self.heldout)

    @classmethod
    def load(cls, path: Path, pair: Pair) -> Shard:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
            metadata = handle.metadata()
        return cls(
            pair,
            tensors["image"],
            tensors["cgmas"],
            tensors["target"],
            tensors["heldout"].bool(),
            json.loads(metadata["heldout_classes"]),
            tensors["excluded"].bool(),
            json.loads(metadata["heldout_groups"]),
            tensors["row"],
            metadata["class_source"],
        )

    def rows(self, heldout: bool) -> torch.Tensor:
        """Validation rows (``heldout``) or training rows; excluded rows are in neither."""
        return torch.nonzero((self.heldout == heldout) & ~self.excluded).flatten()

    def batch(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(image [B,3,H,W], cgmas [B,eta,H,W], target [B,1,H,W]) as float in [0, 1]."""
        return tuple(_unit_float(tensor[rows]) for tensor in (self.image, self.cgmas, self.target))  # type: ignore[return-value]


def _unit_float(tensor: torch.Tensor) -> torch.Tensor:
    """uint8 (0-255) or float16 (0-1) stored maps -> float32 in [0, 1]."""
    return tensor.float().div_(255) if tensor.dtype == torch.uint8 else tensor.float()


def build_pairs(pairs: list[Pair], cache_dir: str | Path = DEFAULT_CACHE_DIR, progress: bool = True, **options) -> list[Shard]:
    """Build (or reuse) the shard of every pair and load them all (``options``: see :func:`build_pair_shard`)."""
    bar = tqdm(pairs, desc="pairs", disable=not progress)
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
