import pytest
import torch

from xai_core.metrics.robustness import NOISE_LEVELS, salt_and_pepper


@pytest.mark.parametrize("amount", [0.0, 0.05, 0.25, 0.5])
def test_salt_and_pepper_hits_the_requested_fraction_half_each(amount):
    images = torch.full((2, 3, 20, 10), 0.5)
    noisy = salt_and_pepper(images, amount, seed=4)
    for image in noisy:
        hit = image[0] != 0.5
        assert hit.sum().item() == round(amount * 200)
        assert (image[0][hit] == 1).sum().item() == round(amount * 200) // 2
        assert torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])  # same positions in every channel
    assert torch.equal(noisy, salt_and_pepper(images, amount, seed=4))
    assert torch.equal(images, torch.full((2, 3, 20, 10), 0.5))  # input untouched


def test_noise_levels_and_bad_amounts():
    assert NOISE_LEVELS == (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    with pytest.raises(ValueError, match="noise amount"):
        salt_and_pepper(torch.zeros(1, 4, 4), 1.5)
