"""Concept sets for TCAV: exact morphology and shear on constructed images, deterministic registered builders
with the dataset's shape and range, random and class sets from the right splits, user uploads."""

import io
import zipfile

import numpy as np
import pytest
import torch

from tests.conftest import png_bytes
from xai_core import ImageDecodeError, load_dataset
from xai_core.data.concepts import (CONCEPTS, build_concept, class_images, colour_blobs, dilate, erode, images_from_files,
                                    random_concept_set, random_concept_sets, shear, striped_texture)

SHAPES = {"glyphs": (1, 32, 32), "mnist": (1, 28, 28), "digits": (1, 32, 32), "shapes": (3, 48, 48), "shapes_biased": (3, 48, 48)}


def test_dilation_grows_a_pixel_into_a_3x3_block():
    image = torch.zeros(1, 1, 7, 7)
    image[0, 0, 3, 3] = 0.8
    expected = torch.zeros(1, 1, 7, 7)
    expected[0, 0, 2:5, 2:5] = 0.8
    assert torch.equal(dilate(image), expected)


def test_erosion_thins_a_bar_by_one_pixel_and_keeps_the_border():
    image = torch.zeros(1, 1, 6, 6)
    image[0, 0, :, 2:5] = 1.0  # a 3-pixel-wide vertical bar through the whole height
    expected = torch.zeros(1, 1, 6, 6)
    expected[0, 0, :, 2:4] = 1.0  # min over each 2x2 window: one column lost, rows untouched (border padded with 1)
    assert torch.equal(erode(image), expected)
    assert torch.equal(erode(torch.ones(1, 1, 4, 4)), torch.ones(1, 1, 4, 4))


def test_shear_moves_the_top_right_and_the_bottom_left():
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, :, 4] = 1.0  # vertical line in the middle column
    sheared = shear(image, torch.tensor([0.5]))[0, 0]
    # row y (normalised (2y+1)/9 - 1) samples column x + 0.5 * y_norm * 9/2: the top row by -2 pixels
    assert sheared[0].argmax().item() == 6 and sheared[0, 6].item() == pytest.approx(1.0, abs=1e-5)
    assert sheared[4].argmax().item() == 4 and sheared[4, 4].item() == pytest.approx(1.0, abs=1e-5)
    assert sheared[8].argmax().item() == 2 and sheared[8, 2].item() == pytest.approx(1.0, abs=1e-5)
    assert sheared.sum().item() == pytest.approx(9.0, abs=1e-4)


@pytest.mark.parametrize("dataset", ["glyphs", "mnist", "shapes"])
def test_registered_builders_are_deterministic_with_the_datasets_shape_and_range(dataset):
    for name, builder in CONCEPTS[dataset].items():
        images = builder(5, seed=3)
        assert images.shape == (5, *SHAPES[dataset]) and images.dtype == torch.float32, name
        assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.5, name
        assert torch.equal(images, build_concept(dataset, name, 5, 3)), name
        assert not torch.equal(images, builder(5, seed=4)), name
        assert torch.equal(builder(3, seed=3), images[:3]), name  # more images extend the same draw
        assert builder.description, name


def test_every_registered_dataset_has_its_resolution():
    assert set(CONCEPTS) == set(SHAPES)
    assert list(CONCEPTS["glyphs"]) == ["thick strokes", "thin strokes", "slanted"]
    assert list(CONCEPTS["shapes"]) == ["striped texture", "red", "green"]
    for dataset in ("digits", "shapes_biased"):
        split = load_dataset(dataset, "train")
        assert (split.channels, *split.image_size) == SHAPES[dataset]


def test_stroke_concepts_change_stroke_width_against_random_images():
    random = random_concept_set("glyphs", 40, seed=0)
    thick, thin = build_concept("glyphs", "thick strokes", 40, 0), build_concept("glyphs", "thin strokes", 40, 0)
    assert thick.mean() > 1.5 * random.mean() and thin.mean() < 0.7 * random.mean()  # mean ink (white on black)
    assert (thin.flatten(1).amax(dim=1) > 0.5).all()  # images eroded to nothing are skipped


