"""The captioning dataset: every caption is checked against its own pixels (colours, shapes, relations, masks)."""

import numpy as np
import pytest
import torch
from scipy.spatial import ConvexHull

from xai_core.data.captioning import (COLOURS, MAX_TOKENS, NO_OBJECT, RELATIONS, SCENE_SIZE, SPLIT_SIZES, VOCABULARY, decode,
                                      encode, load_captioning, make_scene)


def shape_of(mask: np.ndarray) -> str:
    """Classify a mask by solidity (area / convex hull area) and the hull's isoperimetric quotient 4 pi A / P^2."""
    ys, xs = np.nonzero(mask)
    corners = np.concatenate([np.stack([xs + dx, ys + dy], axis=1) for dx in (0, 1) for dy in (0, 1)])
    hull = ConvexHull(corners)
    solidity = mask.sum() / hull.volume
    quotient = 4 * np.pi * hull.volume / hull.area**2
    if solidity < 0.7:
        return "star"
    return "circle" if quotient > 0.92 else "square" if quotient > 0.75 else "triangle"


def colour_of(image: np.ndarray, mask: np.ndarray) -> str:
    mean = image[:, mask].mean(axis=1) / 255
    return min(COLOURS, key=lambda name: np.abs(np.array(COLOURS[name]) - mean).sum())


@pytest.mark.parametrize("split", ["train", "test"])
def test_every_caption_describes_its_scene(split):
    data = load_captioning(split)
    assert len(data) == SPLIT_SIZES[split] and data.images.shape == (len(data), 3, SCENE_SIZE, SCENE_SIZE)
    lengths = {3: 0, 7: 0, 8: 0}
    for row in range(0 if split == "test" else 3500, len(data)):
        image, words = data.images[row].numpy(), data.captions[row].split()
        lengths[len(words)] += 1
        masks = data.masks[row].numpy()
        objects = 1 if len(words) == 3 else 2
        assert masks[:objects].sum(axis=(1, 2)).min() > 40 and not (masks[0] & masks[1]).any()
        assert masks[objects:].sum() == 0
        descriptions = [(words[1], words[2]), (words[-2], words[-1])][:objects]
        for index, (colour, shape) in enumerate(descriptions):
            assert colour_of(image, masks[index]) == colour, (row, data.captions[row])
            assert shape_of(masks[index]) == shape, (row, data.captions[row])
        background = ~masks.any(axis=0)
        assert image[:, background].mean() < 0.25 * 255  # only the shapes are bright
        if objects == 2:
            relation = " ".join(words[3:-3])
            (y0, x0), (y1, x1) = (np.argwhere(mask).mean(axis=0) for mask in masks[:2])
            dx, dy = RELATIONS[relation]
            assert (x0 - x1) * dx + (y0 - y1) * dy > 15, (row, data.captions[row])  # clearly on that side
            assert masks[0].sum() >= 1.3 * masks[1].sum(), (row, data.captions[row])  # the subject is the bigger object
    assert all(count > 0 for count in lengths.values())


def test_tokens_know_their_objects_and_round_trip():
    data = load_captioning("test")
    for row in range(50):
        ids, objects = data.token_ids[row], data.token_objects[row]
        words = decode(ids)
        assert " ".join(words) == data.captions[row]
        assert ids[0] == VOCABULARY.index("<start>") and ids[len(words) + 1] == VOCABULARY.index("<end>")
        assert (ids[len(words) + 2:] == VOCABULARY.index("<pad>")).all() and ids.shape == (MAX_TOKENS,)
        for position, word in enumerate(words, start=1):
            expected = NO_OBJECT if word in ("left", "right", "of", "above", "below") else (0 if position <= 3 else 1)
            assert int(objects[position]) == expected
        assert objects[0] == NO_OBJECT and (objects[len(words) + 1:] == NO_OBJECT).all()
    assert encode(["a", "red", "star"]) == [1, 3, VOCABULARY.index("red"), VOCABULARY.index("star"), 2]
    with pytest.raises(ValueError, match="unknown word"):
        encode(["a", "purple", "star"])


def test_word_masks_and_determinism():
    scene = make_scene("test", 0)
    assert scene.caption == "a yellow star left of a red circle"
    assert torch.equal(scene.word_mask(1), scene.masks[0]) and torch.equal(scene.word_mask(7), scene.masks[1])
    assert not scene.word_mask(3).any() and not scene.word_mask(4).any()  # "left", "of" name no object
    again = make_scene("test", 0)
    assert torch.equal(scene.image, again.image) and scene.tokens == again.tokens
    assert not torch.equal(make_scene("train", 0).image, scene.image)
    with pytest.raises(ValueError, match="split"):
        make_scene("validation", 0)
