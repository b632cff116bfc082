"""Per-word explanations of a captioner (SFT-GAN paper §4.3.7, §6.2): the score of each generated word is
back-propagated to the CNN encoder, and every classifier explainer of the registry (Grad-CAM, the CGMAs and
the shipped LSFT/GSFT generators, saliency) runs unchanged on the captioner seen as a one-word classifier.

Figures per word: *mass on object*, the share of the map's mass on the mask of the object the word names
(the energy pointing game, Wang et al. 2020, with the word's object as the foreground); and *intensity*,
the mean map value over the scene's objects, which the paper's claim "verbs get less intensity" is about.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..attribution.base import Explainer
from ..attribution.cam import GradCAM
from ..attribution.gradient import VanillaSaliency
from ..attribution.layers import DEFAULT_ETA, cumulative_gradcam_averages, layer_gradcams
from ..data.captioning import COLOURS, NO_OBJECT, RELATIONS, SHAPES, encode
from ..metrics.localisation import energy_pointing_game
from ..sftgan.explainer import GSFT, LSFT
from .model import Captioner

CAPTION_METHODS: dict[str, Callable[[nn.Module], Explainer]] = {
    "grad_cam": GradCAM,
    "lsft": lambda model: LSFT(model, strategy="objects"),
    "gsft": lambda model: GSFT(model, strategy="objects"),
    "saliency": VanillaSaliency,
}
RELATION_WORDS = frozenset(word for relation in RELATIONS for word in relation.split())
ROLES = ("article", "colour", "shape", "relation")


def word_role(word: str) -> str:
    """ "article", "colour", "shape" or "relation" (the relation words stand where the paper's captions have verbs)."""
    if word in COLOURS:
        return "colour"
    if word in SHAPES:
        return "shape"
    return "relation" if word in RELATION_WORDS else "article"


class WordScoreModel(nn.Module):
    """The captioner as a classifier over the vocabulary for one word per image.

    tokens: long Tensor[N, T] decoder inputs (<start>, w1, ...); positions: long Tensor[N], the step whose
    next-word logits row n returns. forward(images Tensor[N, 3, H, W] in [0, 1]) -> logits Tensor[N, V]:
    ``logits[n]`` predicts word ``positions[n] + 1`` from the image and tokens up to that step only, so the
    gradient of a word's score reaches the encoder through that word's score and nothing later.
    A batch of another size (an explainer's one-image layer probe) uses the first row's tokens.
    """

    def __init__(self, captioner: Captioner, tokens: torch.Tensor, positions: torch.Tensor):
        super().__init__()
        if tokens.shape[0] != positions.shape[0]:
            raise ValueError(f"{tokens.shape[0]} token rows for {positions.shape[0]} positions")
        self.captioner = captioner
        self.tokens, self.positions = tokens, positions

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens, positions = self.tokens, self.positions
        if images.shape[0] != tokens.shape[0]:
            tokens, positions = tokens[:1].expand(images.shape[0], -1), positions[:1].expand(images.shape[0])
        logits = self.captioner(images, tokens[:, : int(positions.max()) + 1])
        return logits[torch.arange(images.shape[0], device=images.device), positions]


@dataclass
class CaptionExplanation:
    """words: the caption; maps: {method: Tensor[W, 1, H, W] in [0, 1]}, row w explaining word w;
    probabilities: Tensor[W], the captioner's probability of each word given the words before it;
    objects: per word, the index of the object it names (NO_OBJECT if none or unknown)."""

    words: list[str]
    maps: dict[str, torch.Tensor]
    probabilities: torch.Tensor
    objects: list[int] = field(default_factory=list)

    def word_masks(self, masks: torch.Tensor) -> torch.Tensor:
        """bool Tensor[W, H, W]: object masks Tensor[K, H, W] picked per word (empty for words naming none)."""
        empty = torch.zeros_like(masks[0], dtype=torch.bool)
        return torch.stack([masks[index].bool() if index != NO_OBJECT and index < len(masks) else empty for index in self.objects])


def _word_batch(captioner: Captioner, image: torch.Tensor, words: Sequence[str]) -> tuple[WordScoreModel, torch.Tensor, torch.Tensor]:
    """(the word-score model, W copies of image Tensor[W, 3, H, W], target word ids Tensor[W]) for a caption."""
    if not words:
        raise ValueError("the caption has no words to explain")
    ids = torch.tensor(encode(list(words)))
    count = len(words)
    model = WordScoreModel(captioner, ids[:count][None].expand(count, -1).contiguous(), torch.arange(count))
    return model, image[None].expand(count, -1, -1, -1).contiguous(), ids[1 : count + 1]


def word_explanations(
    captioner: Captioner, image: torch.Tensor, words: Sequence[str], methods: Sequence[str] = tuple(CAPTION_METHODS)
) -> CaptionExplanation:
    """Every method's map for every word of ``words`` (usually the generated caption) as said about ``image``
    float Tensor[3, H, W] in [0, 1]: one batch of W copies of the image, row w scored on word w."""
    unknown = [method for method in methods if method not in CAPTION_METHODS]
    if unknown:
        raise KeyError(f"unknown captioning method(s) {unknown}; known: {', '.join(CAPTION_METHODS)}")
    model, inputs, targets = _word_batch(captioner, image, words)
    with torch.no_grad():
        probabilities = model(inputs).softmax(dim=1).gather(1, targets[:, None]).squeeze(1)
    maps = {method: CAPTION_METHODS[method](model).attribute(inputs, targets) for method in methods}
    return CaptionExplanation(list(words), maps, probabilities)


def word_cgmas(captioner: Captioner, image: torch.Tensor, words: Sequence[str], eta: int = DEFAULT_ETA) -> torch.Tensor:
    """The CGMAs the SFT-GAN generators are conditioned on, per word: Tensor[W, eta, H, W] in [0, 1]
    (Grad-CAM at every encoder conv layer for the word's score, cumulatively averaged, Guna et al. Eq. 4)."""
    model, inputs, targets = _word_batch(captioner, image, words)
    return cumulative_gradcam_averages(layer_gradcams(model, inputs, targets), eta)


def word_objects(words: Sequence[str], objects: Sequence[tuple[str, str, object]]) -> list[int]:
    """Per word, the scene object it names: a caption is "a <colour> <shape> [<relation> a <colour> <shape>]";
    each noun phrase names the scene object (colour, shape, ...) that matches it on both words, else on the
    shape, else on the colour (NO_OBJECT when none or several do). Relation words name no object."""
    phrase_of_word, phrases, current = [], [[]], 0
    for word in words:
        if word in RELATION_WORDS:
            phrase_of_word.append(NO_OBJECT)
            if phrases[current]:
                phrases.append([])
                current += 1
            continue
        phrase_of_word.append(current)
        phrases[current].append(word)
    resolved = [_match_phrase(phrase, objects) for phrase in phrases]
    return [NO_OBJECT if phrase == NO_OBJECT else resolved[phrase] for phrase in phrase_of_word]


def _match_phrase(phrase: list[str], objects: Sequence[tuple[str, str, object]]) -> int:
    colour = next((word for word in phrase if word in COLOURS), None)
    shape = next((word for word in phrase if word in SHAPES), None)
    for wanted in ((colour, shape), (None, shape), (colour, None)):
        if wanted == (None, None):
            continue
        matches = [
            index
            for index, (c, s, _) in enumerate(objects)
            if (wanted[0] is None or c == wanted[0]) and (wanted[1] is None or s == wanted[1])
        ]
        if len(matches) == 1:
            return matches[0]
    return NO_OBJECT


def mass_on_object(maps: torch.Tensor, word_masks: torch.Tensor) -> torch.Tensor:
    """Share of each map's mass on its word's object: maps Tensor[W, 1, H, W], word_masks bool Tensor[W, H, W]
    -> Tensor[W] (NaN for a word that names no object)."""
    shares = energy_pointing_game(maps, word_masks[:, None]).float()
    return torch.where(word_masks.flatten(1).any(dim=1), shares, torch.full_like(shares, float("nan")))


def intensity_on_objects(maps: torch.Tensor, scene_mask: torch.Tensor) -> torch.Tensor:
    """Mean map value over the scene's objects: maps Tensor[W, 1, H, W], scene_mask bool Tensor[H, W] (the
    union of the object masks) -> Tensor[W] in [0, 1]."""
    if not scene_mask.any():
        raise ValueError("the scene mask is empty")
    return maps[:, 0, scene_mask].mean(dim=1)


WORD_TABLE_COLUMNS = ("position", "word", "role", "object", "probability", "method", "mass_on_object", "intensity")


def word_table(explanation: CaptionExplanation, masks: torch.Tensor | None = None) -> list[dict]:
    """One record per (word, method) with WORD_TABLE_COLUMNS. ``masks``: the scene's object masks bool
    Tensor[K, H, W]; without them (an uploaded image) mass_on_object and intensity are None."""
    scene_mask = None if masks is None else masks.any(dim=0)
    word_masks = None if masks is None else explanation.word_masks(masks)
    records = []
    for method, maps in explanation.maps.items():
        mass = None if masks is None else mass_on_object(maps, word_masks)
        intensity = None if scene_mask is None else intensity_on_objects(maps, scene_mask)
        for position, word in enumerate(explanation.words):
            share = None if mass is None or torch.isnan(mass[position]) else round(float(mass[position]), 6)
            records.append(
                {
                    "position": position,
                    "word": word,
                    "role": word_role(word),
                    "object": explanation.objects[position] if explanation.objects else NO_OBJECT,
                    "probability": round(float(explanation.probabilities[position]), 6),
                    "method": method,
                    "mass_on_object": share,
                    "intensity": None if intensity is None else round(float(intensity[position]), 6),
                }
            )
    return records
