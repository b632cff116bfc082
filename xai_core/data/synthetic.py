"""Procedurally generated datasets with exact ground-truth foreground masks.

* ``glyphs``: the 26 capital Latin letters rendered with the fonts that ship with
  matplotlib, under random affine transforms, stroke thickness and noise; 32x32, white
  on black like MNIST.
* ``glyphs_cjk``: the Chinese numerals one to ten, when a CJK font is installed.
* ``shapes``: eight shapes on cluttered striped backgrounds with distractor lines; 48x48 RGB.
* ``shapes_biased``: like ``shapes``, but in the training split the background hue tells
  the class, so a CNN can learn the background instead of the shape; the test split
  has random backgrounds and exposes the shortcut.

Every sample is a pure function of (dataset, split, index): the same on every machine.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..imaging import hsv_to_rgb
from .base import DatasetUnavailable, ImageDataset

GLYPH_SIZE = 32
SHAPE_SIZE = 48
SHAPE_RADIUS = (0.2, 0.32)  # of the side, uniform
OBJECT_SATURATION = (0.5, 1.0)  # an object's HSV saturation and value, uniform; its hue is any
OBJECT_VALUE = (0.75, 1.0)
LATIN_LETTERS = [chr(ord("A") + i) for i in range(26)]
CJK_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
SHAPE_CLASSES = ["circle", "square", "triangle", "diamond", "star", "cross", "hexagon", "ring"]
SPLIT_SEEDS = {"train": 1, "test": 2}
PER_CLASS = {
    "glyphs": {"train": 200, "test": 50},
    "glyphs_cjk": {"train": 300, "test": 60},
    "shapes": {"train": 400, "test": 100},
    "shapes_biased": {"train": 400, "test": 100},
}


def _matplotlib_fonts() -> list[Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    names = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf",
             "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "cmss10.ttf"]
    return [folder / name for name in names if (folder / name).is_file()]


@lru_cache(maxsize=1)
def find_cjk_font() -> Path | None:
    """A font file on this machine that renders Chinese numerals, or None."""
    from matplotlib import font_manager

    candidates = [Path(p) for p in font_manager.findSystemFonts() if any(k in Path(p).name for k in ("CJK", "wqy", "DroidSansFallback", "Hei", "Ming"))]
    for candidate in sorted(candidates):
        try:
            font = ImageFont.truetype(str(candidate), 24)
            if font.getbbox("三")[2] > 0 and font.getmask("三").getbbox() is not None:
                return candidate
        except OSError:
            continue
    return None


def _sample_rng(name: str, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([sum(map(ord, name)), SPLIT_SEEDS[split], index])


def _render_glyph(text: str, font_path: Path, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One glyph -> (uint8 image [S,S], bool mask [S,S]). Drawn at 4x, transformed, box-downsampled."""
    scale = 4
    canvas_size = GLYPH_SIZE * scale
    font = ImageFont.truetype(str(font_path), int(rng.uniform(0.55, 0.8) * canvas_size))
    layer = Image.new("L", (canvas_size, canvas_size), 0)
    draw = ImageDraw.Draw(layer)
    stroke = int(rng.integers(0, 3)) * scale // 2
    draw.text((canvas_size / 2, canvas_size / 2), text, fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255)
    angle = math.radians(rng.uniform(-15, 15))
    shear = rng.uniform(-0.2, 0.2)
    zoom = rng.uniform(0.85, 1.1)
    shift = rng.uniform(-0.08, 0.08, size=2) * canvas_size
    cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
    centre = canvas_size / 2
    # inverse map output -> input about the centre
    a, b, d, e = cos, -sin + shear, sin, cos
    c = centre - a * (centre + shift[0]) - b * (centre + shift[1])
    f = centre - d * (centre + shift[0]) - e * (centre + shift[1])
    layer = layer.transform(layer.size, Image.Transform.AFFINE, (a, b, c, d, e, f), resample=Image.Resampling.BILINEAR)
    small = np.asarray(layer.resize((GLYPH_SIZE, GLYPH_SIZE), Image.Resampling.BOX), dtype=np.float64) / 255.0
    mask = small >= 0.5
    noisy = small * rng.uniform(0.8, 1.0) + rng.normal(0, rng.uniform(0.0, 0.08), small.shape)
    return np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8), mask


