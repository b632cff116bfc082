"""Datasets made of uploaded files: several images at once and/or zip archives of images (the browser's
"your images" upload), unlabelled, browsable like any dataset under the name ``upload:<digest>``.

Every image is decoded with the upload checks (:func:`~xai_core.data.decode.decode_image`: byte and pixel caps,
truncated files, odd colour modes), converted to RGB and centre-cropped to ``image_size`` squares like
``folder:`` images, and stored as uint8 (147 KB an image at 224; at most :data:`MAX_UPLOAD_IMAGES`, about
75 MB). A file that cannot be used is skipped and listed in ``info["skipped"]`` with the reason; the others are
kept. Zip archives are opened in memory, never extracted to disk: folders and hidden members (``__MACOSX/``,
``.DS_Store``) are passed over; an archive with more than :data:`MAX_ARCHIVE_MEMBERS` entries, or whose
members declare more than :data:`MAX_ARCHIVE_BYTES` uncompressed in all, is refused as a whole (a zip bomb
never gets decompressed), and no member is read past the image byte cap whatever it declares.

Datasets built here are kept in this process (:func:`remember_upload`, newest first, up to
:data:`MEMORY_BUDGET_BYTES`) so that every consumer can load them by name with
:func:`~xai_core.data.registry.load_dataset`; both splits are the whole set (there is nothing to train).
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

import torch

from .base import UNLABELED, DatasetUnavailable, ImageDataset
from .decode import ACCEPTED_EXTENSIONS, MAX_IMAGE_BYTES, ImageDecodeError, decode_image, rgb_square_uint8
from .folders import FOLDER_IMAGE_SIZE

UPLOAD_PREFIX = "upload:"
MAX_UPLOAD_IMAGES = 500
MAX_ARCHIVE_MEMBERS = 2_000
MAX_ARCHIVE_BYTES = 256 * 2**20  # uncompressed, over every archive of one upload
MEMORY_BUDGET_BYTES = 512 * 2**20  # upload sets kept in this process, oldest dropped first

_remembered: OrderedDict[str, ImageDataset] = OrderedDict()
_remembered_lock = threading.Lock()


def _is_image_name(name: str) -> bool:
    return PurePosixPath(name).suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS


def _hidden(member: str) -> bool:
    """Hidden files and folders, and the resource forks macOS adds to archives (``__MACOSX/``)."""
    return any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(member).parts)


def _archive_members(name: str, data: bytes, skipped: list[str], budget: list[int], max_members: int) -> Iterator[tuple[str, bytes]]:
    """(``<archive>/<member>``, bytes) of the image members of one zip archive; refusals and unusable members
    go to ``skipped``. ``budget``: [uncompressed bytes still allowed], shared by the archives of one upload."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
        skipped.append(f"{name}: not a readable zip archive ({error})")
        return
    with archive:
        if len(entries) > max_members:
            skipped.append(f"{name}: refused, it holds {len(entries):,} entries; the limit is {max_members:,}")
            return
        members = [info for info in entries if not info.is_dir() and not _hidden(info.filename)]
        images = [info for info in members if _is_image_name(info.filename)]
        skipped += [f"{name}/{info.filename}: not an image file" for info in members if not _is_image_name(info.filename)]
        declared = sum(info.file_size for info in images)
        if declared > budget[0]:
            skipped.append(
                f"{name}: refused, its images declare {declared / 2**20:,.1f} MB uncompressed; the limit is "
                f"{MAX_ARCHIVE_BYTES / 2**20:.0f} MB for all archives of an upload"
            )
            return
        for info in images:
            label = f"{name}/{info.filename}"
            if info.flag_bits & 0x1:
                skipped.append(f"{label}: encrypted")
                continue
            if info.file_size > MAX_IMAGE_BYTES:
                skipped.append(f"{label}: {info.file_size / 2**20:.1f} MB; the limit is {MAX_IMAGE_BYTES / 2**20:.0f} MB")
                continue
            try:
                with archive.open(info) as member:
                    payload = member.read(min(MAX_IMAGE_BYTES, budget[0]) + 1)  # never trust the declared size
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, zlib.error) as error:
                skipped.append(f"{label}: cannot be extracted ({error})")
                continue
            budget[0] -= len(payload)
            if budget[0] < 0:
                skipped.append(f"{label}: refused, the archives hold more than {MAX_ARCHIVE_BYTES / 2**20:.0f} MB uncompressed")
                return
            yield label, payload


