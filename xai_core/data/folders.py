"""``folder:<path>`` datasets: a folder of your images, labelled (one sub-folder per class) or not.

Layouts (hidden files and folders, e.g. ``.DS_Store`` or ``.ipynb_checkpoints``, are ignored):

* ``<path>/<class>/<image>``: labelled; a class-stratified 80/20 split (seed 0) of the readable images.
* ``<path>/{train,test}/<class>/<image>``: labelled and pre-split; classes come from ``train/``.
* ``<path>/<image>``: **unlabelled** (photos you want explained): ``classes == []`` and every label
  :data:`~xai_core.data.base.UNLABELED`; consumers use the model's prediction as the target. The split is by
  file: the sorted file names are shuffled with seed 0 and the first 20 % (at least one file) form ``test``,
  the rest ``train``; only the chosen split's files are decoded.
* ``<path>/{train,test}/<image>``: unlabelled and pre-split.

Every image is decoded with the upload checks (:mod:`.decode`), converted to RGB, resized so its shorter
side is ``image_size`` and centre-cropped to a square (photos are not distorted), and stored as uint8:
``3 * image_size**2`` bytes each, 147 KB at the default 224 (1,000 images: about 150 MB). Unreadable files
are skipped and listed in ``info["skipped"]`` with the reason; ``info["files"]`` names each image's file
(relative to the folder). The last two loads are kept in memory and reused while no file changes (names,
sizes and modification times are compared on every load).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from .base import UNLABELED, DatasetUnavailable, ImageDataset, stratified_split
from .decode import ACCEPTED_EXTENSIONS, ImageDecodeError, read_image_file, rgb_square_uint8

FOLDER_IMAGE_SIZE = 224  # the input side of most pretrained and user CNNs; smaller models downscale
SPLIT_SEED = 0
TEST_FRACTION = 0.2
CACHED_FOLDERS = 2

_cache: OrderedDict[tuple, ImageDataset] = OrderedDict()
_cache_lock = threading.Lock()


def _visible(entries) -> list[Path]:
    return sorted(entry for entry in entries if not entry.name.startswith("."))


def _subfolders(folder: Path) -> list[Path]:
    return [entry for entry in _visible(folder.iterdir()) if entry.is_dir()]


def _image_files(folder: Path) -> list[Path]:
    return [entry for entry in _visible(folder.iterdir()) if entry.is_file() and entry.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS]


def unlabelled_split(count: int, split: str, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> list[int]:
    """The positions (sorted) of ``split`` among ``count`` files in sorted order: a seeded shuffle, the first
    ``round(test_fraction * count)`` (at least one) for ``test``, the rest for ``train``."""
    if count == 0:
        return []
    order = np.random.default_rng(seed).permutation(count)
    n_test = max(1, int(round(test_fraction * count)))
    return sorted(order[:n_test].tolist() if split == "test" else order[n_test:].tolist())


def _layout(root: Path, split: str) -> tuple[Path, list[str], list[tuple[Path, int]], list[str], bool]:
    """(folder of the split, classes, candidate (file, label) pairs of the split, notes on ignored files,
    stratify after decoding). Raises DatasetUnavailable when the folder holds neither images nor classes, or an
    unlabelled split has no file."""
    pre_split = (root / "train").is_dir() and (root / "test").is_dir()
    base = root / split if pre_split else root
    class_root = root / "train" if pre_split else root
    classes = [folder.name for folder in _subfolders(class_root)]
    if classes:
        candidates = [(file, label) for label, name in enumerate(classes) if (base / name).is_dir() for file in _image_files(base / name)]
        stray = [f"{file}: not in a class sub-folder (labelled folders hold <folder>/<class>/<image>)" for file in _image_files(base)]
        return base, classes, candidates, stray, not pre_split
    files = _image_files(base)
    if not files and not pre_split:
        raise DatasetUnavailable(
            f"{root} holds no image files and has no class sub-folders (expected <folder>/<image files>, or "
            f"<folder>/<class>/<image files> for labelled data; accepted: {', '.join(ACCEPTED_EXTENSIONS)})."
        )
    if not pre_split:
        chosen = unlabelled_split(len(files), split)
        if not chosen:
            raise DatasetUnavailable(
                f"The {split} split of {root} is empty: its {len(files)} image(s) all form the test split "
                f"({TEST_FRACTION:.0%}, at least one); add images, or use the test split."
            )
        files = [files[i] for i in chosen]
    return base, [], [(file, UNLABELED) for file in files], [], False


def _signature(candidates: list[tuple[Path, int]]) -> tuple:
    stats = [(str(file), label, file.stat()) for file, label in candidates]
    return tuple((name, label, stat.st_size, stat.st_mtime_ns) for name, label, stat in stats)


def load_image_folder(path: str | Path, split: str = "test", image_size: int = FOLDER_IMAGE_SIZE) -> ImageDataset:
    """A ``folder:`` dataset (module docstring: layouts, split, size, memory). Raises :class:`DatasetUnavailable`
    saying what is wrong: no such folder, nothing readable, or an empty split."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetUnavailable(f"Image folder {root} does not exist." if not root.exists() else f"{root} is a file, not a folder.")
    try:
        base, classes, candidates, stray, stratify = _layout(root, split)
        key = (str(root.resolve()), split, int(image_size), tuple(classes), _signature(candidates), tuple(stray))
    except OSError as error:
        raise DatasetUnavailable(f"Image folder {root} cannot be read ({error.strerror or error}).") from error
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    dataset = _decode(root, base, split, image_size, classes, candidates, stray, stratify)
    with _cache_lock:
        _cache[key] = dataset
        while len(_cache) > CACHED_FOLDERS:
            _cache.popitem(last=False)
    return dataset


