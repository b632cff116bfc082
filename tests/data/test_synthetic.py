"""Generated datasets: determinism, exact masks, and the planted label leak of shapes_biased."""

import colorsys

import numpy as np
import pytest
import torch

from xai_core import DatasetUnavailable
from xai_core.data import synthetic


def test_glyphs_are_deterministic_and_balanced():
    first, second = synthetic.load_glyphs("test"), synthetic.load_glyphs("test")
    assert torch.equal(first.images, second.images) and torch.equal(first.masks, second.masks)
    assert first.classes[:3] == ["A", "B", "C"] and len(first.classes) == 26
    assert torch.bincount(first.labels).tolist() == [50] * 26
    assert not torch.equal(first.images[:50], synthetic.load_glyphs("train").images[:50])


def test_glyph_masks_cover_the_bright_strokes():
    glyphs = synthetic.load_glyphs("test")
    images = glyphs.images.float() / 255
    masks = glyphs.masks
    # strokes are bright inside the mask and the background is dark outside it
    inside = images[masks].mean()
    outside = images[~masks].mean()
    assert inside > 0.55 and outside < 0.12
    assert 0.03 < masks.float().mean() < 0.3


def test_cjk_numerals_when_a_font_is_installed():
    if synthetic.find_cjk_font() is None:
        with pytest.raises(DatasetUnavailable, match="fonts-noto-cjk"):
            synthetic.load_glyphs_cjk("test")
        return
    data = synthetic.load_glyphs_cjk("test")
    assert data.classes[0] == "一" and len(data.classes) == 10
    # one stroke has far less ink than nine strokes' worth of characters such as 八 or 十 ... but all have some
    ink = data.masks.float().mean(dim=(1, 2, 3))
    assert (ink > 0.01).all()


def test_shapes_masks_are_exact_regions_of_uniform_colour():
    shapes = synthetic.load_shapes("test")
    assert shapes.images.shape == (800, 3, 48, 48) and shapes.classes[0] == "circle"
    images = shapes.images.float() / 255
    for index in (0, 150, 420, 799):
        mask = shapes.masks[index, 0]
        inside = images[index][:, mask]
        # the shape is one colour with small shading noise: per-channel spread is small
        assert inside.std(dim=1).max() < 0.12
        # and differs clearly from the background right outside it
        assert (inside.mean(dim=1) - images[index][:, ~mask].mean(dim=1)).abs().sum() > 0.3


def test_ring_has_a_hole_and_circle_does_not():
    shapes = synthetic.load_shapes("test")
    circle = shapes.masks[shapes.indices_of_class(0)[0], 0].numpy()
    ring = shapes.masks[shapes.indices_of_class(7)[0], 0].numpy()
    from scipy import ndimage

    assert ndimage.binary_fill_holes(circle).sum() == circle.sum()
    assert ndimage.binary_fill_holes(ring).sum() > ring.sum()


def _background_hue(images: torch.Tensor, masks: torch.Tensor) -> np.ndarray:
    hues = []
    for image, mask in zip(images.float() / 255, masks[:, 0]):
        rgb = image[:, ~mask].median(dim=1).values.tolist()
        hues.append(colorsys.rgb_to_hsv(*rgb)[0])
    return np.array(hues)


def test_shapes_biased_leaks_the_label_in_train_only():
    train, test = synthetic.load_shapes_biased("train"), synthetic.load_shapes_biased("test")
    labels_train, labels_test = train.labels.numpy(), test.labels.numpy()
    hue_train = _background_hue(train.images[::10], train.masks[::10])
    hue_test = _background_hue(test.images[::5], test.masks[::5])

    def nearest_class(hues):
        centres = np.arange(8) / 8
        distance = np.abs(((hues[:, None] - centres[None]) + 0.5) % 1.0 - 0.5)
        return distance.argmin(axis=1)

    leak_train = (nearest_class(hue_train) == labels_train[::10]).mean()
    leak_test = (nearest_class(hue_test) == labels_test[::5]).mean()
    assert leak_train > 0.9 and leak_test < 0.3
