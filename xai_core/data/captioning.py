"""A captioning dataset with checkable captions (SFT-GAN paper §4.3.7 and §6.2 use MS-COCO, which is not
available offline): scenes of one or two coloured shapes on a dark, lightly textured background, captioned
"a red star" or "a red star left of a blue circle", with the exact mask of every object.

Of two objects the bigger one is named first, so each scene has exactly one right caption. Every word knows
what it refers to: articles, colours and shapes name one object (``token_objects`` gives
its index); relation words ("left", "of", "above" ...) name none, like the verbs of the paper's captions.
Every scene is a pure function of (split, index), the same on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .synthetic import shape_mask

SCENE_SIZE = 64
COLOURS = {"red": (0.9, 0.15, 0.15), "green": (0.15, 0.8, 0.2), "blue": (0.2, 0.35, 0.95), "yellow": (0.95, 0.85, 0.15)}
SHAPES = ("circle", "square", "triangle", "star")
RELATIONS = {"left of": (-1, 0), "right of": (1, 0), "above": (0, -1), "below": (0, 1)}  # (dx, dy) of object 0 from object 1
SPECIAL_TOKENS = ("<pad>", "<start>", "<end>")
VOCABULARY = SPECIAL_TOKENS + ("a", *COLOURS, *SHAPES, "left", "right", "of", "above", "below")
NO_OBJECT = -1
SPLIT_SIZES = {"train": 4000, "test": 500}
SPLIT_SEEDS = {"train": 11, "test": 12}
TWO_OBJECT_SHARE = 0.7
# the caption names the bigger object first: pixel areas of the subject and the second object
SUBJECT_AREA, SECOND_AREA = (200.0, 300.0), (90.0, 130.0)
PIXELS_PER_SQUARED_RADIUS = {"circle": 3.49, "square": 2.15, "triangle": 1.44, "star": 1.54}  # measured on shape_mask
MIN_CENTRE_GAP = 22  # pixels between object centres along the relation's axis: "left of" is never a close call
MAX_TOKENS = 1 + 8 + 1  # <start>, "a red star left of a blue circle", <end>


@dataclass(frozen=True)
class CaptionedScene:
    """image: uint8 Tensor[3, S, S]; masks: bool Tensor[K, S, S], one per object; tokens: the caption's words;
    token_objects: per word, the object it names or NO_OBJECT; objects: (colour, shape, centre (x, y)) per object."""

    image: torch.Tensor
    masks: torch.Tensor
    tokens: tuple[str, ...]
    token_objects: tuple[int, ...]
    objects: tuple[tuple[str, str, tuple[float, float]], ...]

    @property
    def caption(self) -> str:
        return " ".join(self.tokens)

    def word_mask(self, position: int) -> torch.Tensor:
        """bool Tensor[S, S]: the mask of the object word ``position`` names (all False for relation words)."""
        index = self.token_objects[position]
        return self.masks[index] if index != NO_OBJECT else torch.zeros_like(self.masks[0])


def _rng(split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([SPLIT_SEEDS[split], index])


def _place_pair(rng: np.random.Generator, radii: np.ndarray, relation: str) -> list[tuple[float, float]]:
    """Centres (x, y) of objects 0 and 1 inside the canvas with object 0 clearly ``relation`` object 1: at least
    MIN_CENTRE_GAP (and their radii) apart along the relation's axis and at most half that across it (rejection sampling)."""
    dx, dy = RELATIONS[relation]
    for _ in range(10_000):
        first, second = (rng.uniform(radius + 2, SCENE_SIZE - radius - 2, size=2) for radius in radii)
        along = (first[0] - second[0]) * dx + (first[1] - second[1]) * dy
        across = abs((first[0] - second[0]) * dy) + abs((first[1] - second[1]) * dx)
        if along >= max(MIN_CENTRE_GAP, radii.sum() + 2) and across <= along / 2:
            return [tuple(first), tuple(second)]
    raise RuntimeError(f"no placement for {relation!r}")  # pragma: no cover - about 1 draw in 10 succeeds


def _background(rng: np.random.Generator) -> np.ndarray:
    """Float RGB [S, S, 3]: a dark grey with faint noise, so shapes are the only bright, saturated things."""
    return np.clip(rng.uniform(0.05, 0.2) + rng.normal(0, 0.03, size=(SCENE_SIZE, SCENE_SIZE, 3)), 0, 1)


def _radius(rng: np.random.Generator, shape: str, area: tuple[float, float]) -> float:
    """A radius giving ``shape`` a pixel area drawn uniformly from ``area``."""
    return math.sqrt(rng.uniform(*area) / PIXELS_PER_SQUARED_RADIUS[shape])


