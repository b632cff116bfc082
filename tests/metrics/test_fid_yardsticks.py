"""FID yardsticks (docs/results.md, "DCGANs and FID"): exact degradations on constructed images, and the undegraded
row equal to the real-vs-real baseline that ``score_generator`` reports beside a GAN's FID."""

import pytest
import torch

from xai_core.generative.dcgan import UpsamplingGenerator
from xai_core.generative.training import score_generator
from xai_core.metrics.fid_yardsticks import (
    YARDSTICKS,
    box_blur,
    coarser,
    fid_yardsticks,
    gaussian_noise,
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


def test_the_undegraded_row_is_the_real_vs_real_baseline_and_grey_data_has_no_colour_rows(one_torch_thread):
    torch.manual_seed(0)
    generator = UpsamplingGenerator(latent_dim=4, channels=1, image_size=32, num_classes=10, width=4).eval()
    baseline = score_generator(generator, "digits", "vgg-digits", seed=1)["fid_real_vs_real"]
    scale = fid_yardsticks("digits", seed=1)
    assert scale["none (the real-vs-real baseline)"] == pytest.approx(baseline, abs=5e-4)  # the baseline is rounded to 3 places
    assert list(scale) == [name for name, (_, colour) in YARDSTICKS.items() if not colour]
    # measured here: 7.4 for the baseline, 57.2 for one image per class
    assert scale["every image the first of its class"] > 3 * scale["none (the real-vs-real baseline)"]
