"""Concept image sets for TCAV, built offline from our own data.

TCAV (Kim et al. 2018, "Interpretability Beyond Feature Attribution: Quantitative Testing with Concept
Activation Vectors (TCAV)") needs, per concept, a set of example images that show the concept, and a number
of *random* sets that show nothing in particular. Every set here is a pure function of
``(dataset, name, count, seed)``: the same arguments give the same images, bit for bit.

All sets are float Tensor[N, C, H, W] in [0, 1] at the dataset's own resolution and channel count
(glyphs 1x32x32, mnist 1x28x28, digits 1x32x32, shapes 3x48x48).

Stroke concepts (``glyphs``, ``mnist``, ``digits``) transform real training images drawn across classes:

* ``thick strokes``: grey-scale dilation (a 3x3 max filter, stride 1), so every stroke grows by a pixel on
  each side.
* ``thin strokes``: grey-scale erosion (a 2x2 min filter), so every stroke loses one pixel of width; a 3x3
  filter would erase 10-18 % of the glyphs and MNIST digits entirely. Images left without any pixel above
  0.5 are skipped.
* ``slanted``: a horizontal shear with factor s ~ U(0.25, 0.45) (the top moves right by s/2 of the width,
  the bottom left by as much), i.e. italic lettering.

Colour and texture concepts (``shapes``, ``shapes_biased``) are drawn from scratch and contain no shape:

* ``striped texture``: full-frame oriented sinusoidal stripes (3-8 periods per image, any orientation,
  strong contrast) over a random tint, like the shapes' backgrounds without their clutter.
* ``red`` / ``green``: one to four red (hue 0) or green (hue 1/3) elliptic blobs, hue jittered by +-0.03,
  on black.

Random concept sets are uniform draws without replacement from the dataset's training split (so they mix
the classes); class images for TCAV are drawn from the test split.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .decode import ACCEPTED_EXTENSIONS, MAX_IMAGE_BYTES, ImageDecodeError, decode_image, pil_to_tensor
from .registry import load_dataset
from .synthetic import SHAPE_SIZE, hsv_colour

SHEAR_RANGE = (0.25, 0.45)
MAX_UPLOADED_IMAGES = 500


@dataclass(frozen=True)
class ConceptBuilder:
    """A named concept set: ``builder(count, seed)`` -> float Tensor[count, C, H, W] in [0, 1]."""

    name: str
    description: str
    build: Callable[[int, int], torch.Tensor]

    def __call__(self, count: int, seed: int) -> torch.Tensor:
        if count < 1:
            raise ValueError(f"a concept set needs at least one image, got count={count}")
        return self.build(count, seed)


def derived_seed(seed: int, label: str) -> int:
    """A 32-bit seed for one named draw of a run with ``seed`` (independent streams per label)."""
    return int(np.random.SeedSequence([seed, zlib.crc32(label.encode())]).generate_state(1)[0])


def _generator(seed: int, label: str) -> torch.Generator:
    return torch.Generator().manual_seed(derived_seed(seed, label))


def _image_rng(seed: int, label: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of a drawn concept set: a larger set extends a smaller one."""
    return np.random.default_rng([derived_seed(seed, label), index])


def _shuffled_train_images(dataset: str, seed: int, label: str, count: int | None = None) -> torch.Tensor:
    """The first ``count`` (default all) images of the dataset's training split in a seeded random order:
    float [count, C, H, W] in [0, 1]."""
    split = load_dataset(dataset, "train")
    order = torch.randperm(len(split), generator=_generator(seed, label))
    return split.float_images(order[:count])


def dilate(images: torch.Tensor) -> torch.Tensor:
    """Grey-scale dilation with a 3x3 square: float [N,C,H,W] -> [N,C,H,W] (strokes one pixel wider per side)."""
    return F.max_pool2d(images, kernel_size=3, stride=1, padding=1)


def erode(images: torch.Tensor) -> torch.Tensor:
    """Grey-scale erosion with a 2x2 square: float [N,C,H,W] -> [N,C,H,W] (strokes one pixel thinner).

    The image is padded by one row and column with the maximum (1) so the border does not erode."""
    padded = F.pad(images, (0, 1, 0, 1), value=1.0)
    return -F.max_pool2d(-padded, kernel_size=2, stride=1)