def upload_digest(files: Sequence[tuple[str, bytes]], image_size: int) -> str:
    """16 hex digits identifying the uploaded files (names and bytes, in order) and the image size."""
    digest = hashlib.sha256(str(image_size).encode())
    for name, data in files:
        digest.update(hashlib.sha256(name.encode()).digest())
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()[:16]


def dataset_from_files(
    files: Sequence[tuple[str, bytes]],
    image_size: int = FOLDER_IMAGE_SIZE,
    max_images: int = MAX_UPLOAD_IMAGES,
    max_archive_members: int = MAX_ARCHIVE_MEMBERS,
) -> ImageDataset:
    """An unlabelled :class:`ImageDataset` named ``upload:<digest>`` from (file name, bytes) pairs: image files
    and ``.zip`` archives of images (module docstring: checks, limits, what is skipped). Raises
    :class:`DatasetUnavailable` listing why when not one image can be used."""
    tensors: list[torch.Tensor] = []
    names: list[str] = []
    skipped: list[str] = []
    budget = [MAX_ARCHIVE_BYTES]
    for file_name, data in files:
        members: Iterator[tuple[str, bytes]] | list[tuple[str, bytes]]
        if file_name.lower().endswith(".zip"):
            members = _archive_members(file_name, data, skipped, budget, max_archive_members)
        elif _is_image_name(file_name):
            members = [(file_name, data)]
        else:
            skipped.append(f"{file_name}: not an image file or a zip archive (accepted: {', '.join(ACCEPTED_EXTENSIONS)}, zip)")
            continue
        for member, payload in members:
            if len(tensors) >= max_images:
                skipped.append(f"{member}: over the limit of {max_images} images an upload may hold")
                continue
            try:
                tensors.append(rgb_square_uint8(decode_image(payload), image_size))
            except ImageDecodeError as error:
                skipped.append(f"{member}: {error}")
                continue
            names.append(member)
    if not tensors:
        reasons = "; ".join(skipped[:3]) + (f"; and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        raise DatasetUnavailable(f"None of the uploaded files is a usable image ({reasons or 'no files'}).")
    images = torch.stack(tensors)
    labels = torch.full((len(tensors),), UNLABELED, dtype=torch.long)
    return ImageDataset(
        UPLOAD_PREFIX + upload_digest(files, image_size),
        "test",
        images,
        labels,
        [],
        None,
        source=f"{len(names)} uploaded image(s) from {len(files)} file(s)",
        info={"skipped": skipped, "files": names},
    )


def remember_upload(dataset: ImageDataset) -> str:
    """Keep an upload set in this process so that :func:`load_dataset` finds it by name; returns the name. The
    oldest sets are dropped while the kept ones exceed :data:`MEMORY_BUDGET_BYTES` (the newest always stays)."""
    if not dataset.name.startswith(UPLOAD_PREFIX):
        raise ValueError(f"only upload sets ({UPLOAD_PREFIX}...) are kept, not {dataset.name!r}")
    with _remembered_lock:
        _remembered[dataset.name] = dataset
        _remembered.move_to_end(dataset.name)
        while len(_remembered) > 1 and sum(d.images.numel() for d in _remembered.values()) > MEMORY_BUDGET_BYTES:
            _remembered.popitem(last=False)
    return dataset.name


def uploaded_dataset(name: str) -> ImageDataset:
    """The upload set ``name`` kept by :func:`remember_upload` (the same set for either split)."""
    with _remembered_lock:
        dataset = _remembered.get(name)
    if dataset is None:
        raise DatasetUnavailable(
            f"The uploaded image set {name!r} is not in memory here (upload sets live in the process that received "
            "them, and the oldest are dropped beyond 512 MB): upload the images again."
        )
    return dataset
