"""Within-class diversity (docs/results.md, "DCGANs and FID"): the per-pixel spread of one class's images, which a
generator that ignores its latent (mode collapse) scores as 0."""

import math

import pytest
import torch

from xai_core.generative.dcgan import UpsamplingGenerator
from xai_core.metrics.gan_experiments import class_diversity, generated_class_diversity


def test_class_diversity_is_the_mean_over_classes_of_the_mean_per_pixel_sample_std():
    images = torch.tensor([[0.0, 0.0], [2.0, 2.0], [1.0, 4.0], [1.0, 4.0], [1.0, 4.0]]).view(5, 1, 1, 2)
    labels = torch.tensor([0, 0, 1, 1, 1])
    # class 0: each pixel is {0, 2}, sample std sqrt(2); class 1: identical images, 0
    assert class_diversity(images, labels) == pytest.approx(math.sqrt(2) / 2, rel=1e-6)


def conditional_generator() -> UpsamplingGenerator:
    torch.manual_seed(0)
    return UpsamplingGenerator(latent_dim=4, channels=3, image_size=8, num_classes=3, width=4).eval()


def test_a_generator_that_ignores_its_latent_has_no_diversity_and_one_that_reads_it_has_some():
    generator = conditional_generator()
    reading = generated_class_diversity(generator, seed=0, per_class=20)
    assert reading > 0.0 and reading == generated_class_diversity(generator, seed=0, per_class=20)
    with torch.no_grad():
        generator.project.weight[:, :4] = 0.0  # the latent columns: the first layer sees only the one-hot label
    assert generated_class_diversity(generator, seed=0, per_class=20) == pytest.approx(0.0, abs=1e-6)
