"""FID yardsticks (docs/results.md, "DCGANs and FID"): exact degradations on constructed images, and the undegraded
row equal to the real-vs-real baseline that ``score_generator`` reports beside a GAN's FID."""

import pytest
import torch

from xai_core.generative.dcgan import UpsamplingGenerator
from xai_core.generative.training import score_generator
from xai_core.metrics.fid_yardsticks import (
    ANY,
    COLOUR,
    OBJECTS,
    YARDSTICKS,
    applies,
    blurred_object,
    box_blur,
    coarser,
    fid_yardsticks,
    flat_background,
    gaussian_noise,
    object_colour_per_class,
    one_per_class,
    saturation,
)


def test_box_blur_spreads_a_point_over_its_box_and_keeps_a_constant():
    point = torch.zeros(1, 1, 5, 5)
    point[0, 0, 2, 2] = 9.0
    blurred = box_blur(point, 3)
    assert blurred.shape == point.shape
    assert torch.allclose(blurred[0, 0, 1:4, 1:4], torch.ones(3, 3)) and blurred.sum() == pytest.approx(9.0)
    assert torch.equal(box_blur(torch.full((1, 3, 4, 4), 0.25), 5), torch.full((1, 3, 4, 4), 0.25))  # edges replicated


def test_saturation_scales_the_distance_from_grey():
    pixel = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1, 1)  # grey 0.4
    assert torch.allclose(saturation(pixel, 1.6).flatten(), torch.tensor([0.08, 0.4, 0.72]))
    assert torch.allclose(saturation(pixel, 0.0).flatten(), torch.full((3,), 0.4))
    assert torch.equal(saturation(torch.tensor([0.0, 0.5, 1.0]).view(1, 3, 1, 1), 3.0).flatten(), torch.tensor([0.0, 0.5, 1.0]))


def test_coarser_replaces_each_block_by_its_mean():
    image = torch.arange(16.0).view(1, 1, 4, 4)
    expected = torch.tensor([[2.5, 2.5, 4.5, 4.5], [2.5, 2.5, 4.5, 4.5], [10.5, 10.5, 12.5, 12.5], [10.5, 10.5, 12.5, 12.5]])
    assert torch.equal(coarser(image, 2)[0, 0], expected)


def test_gaussian_noise_is_seeded_and_clipped():
    images = torch.full((2, 1, 8, 8), 0.5)
    noisy = gaussian_noise(images, 0.08, seed=3)
    assert torch.equal(noisy, gaussian_noise(images, 0.08, seed=3)) and not torch.equal(noisy, gaussian_noise(images, 0.08, seed=4))
    assert 0.04 < (noisy - images).std() < 0.12
    assert gaussian_noise(images, 10.0, seed=0).min() == 0.0 and gaussian_noise(images, 10.0, seed=0).max() == 1.0


def test_one_per_class_gives_every_image_the_first_of_its_class():
    images = torch.arange(5.0).view(5, 1, 1, 1)
    assert one_per_class(images, torch.tensor([1, 0, 1, 0, 2])).flatten().tolist() == [0.0, 1.0, 0.0, 1.0, 4.0]


def object_scene() -> tuple[torch.Tensor, torch.Tensor]:
    """Two RGB images of 1x3 pixels, Tensor[2, 3, 1, 3]: pixel 0 is the object, pixels 1 and 2 the background."""
    image_0 = [[0.9, 0.1, 0.3], [0.2, 0.6, 0.8], [0.4, 0.0, 1.0]]  # per channel: the object's value, then the background's
    image_1 = [[0.5, 0.5, 0.5], [0.1, 0.2, 0.3], [0.7, 0.7, 0.1]]
    images = torch.tensor([image_0, image_1]).view(2, 3, 1, 3)
    masks = torch.tensor([True, False, False]).view(1, 1, 1, 3).repeat(2, 1, 1, 1)
    return images, masks


def test_flat_background_paints_the_background_in_its_mean_colour_and_keeps_the_object():
    images, masks = object_scene()
    flat = flat_background(images, masks)
    torch.testing.assert_close(flat[:, :, :, 0], images[:, :, :, 0])
    expected = torch.tensor([(0.1 + 0.3) / 2, (0.6 + 0.8) / 2, (0.0 + 1.0) / 2])  # image 0's background, per channel
    torch.testing.assert_close(flat[0, :, 0, 1], expected)
    torch.testing.assert_close(flat[0, :, 0, 2], expected)


def test_the_blurred_object_mixes_its_edge_and_keeps_the_background():
    images, masks = object_scene()
    blurred = blurred_object(images, masks, 3)
    torch.testing.assert_close(blurred[:, :, :, 1:], images[:, :, :, 1:])
    torch.testing.assert_close(blurred[:, :, :, :1], box_blur(images, 3)[:, :, :, :1])
    assert not torch.allclose(blurred[:, :, :, :1], images[:, :, :, :1])


def test_each_object_takes_the_colour_of_the_first_object_of_its_class():
    images, masks = object_scene()
    images = torch.cat([images, images.roll(1, dims=1)])  # images 2 and 3: the channels of 0 and 1 rotated
    masks = torch.cat([masks, masks])
    recoloured = object_colour_per_class(images, torch.tensor([0, 1, 0, 1]), masks)
    torch.testing.assert_close(recoloured[2, :, 0, 0], images[0, :, 0, 0])  # class 0: image 0's object colour
    torch.testing.assert_close(recoloured[3, :, 0, 0], images[1, :, 0, 0])
    torch.testing.assert_close(recoloured[:, :, :, 1:], images[:, :, :, 1:])


def test_colour_and_object_yardsticks_apply_only_where_they_can():
    assert applies(ANY, 1, False) and not applies(COLOUR, 1, True) and not applies(OBJECTS, 1, True)
    assert applies(COLOUR, 3, False) and not applies(OBJECTS, 3, False) and applies(OBJECTS, 3, True)


def test_the_undegraded_row_is_the_real_vs_real_baseline_and_grey_data_has_no_colour_rows(one_torch_thread):
    torch.manual_seed(0)
    generator = UpsamplingGenerator(latent_dim=4, channels=1, image_size=32, num_classes=10, width=4).eval()
    baseline = score_generator(generator, "digits", "vgg-digits", seed=1)["fid_real_vs_real"]
    scale = fid_yardsticks("digits", seed=1)
    assert scale["none (the real-vs-real baseline)"] == pytest.approx(baseline, abs=5e-4)  # the baseline is rounded to 3 places
    assert list(scale) == [name for name, (_, needs) in YARDSTICKS.items() if needs == ANY]
    # measured here: 7.4 for the baseline, 57.2 for one image per class
    assert scale["every image the first of its class"] > 3 * scale["none (the real-vs-real baseline)"]