def test_colour_concepts_hold_their_colour_and_stripes_fill_the_frame():
    red, green = colour_blobs(0.0, "red", 8, 0), colour_blobs(1 / 3, "green", 8, 0)
    lit = red.sum(dim=1) > 0
    assert lit.any() and ((red[:, 0] > 2 * red[:, 1]) & (red[:, 0] > 2 * red[:, 2]))[lit].all()
    assert (red.sum(dim=1)[~lit] == 0).all()  # black around the blobs
    lit = green.sum(dim=1) > 0
    assert ((green[:, 1] > 2 * green[:, 0]) & (green[:, 1] > 2 * green[:, 2]))[lit].all()
    stripes = striped_texture(8, 0)
    assert stripes.min() > 0  # no black background: texture everywhere
    assert (stripes.flatten(2).std(dim=2).mean(dim=1) > 0.05).all()  # strong contrast in every image


def test_random_sets_come_from_the_train_split_and_differ_per_seed():
    train = load_dataset("glyphs", "train").float_images()
    sets = random_concept_sets("glyphs", 6, 3, seed=0)
    assert len(sets) == 3 and all(s.shape == (6, 1, 32, 32) for s in sets)
    rows = {image.numpy().tobytes() for image in train}
    assert all(image.numpy().tobytes() in rows for s in sets for image in s)
    assert not torch.equal(sets[0], sets[1])
    assert all(torch.equal(a, b) for a, b in zip(sets, random_concept_sets("glyphs", 6, 3, seed=0)))
    assert not torch.equal(sets[0], random_concept_sets("glyphs", 6, 1, seed=1)[0])


def test_class_images_are_test_images_of_the_class():
    test = load_dataset("glyphs", "test")
    images = class_images("glyphs", 2, 10, seed=0)
    members = {test.float_images([i])[0].numpy().tobytes() for i in test.indices_of_class(2)}
    assert images.shape == (10, 1, 32, 32) and all(image.numpy().tobytes() in members for image in images)
    assert len(class_images("glyphs", 2, 10_000, seed=0)) == len(members)  # capped at the class size


def test_uploaded_files_and_zip_archives_become_one_concept_set():
    stripe = np.zeros((20, 10, 3), dtype=np.uint8)
    stripe[:, :5] = (255, 0, 0)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("set/a.png", png_bytes(stripe))
        bundle.writestr("set/b.PNG", png_bytes(stripe[::-1]))
        bundle.writestr("set/readme.txt", "not an image")
        bundle.writestr("__MACOSX/.hidden.png", b"junk")
    images = images_from_files([("one.png", png_bytes(stripe)), ("more.zip", archive.getvalue())], channels=1, size=(8, 8))
    assert images.shape == (3, 1, 8, 8)
    # red (255, 0, 0) in luminance is 0.299 * 255 = 76: the left half of every image
    assert images[:, 0, :, :3].mean().item() == pytest.approx(76 / 255, abs=0.01)
    assert images[:, 0, :, 5:].max().item() == 0.0
    assert images_from_files([("one.png", png_bytes(stripe))], channels=3, size=(4, 6)).shape == (1, 3, 4, 6)


def test_bad_uploads_are_refused_with_the_file_name():
    with pytest.raises(ImageDecodeError, match="broken.png"):
        images_from_files([("broken.png", b"not a png")], channels=1, size=(8, 8))
    with pytest.raises(ImageDecodeError, match="not a readable zip"):
        images_from_files([("set.zip", b"PK nonsense")], channels=1, size=(8, 8))
    with pytest.raises(ImageDecodeError, match="no image found"):
        images_from_files([], channels=1, size=(8, 8))
    with pytest.raises(ImageDecodeError, match="at most 2"):
        images_from_files([("a.png", png_bytes(np.zeros((4, 4), np.uint8)))] * 3, channels=1, size=(8, 8), max_images=2)