def shear(images: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Horizontal shear about the image centre: float [N,C,H,W], factors [N] -> [N,C,H,W], zero padding.

    Output pixel (x, y) (normalised to [-1, 1]) samples input (x + s*y, y), so with s > 0 the top row moves
    right and the bottom row left: italic slant."""
    theta = torch.zeros(len(images), 2, 3)
    theta[:, 0, 0] = 1.0
    theta[:, 0, 1] = factors
    theta[:, 1, 1] = 1.0
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False).clamp(0, 1)


def thick_strokes(dataset: str, count: int, seed: int) -> torch.Tensor:
    """``count`` training images of ``dataset``, dilated (:func:`dilate`)."""
    return dilate(_shuffled_train_images(dataset, seed, "thick strokes", count))


def thin_strokes(dataset: str, count: int, seed: int) -> torch.Tensor:
    """``count`` training images of ``dataset``, eroded (:func:`erode`); images eroded to nothing are skipped."""
    eroded = erode(_shuffled_train_images(dataset, seed, "thin strokes"))
    kept = eroded[eroded.flatten(1).amax(dim=1) > 0.5]
    if len(kept) < count:
        raise ValueError(f"only {len(kept)} {dataset} training images survive erosion; asked for {count}")
    return kept[:count]


def slanted(dataset: str, count: int, seed: int) -> torch.Tensor:
    """``count`` training images of ``dataset``, sheared to the right by s ~ U(0.25, 0.45) (:func:`shear`)."""
    images = _shuffled_train_images(dataset, seed, "slanted", count)
    low, high = SHEAR_RANGE
    factors = low + (high - low) * torch.rand(len(images), generator=_generator(seed, "slanted shear"))
    return shear(images, factors)


def striped_texture(count: int, seed: int, size: int = SHAPE_SIZE) -> torch.Tensor:
    """Float [count, 3, size, size]: oriented sinusoidal stripes over a random tint, no shape, no clutter.

    pixel = tint * (1 + a * sin(2 pi f (x cos t + y sin t) + phase)), a ~ U(0.5, 0.9), f ~ U(3, 8) periods
    per image, t ~ U(0, pi); tint = HSV(U(0,1), U(0.35, 0.8), U(0.45, 0.75)); clipped to [0, 1]."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    images = np.empty((count, 3, size, size))
    for index in range(count):
        rng = _image_rng(seed, "striped texture", index)
        tint = hsv_colour(rng.uniform(), rng.uniform(0.35, 0.8), rng.uniform(0.45, 0.75))
        angle, frequency, amplitude, phase = rng.uniform(0, math.pi), rng.uniform(3, 8), rng.uniform(0.5, 0.9), rng.uniform(0, 2 * math.pi)
        wave = np.sin(2 * math.pi * frequency * (xx * math.cos(angle) + yy * math.sin(angle)) + phase)
        images[index] = tint[:, None, None] * (1 + amplitude * wave[None])
    return torch.from_numpy(np.clip(images, 0, 1)).float()


def colour_blobs(hue: float, label: str, count: int, seed: int, size: int = SHAPE_SIZE) -> torch.Tensor:
    """Float [count, 3, size, size]: one to four axis-aligned elliptic blobs of ``hue`` (+-0.03) on black.

    Each blob: centre uniform in the image, radii U(size/12, size/4), saturation U(0.7, 1), value U(0.7, 1)."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    images = np.zeros((count, 3, size, size))
    for index in range(count):
        rng = _image_rng(seed, label, index)
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = rng.uniform(0, size, size=2)
            rx, ry = rng.uniform(size / 12, size / 4, size=2)
            colour = hsv_colour(hue + rng.uniform(-0.03, 0.03), rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0))
            inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
            images[index][:, inside] = colour[:, None]
    return torch.from_numpy(images).float()


def _stroke_concepts(dataset: str) -> dict[str, ConceptBuilder]:
    return {
        "thick strokes": ConceptBuilder("thick strokes", "real images dilated by a 3x3 max filter: strokes one pixel wider "
                                        "on each side", partial(thick_strokes, dataset)),
        "thin strokes": ConceptBuilder("thin strokes", "real images eroded by a 2x2 min filter: strokes one pixel thinner",
                                       partial(thin_strokes, dataset)),
        "slanted": ConceptBuilder("slanted", "real images sheared right by 0.25-0.45 (italic)", partial(slanted, dataset)),
    }


def _colour_concepts() -> dict[str, ConceptBuilder]:
    return {
        "striped texture": ConceptBuilder("striped texture", "oriented stripes over a random tint, no shape",
                                          striped_texture),
        "red": ConceptBuilder("red", "one to four red blobs on black", partial(colour_blobs, 0.0, "red")),
        "green": ConceptBuilder("green", "one to four green blobs on black", partial(colour_blobs, 1.0 / 3.0, "green")),
    }


CONCEPTS: dict[str, dict[str, ConceptBuilder]] = {
    "glyphs": _stroke_concepts("glyphs"),
    "mnist": _stroke_concepts("mnist"),
    "digits": _stroke_concepts("digits"),
    "shapes": _colour_concepts(),
    "shapes_biased": _colour_concepts(),
}


def concept_names(dataset: str) -> list[str]:
    """Names of the concepts registered for ``dataset`` (empty when none)."""
    return list(CONCEPTS.get(dataset, {}))


def build_concept(dataset: str, name: str, count: int, seed: int) -> torch.Tensor:
    """The registered concept set ``name`` of ``dataset``: float Tensor[count, C, H, W] in [0, 1]."""
    if dataset not in CONCEPTS:
        raise KeyError(f"no concepts are registered for {dataset!r}; registered: {', '.join(CONCEPTS)}")
    if name not in CONCEPTS[dataset]:
        raise KeyError(f"unknown concept {name!r} for {dataset}; choose from {', '.join(CONCEPTS[dataset])}")
    return CONCEPTS[dataset][name](count, seed)


def random_concept_set(dataset: str, count: int, seed: int) -> torch.Tensor:
    """``count`` training images of ``dataset`` drawn uniformly without replacement (any class): float
    Tensor[count, C, H, W] in [0, 1]. One random concept per seed."""
    split = load_dataset(dataset, "train")
    if not 1 <= count <= len(split):
        raise ValueError(f"a random set of {dataset} needs 1..{len(split)} images, got {count}")
    order = torch.randperm(len(split), generator=_generator(seed, "random concept"))
    return split.float_images(order[:count])


def random_concept_sets(dataset: str, count: int, n_sets: int, seed: int) -> list[torch.Tensor]:
    """``n_sets`` random concept sets (:func:`random_concept_set`), set i drawn with the seed derived from
    (``seed``, i): a list of float Tensor[count, C, H, W]."""
    return [random_concept_set(dataset, count, derived_seed(seed, f"random set {i}")) for i in range(n_sets)]


def class_images(dataset: str, target: int, count: int, seed: int, split: str = "test") -> torch.Tensor:
    """Up to ``count`` images of class ``target`` from ``split``, a seeded draw: float Tensor[n, C, H, W]."""
    data = load_dataset(dataset, split)
    indices = torch.tensor(data.indices_of_class(target), dtype=torch.long)
    if len(indices) == 0:
        raise ValueError(f"{dataset}/{split} has no image of class {target}")
    chosen = indices[torch.randperm(len(indices), generator=_generator(seed, f"class {target}"))[:count]]
    return data.float_images(chosen)


def images_from_files(files: Sequence[tuple[str, bytes]], channels: int, size: tuple[int, int],
                      max_images: int = MAX_UPLOADED_IMAGES) -> torch.Tensor:
    """A user concept set from image files and zip archives of images: float Tensor[N, channels, *size] in [0, 1].

    files: (file name, bytes) pairs; ``.zip`` members with an image extension are read (folders and other
    members are skipped), each under the same byte and pixel limits as an upload (:func:`decode_image`).
    Images are converted to ``L`` (channels 1) or ``RGB`` (channels 3) and resized bilinearly to ``size``
    (H, W). Raises :class:`ImageDecodeError` naming the bad file."""
    tensors: list[torch.Tensor] = []
    for name, data in files:
        for member, payload in _expand_archive(name, data):
            if len(tensors) >= max_images:
                raise ImageDecodeError(f"a concept set may hold at most {max_images} images")
            try:
                image = decode_image(payload).convert("L" if channels == 1 else "RGB")
            except ImageDecodeError as error:
                raise ImageDecodeError(f"{member}: {error}") from error
            tensors.append(pil_to_tensor(image.resize((size[1], size[0]), Image.Resampling.BILINEAR)))
    if not tensors:
        raise ImageDecodeError("no image found in the uploaded files")
    return torch.stack(tensors)


def _expand_archive(name: str, data: bytes) -> list[tuple[str, bytes]]:
    if not name.lower().endswith(".zip"):
        return [(name, data)]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise ImageDecodeError(f"{name} is not a readable zip archive ({error})") from error
    members = []
    with archive:
        for info in archive.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir() or path.name.startswith(".") or path.suffix.lower().lstrip(".") not in ACCEPTED_EXTENSIONS:
                continue
            if info.file_size > MAX_IMAGE_BYTES:
                raise ImageDecodeError(f"{name}/{info.filename} is {info.file_size / 1e6:.1f} MB; the limit is "
                                       f"{MAX_IMAGE_BYTES / 1e6:.0f} MB")
            with archive.open(info) as member:
                payload = member.read(MAX_IMAGE_BYTES + 1)  # never trust the declared size of a member
            members.append((f"{name}/{info.filename}", payload))
    return members