def _glyph_dataset(name: str, split: str, texts: list[str], fonts: list[Path]) -> ImageDataset:
    per_class = PER_CLASS[name][split]
    images = np.zeros((len(texts) * per_class, GLYPH_SIZE, GLYPH_SIZE), dtype=np.uint8)
    masks = np.zeros(images.shape, dtype=bool)
    labels = np.repeat(np.arange(len(texts)), per_class)
    for index, label in enumerate(labels):
        rng = _sample_rng(name, split, index)
        font = fonts[int(rng.integers(len(fonts)))]
        images[index], masks[index] = _render_glyph(texts[label], font, rng)
    return ImageDataset(
        name, split, torch.from_numpy(images)[:, None], torch.from_numpy(labels.astype(np.int64)), list(texts),
        torch.from_numpy(masks)[:, None], source="rendered glyphs: " + ", ".join(f.name for f in fonts),
    )


def load_glyphs(split: str = "test") -> ImageDataset:
    """26 capital letters in matplotlib's fonts; 200/50 per class (train/test), 32x32, exact masks."""
    _check(split)
    return _glyph_dataset("glyphs", split, LATIN_LETTERS, _matplotlib_fonts())


def load_glyphs_cjk(split: str = "test") -> ImageDataset:
    """Chinese numerals one..ten in an installed CJK font; 300/60 per class, 32x32, exact masks."""
    _check(split)
    font = find_cjk_font()
    if font is None:
        raise DatasetUnavailable("No CJK font is installed; install one (Debian: 'apt-get install fonts-noto-cjk').")
    return _glyph_dataset("glyphs_cjk", split, CJK_NUMERALS, [font])


def _check(split: str) -> None:
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def _shape_polygon(kind: str, centre: np.ndarray, radius: float, angle: float) -> list[tuple[float, float]]:
    def regular(n: int, offset: float = 0.0, radii: tuple[float, ...] = (1.0,)) -> list[tuple[float, float]]:
        points = []
        for i in range(n * len(radii)):
            theta = angle + offset + 2 * math.pi * i / (n * len(radii))
            r = radius * radii[i % len(radii)]
            points.append((centre[0] + r * math.cos(theta), centre[1] + r * math.sin(theta)))
        return points

    if kind == "square":
        return regular(4, math.pi / 4)
    if kind == "diamond":
        return [(centre[0] + dx * radius * math.cos(angle) - dy * radius * math.sin(angle),
                 centre[1] + dx * radius * math.sin(angle) + dy * radius * math.cos(angle))
                for dx, dy in ((0, -1), (0.6, 0), (0, 1), (-0.6, 0))]
    if kind == "triangle":
        return regular(3, -math.pi / 2)
    if kind == "hexagon":
        return regular(6)
    if kind == "star":
        return regular(5, -math.pi / 2, (1.0, 0.45))
    if kind == "cross":
        arm = 0.33
        outline = [(arm, 1), (arm, arm), (1, arm), (1, -arm), (arm, -arm), (arm, -1),
                   (-arm, -1), (-arm, -arm), (-1, -arm), (-1, arm), (-arm, arm), (-arm, 1)]
        return [(centre[0] + radius * (x * math.cos(angle) - y * math.sin(angle)),
                 centre[1] + radius * (x * math.sin(angle) + y * math.cos(angle))) for x, y in outline]
    raise ValueError(kind)


def _shape_mask(kind: str, rng: np.random.Generator) -> np.ndarray:
    """Exact bool mask [S,S] of one randomly sized, placed and rotated shape."""
    radius = rng.uniform(*SHAPE_RADIUS) * SHAPE_SIZE
    centre = rng.uniform(radius + 1, SHAPE_SIZE - radius - 1, size=2)
    angle = rng.uniform(0, 2 * math.pi)
    return shape_mask(kind, centre, radius, angle, SHAPE_SIZE)


def shape_mask(kind: str, centre: np.ndarray, radius: float, angle: float, size: int) -> np.ndarray:
    """Exact bool mask [size, size] of one shape of SHAPE_CLASSES at ``centre`` (x, y) with ``radius`` and ``angle``."""
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    box = [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius]
    if kind == "circle":
        draw.ellipse(box, fill=255)
    elif kind == "ring":
        draw.ellipse(box, fill=255)
        inner = radius * 0.55
        draw.ellipse([centre[0] - inner, centre[1] - inner, centre[0] + inner, centre[1] + inner], fill=0)
    else:
        draw.polygon(_shape_polygon(kind, centre, radius, angle), fill=255)
    return np.asarray(layer) > 127