def make_scene(split: str, index: int) -> CaptionedScene:
    """The scene (split, index): one or two objects (70 % two), each a colour and shape of its own. Of two, the
    caption's subject is the bigger one, so every scene has exactly one right caption ("a red star left of a blue
    circle" and "a blue circle right of a red star" would otherwise both be true)."""
    if split not in SPLIT_SEEDS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    rng = _rng(split, index)
    count = 2 if rng.uniform() < TWO_OBJECT_SHARE else 1
    kinds = [(str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES))) for _ in range(count)]
    while count == 2 and kinds[0] == kinds[1]:
        kinds[1] = (str(rng.choice(list(COLOURS))), str(rng.choice(SHAPES)))
    relation = str(rng.choice(list(RELATIONS))) if count == 2 else None
    angles = rng.uniform(0, 2 * math.pi, size=count)
    if count == 2:
        radii = np.array([_radius(rng, shape, area) for (_, shape), area in zip(kinds, (SUBJECT_AREA, SECOND_AREA))])
    else:
        radii = rng.uniform(7, 10, size=1)
    if count == 2:
        centres = _place_pair(rng, radii, relation)
    else:
        centres = [tuple(rng.uniform(radii[0] + 2, SCENE_SIZE - radii[0] - 2, size=2))]
    picture = _background(rng)
    masks = []
    for (colour, shape), centre, radius, angle in zip(kinds, centres, radii, angles):
        mask = shape_mask(shape, np.array(centre), float(radius), float(angle), SCENE_SIZE)
        shade = np.array(COLOURS[colour]) * rng.uniform(0.85, 1.0)
        picture = np.where(mask[:, :, None], shade[None, None, :], picture)
        masks.append(mask)
    image = np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8).transpose(2, 0, 1)
    tokens, token_objects = ["a", *kinds[0]], [0, 0, 0]
    if count == 2:
        tokens += [*relation.split(), "a", *kinds[1]]
        token_objects += [NO_OBJECT] * len(relation.split()) + [1, 1, 1]
    return CaptionedScene(torch.from_numpy(image.copy()), torch.from_numpy(np.stack(masks)), tuple(tokens), tuple(token_objects),
                          tuple((colour, shape, (float(c[0]), float(c[1]))) for (colour, shape), c in zip(kinds, centres)))


def encode(tokens: tuple[str, ...] | list[str]) -> list[int]:
    """Words -> ids framed by <start> and <end>."""
    unknown = [word for word in tokens if word not in VOCABULARY]
    if unknown:
        raise ValueError(f"unknown word(s) {unknown}; the vocabulary is {', '.join(VOCABULARY[len(SPECIAL_TOKENS):])}")
    return [VOCABULARY.index("<start>"), *(VOCABULARY.index(word) for word in tokens), VOCABULARY.index("<end>")]


def decode(ids: list[int] | torch.Tensor) -> list[str]:
    """Ids -> words, stopping at <end> and skipping <start> / <pad>."""
    words = []
    for token_id in (ids.tolist() if isinstance(ids, torch.Tensor) else ids):
        word = VOCABULARY[int(token_id)]
        if word == "<end>":
            break
        if word not in SPECIAL_TOKENS:
            words.append(word)
    return words


@dataclass(frozen=True)
class CaptioningSplit:
    """images: uint8 Tensor[N, 3, S, S]; token_ids: long Tensor[N, MAX_TOKENS] (<start> ... <end>, padded);
    token_objects: long Tensor[N, MAX_TOKENS] aligned with token_ids (NO_OBJECT for specials and relations);
    masks: bool Tensor[N, 2, S, S] (the second is empty for one-object scenes); captions: list of N strings."""

    split: str
    images: torch.Tensor
    token_ids: torch.Tensor
    token_objects: torch.Tensor
    masks: torch.Tensor
    captions: list[str]

    def __len__(self) -> int:
        return len(self.captions)


@lru_cache(maxsize=2)
def load_captioning(split: str = "test") -> CaptioningSplit:
    """Every scene of a split (4,000 train, 500 test), with padded token ids and per-token object indices."""
    scenes = [make_scene(split, index) for index in range(SPLIT_SIZES[split])]
    pad = VOCABULARY.index("<pad>")
    token_ids = torch.full((len(scenes), MAX_TOKENS), pad, dtype=torch.long)
    token_objects = torch.full((len(scenes), MAX_TOKENS), NO_OBJECT, dtype=torch.long)
    masks = torch.zeros(len(scenes), 2, SCENE_SIZE, SCENE_SIZE, dtype=torch.bool)
    for row, scene in enumerate(scenes):
        ids = encode(scene.tokens)
        token_ids[row, : len(ids)] = torch.tensor(ids)
        token_objects[row, 1 : 1 + len(scene.tokens)] = torch.tensor(scene.token_objects)
        masks[row, : len(scene.masks)] = scene.masks
    return CaptioningSplit(split, torch.stack([scene.image for scene in scenes]), token_ids, token_objects, masks,
                           [scene.caption for scene in scenes])