def _decode(
    root: Path,
    base: Path,
    split: str,
    image_size: int,
    classes: list[str],
    candidates: list[tuple[Path, int]],
    stray: list[str],
    stratify: bool,
) -> ImageDataset:
    """Decode the candidates (skipping unreadable files, with why), then make the stratified split if asked."""
    tensors, labels, files, skipped = [], [], [], list(stray)
    for file, label in candidates:
        try:
            tensors.append(rgb_square_uint8(read_image_file(file), image_size))
        except ImageDecodeError as error:
            skipped.append(f"{file}: {error}")
            continue
        labels.append(label)
        files.append(str(file.relative_to(root)))
    where = str(base) if classes or base != root else f"the {split} split of {root}"
    if not tensors:
        unreadable = [note for note in skipped if note not in stray]
        detail = f" ({len(unreadable)} unreadable, e.g. {unreadable[0]})" if unreadable else ""
        raise DatasetUnavailable(f"No readable images under {where}{detail}; accepted: {', '.join(ACCEPTED_EXTENSIONS)}.")
    images, labels_t = torch.stack(tensors), torch.tensor(labels, dtype=torch.long)
    if stratify:
        _, test_idx = stratified_split(labels_t.numpy(), TEST_FRACTION, SPLIT_SEED)
        chosen = test_idx if split == "test" else np.setdiff1d(np.arange(len(labels)), test_idx)
        images, labels_t, files = images[torch.from_numpy(chosen)], labels_t[torch.from_numpy(chosen)], [files[i] for i in chosen]
        if len(images) == 0:
            raise DatasetUnavailable(
                f"The {split} split of {root} is empty: with {len(tensors)} images, no class has enough for an 80/20 "
                "split (give each class at least 3 images, or make train/ and test/ folders)."
            )
    kind = "ImageFolder" if classes else "unlabelled image folder"
    return ImageDataset(
        f"folder:{root}", split, images, labels_t, classes, None, source=f"{kind} {root}", info={"skipped": skipped, "files": files}
    )
