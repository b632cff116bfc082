"""The same seed gives the same results on CPU: maps of every explainer here; elsewhere, already tested,
metric-suite rows (tests/metrics/test_suite.py::test_rows_are_deterministic_and_independent_of_the_other_seeds,
tests/test_cli.py::test_evaluate_twice_gives_identical_rows), CNN training (tests/models/test_training.py:
same seed, same safetensors bytes) and DCGAN training (tests/generative/test_dcgan.py, likewise)."""

import pytest
import torch

from xai_core import EXPLAINERS, explain, load_dataset, load_model


@pytest.fixture(scope="module")
def card_and_images():
    return load_model("vgg-mnist"), load_dataset("mnist", "test").float_images(torch.arange(4))


def seeded_maps(card, images, method: str, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return explain(card, images, [method])[method]


@pytest.mark.parametrize("method", list(EXPLAINERS))
def test_every_explainer_repeats_its_maps_exactly_for_a_seed(card_and_images, method):
    card, images = card_and_images
    first = seeded_maps(card, images, method, seed=5)
    assert first.shape == (4, 1, 32, 32)
    assert torch.equal(first, seeded_maps(card, images, method, seed=5))


def test_the_seed_is_what_makes_smoothgrad_repeat(card_and_images):
    card, images = card_and_images
    assert not torch.equal(seeded_maps(card, images, "smoothgrad", seed=5), seeded_maps(card, images, "smoothgrad", seed=6))
