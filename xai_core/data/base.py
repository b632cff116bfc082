"""The in-memory image dataset every loader returns, and the helpers loaders share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

UNLABELED = -1  # the label of every image of an unlabelled dataset (``classes == []``)
UNLABELLED_NOTE = "n/a (unlabelled)"  # what an accuracy-like figure says on unlabelled data


class DatasetUnavailable(RuntimeError):
    """The dataset's source is not on this machine; the message says how to get it."""


@dataclass
class ImageDataset:
    """A split of an image-classification dataset held in memory.

    images: uint8 Tensor[N, C, H, W] (C = 1 or 3)
    labels: int64 Tensor[N], each in ``0..len(classes)-1``; or all :data:`UNLABELED` (-1) with ``classes == []``
            for unlabelled data (a folder of photos, an upload): see :attr:`labelled`
    masks:  bool Tensor[N, 1, H, W] ground-truth foreground, or None when the data has none
    info:   loader notes, e.g. ``"skipped"`` (unreadable files, with why) and ``"files"`` (each image's file name)

    Indexing yields ``(image: float Tensor[C,H,W] in [0,1], label: int, mask: float Tensor[1,H,W] | None)``;
    the label is :data:`UNLABELED` on unlabelled data, where consumers explain the model's prediction instead.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    masks: torch.Tensor | None = None
    source: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 [N,C,H,W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError("labels must have one entry per image")
        if self.masks is not None and self.masks.shape != (self.images.shape[0], 1, *self.images.shape[2:]):
            raise ValueError("masks must be [N,1,H,W] matching the images")
        if len(self.labels) and not self.classes and bool((self.labels != UNLABELED).any()):
            raise ValueError(f"an unlabelled dataset (no classes) must have every label {UNLABELED}")
        if len(self.labels) and self.classes and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < len(self.classes):
            raise ValueError(f"labels must lie in 0..{len(self.classes) - 1} (one per class)")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, torch.Tensor | None]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {self.name}/{self.split} with {len(self)} images")
        image = self.images[index].float() / 255.0
        mask = None if self.masks is None else self.masks[index].float()
        return image, int(self.labels[index]), mask

    @property
    def labelled(self) -> bool:
        """False for unlabelled data (``classes == []``, every label :data:`UNLABELED`): the prediction is the target."""
        return bool(self.classes)

    def label_of(self, index: int) -> int | None:
        """The label of image ``index``, or None on unlabelled data."""
        return int(self.labels[index]) if self.labelled else None

    def describe(self, index: int, name: str | None = None) -> str:
        """``"<name>/<split>#<index>"`` (``name`` defaults to the dataset's), with the class and/or the file name when
        known: a source line for reports."""
        details = [self.classes[int(self.labels[index])]] if self.labelled else []
        files = self.info.get("files")
        if files:
            details.append(files[index])
        return f"{name or self.name}/{self.split}#{index}" + (f" ({', '.join(details)})" if details else "")

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[2]), int(self.images.shape[3])

    def float_images(self, indices: torch.Tensor | slice | None = None) -> torch.Tensor:
        """Float Tensor[n, C, H, W] in [0, 1] for the given indices (all by default)."""
        selected = self.images if indices is None else self.images[indices]
        return selected.float() / 255.0

    def indices_of_class(self, label: int) -> list[int]:
        return torch.nonzero(self.labels == label).flatten().tolist()


def stroke_masks(images: torch.Tensor, threshold: int = 127) -> torch.Tensor:
    """Foreground of dark-background stroke images (MNIST-like): pixels above ``threshold``.

    images: uint8 Tensor[N, 1, H, W] -> bool Tensor[N, 1, H, W]. The SFT-GAN paper uses
    the digit strokes of MNIST as its localisation ground truth.
    """
    return images > threshold


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic class-stratified split -> (train indices, test indices), each sorted.

    Every class keeps ``round(test_fraction * count)`` images in the test part.
    """
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        n_test = int(round(test_fraction * len(members)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def to_uint8_nchw(array: np.ndarray) -> torch.Tensor:
    """[N,H,W] or [N,H,W,C] array (uint8, or float in [0,1]) -> uint8 Tensor[N,C,H,W]."""
    if array.dtype != np.uint8:
        array = np.clip(np.rint(np.asarray(array, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4:
        array = array.transpose(0, 3, 1, 2)
    else:
        raise ValueError(f"expected [N,H,W] or [N,H,W,C], got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array))