def hsv_colour(hue: float, saturation: float, value: float) -> np.ndarray:
    """One HSV colour (hue wraps) -> RGB array [3] in [0, 1], float64."""
    return hsv_to_rgb(*torch.tensor([hue, saturation, value], dtype=torch.float64)).numpy()


def _cluttered_background(rng: np.random.Generator, hue: float | None) -> np.ndarray:
    """Float RGB [S,S,3] in [0,1]: a tinted base, oriented stripes, distractor lines and dots."""
    base_hue = rng.uniform() if hue is None else hue + rng.uniform(-0.03, 0.03)
    base = hsv_colour(base_hue, rng.uniform(0.35, 0.7), rng.uniform(0.35, 0.6))
    yy, xx = np.mgrid[0:SHAPE_SIZE, 0:SHAPE_SIZE] / SHAPE_SIZE
    theta = rng.uniform(0, math.pi)
    stripes = np.sin(2 * math.pi * rng.uniform(2, 6) * (xx * math.cos(theta) + yy * math.sin(theta)) + rng.uniform(0, 2 * math.pi))
    image = base[None, None, :] * (1 + rng.uniform(0.1, 0.3) * stripes[:, :, None])
    canvas = Image.fromarray(np.clip(np.rint(image * 255), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 8))):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.uniform() < 0.6:
            x0, y0, x1, y1 = rng.uniform(0, SHAPE_SIZE, size=4)
            draw.line([(x0, y0), (x1, y1)], fill=colour, width=int(rng.integers(1, 3)))
        else:
            x, y = rng.uniform(0, SHAPE_SIZE, size=2)
            r = rng.uniform(1, 2.5)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return np.asarray(canvas, dtype=np.float64) / 255.0


def _shape_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    mean_background = background.reshape(-1, 3).mean(axis=0)
    for _ in range(50):
        colour = hsv_colour(rng.uniform(), rng.uniform(*OBJECT_SATURATION), rng.uniform(*OBJECT_VALUE))
        if np.abs(colour - mean_background).sum() > 0.6:
            return colour
    return 1.0 - mean_background


def _shapes_dataset(name: str, split: str, biased: bool) -> ImageDataset:
    per_class = PER_CLASS[name][split]
    labels = np.repeat(np.arange(len(SHAPE_CLASSES)), per_class)
    images = np.zeros((len(labels), SHAPE_SIZE, SHAPE_SIZE, 3), dtype=np.uint8)
    masks = np.zeros((len(labels), SHAPE_SIZE, SHAPE_SIZE), dtype=bool)
    for index, label in enumerate(labels):
        rng = _sample_rng(name, split, index)
        leak_hue = label / len(SHAPE_CLASSES) if biased and split == "train" else None
        background = _cluttered_background(rng, leak_hue)
        mask = _shape_mask(SHAPE_CLASSES[label], rng)
        colour = _shape_colour(rng, background)
        shaded = colour[None, None, :] * (1 + rng.normal(0, 0.04, size=(SHAPE_SIZE, SHAPE_SIZE, 1)))
        picture = np.where(mask[:, :, None], shaded, background)
        picture = picture + rng.normal(0, 0.02, picture.shape)
        images[index] = np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8)
        masks[index] = mask
    description = "procedural shapes on cluttered backgrounds"
    if biased:
        description += "; train backgrounds are tinted by class (label leak), test backgrounds are random"
    return ImageDataset(
        name, split, torch.from_numpy(images.transpose(0, 3, 1, 2).copy()), torch.from_numpy(labels.astype(np.int64)),
        list(SHAPE_CLASSES), torch.from_numpy(masks)[:, None], source=description,
    )


def load_shapes(split: str = "test") -> ImageDataset:
    """Eight shapes on cluttered backgrounds; 400/100 per class, 48x48 RGB, exact masks."""
    _check(split)
    return _shapes_dataset("shapes", split, biased=False)


def load_shapes_biased(split: str = "test") -> ImageDataset:
    """``shapes`` whose training backgrounds leak the label through their hue; test backgrounds are random."""
    _check(split)
    return _shapes_dataset("shapes_biased", split, biased=True)
