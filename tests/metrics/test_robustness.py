"""Salt-and-pepper noise and the noise curves (stability and background error per noise level)."""

import pytest
import torch

from xai_core.attribution.agreement import rank_correlation
from xai_core.metrics.robustness import NOISE_LEVELS, NoiseCurves, noise_curves, salt_and_pepper


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
    with pytest.raises(ValueError, match="noise amount"):
        salt_and_pepper(torch.zeros(1, 4, 4), -0.1)


@pytest.mark.parametrize("level", NOISE_LEVELS)
def test_salt_and_pepper_at_every_pinned_level(level):
    # 7 x 9 = 63 pixels: round(level * 63) is odd for some levels (0.05 -> 3, 0.15 -> 9, 0.25 -> 16 ...)
    images = torch.full((3, 3, 7, 9), 0.5)
    noisy = salt_and_pepper(images, level, seed=21)
    hits = round(level * 63)
    for image in noisy:
        assert torch.equal(image[0], image[1]) and torch.equal(image[0], image[2])
        values = image[0][image[0] != 0.5]
        assert values.numel() == hits
        assert (values == 1).sum().item() == hits // 2  # salt: half (rounded down)
        assert (values == 0).sum().item() == hits - hits // 2  # pepper: the rest
    assert torch.equal(noisy, salt_and_pepper(images, level, seed=21))  # deterministic per seed
    if hits > 1:
        assert not torch.equal(noisy, salt_and_pepper(images, level, seed=22))  # another seed, other positions
        # every image of the batch draws its own positions
        assert not torch.equal(noisy[0], noisy[1])


def test_salt_and_pepper_on_one_image_and_on_channels_last_batches():
    image = torch.full((1, 10, 10), 0.5)
    noisy = salt_and_pepper(image, 0.3, seed=2)
    assert noisy.shape == (1, 10, 10)
    assert (noisy != 0.5).sum().item() == 30 and (noisy == 1).sum().item() == 15
    assert torch.equal(noisy, salt_and_pepper(image[None], 0.3, seed=2)[0])  # like a batch of one
    batch = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    channels_last = batch.to(memory_format=torch.channels_last)
    assert torch.equal(salt_and_pepper(channels_last, 0.25, seed=1), salt_and_pepper(batch, 0.25, seed=1))
    # untouched pixels keep their value
    noisy = salt_and_pepper(batch, 0.25, seed=1)
    kept = (noisy != 0) & (noisy != 1)
    assert torch.equal(noisy[kept], batch[kept]) and kept[:, 0].sum().item() == 2 * (64 - 16)


def identity_maps(images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The 'explanation' is the image itself (1 channel)."""
    return images[:, :1].clone()


@pytest.fixture
def masked_images():
    """Two 1-channel 6x6 images: 0 on the foreground (top-left 3x3 block), 1 on the background (27 pixels)."""
    masks = torch.zeros(2, 1, 6, 6, dtype=torch.bool)
    masks[..., :3, :3] = True
    images = (~masks).float()
    images[1] *= 0.5  # second image: background 0.5
    return images, masks


def test_noise_curves_of_the_image_itself(masked_images):
    images, masks = masked_images
    targets = torch.tensor([3, 7])
    levels = (0.0, 0.1, 0.3)
    curves = noise_curves(identity_maps, images, targets, masks, levels=levels, seed=5)
    assert isinstance(curves, NoiseCurves) and curves.levels == levels
    assert curves.stability.shape == (2, 3) and curves.background_error.shape == (2, 3)
    # level 0 is the clean image: stability 1, background error = the mean background value
    assert curves.stability[:, 0].tolist() == [1.0, 1.0]
    assert curves.background_error[:, 0].tolist() == pytest.approx([1.0, 0.5])
    # level i uses noise seed 5 * 1000 + i: the background error is the mean of the noisy background
    for i, level in ((1, 0.1), (2, 0.3)):
        noisy = salt_and_pepper(images, level, 5000 + i)
        background = (~masks).float()
        expected = (noisy[:, :1] * background).sum(dim=(1, 2, 3)) / background.sum(dim=(1, 2, 3))
        assert curves.background_error[:, i].tolist() == pytest.approx(expected.tolist())
        assert curves.stability[:, i].tolist() == pytest.approx(rank_correlation(noisy[:, :1], images).tolist())
    # noise on a two-valued image can only disturb the ranking
    assert (curves.stability[:, 1:] < 1).all()
    assert curves.stability.dtype == torch.float64


def test_noise_curves_of_a_constant_map_stay_stable(masked_images):
    images, masks = masked_images
    constant = lambda images, targets: torch.full((images.shape[0], 1, *images.shape[-2:]), 0.3)  # noqa: E731
    curves = noise_curves(constant, images, torch.zeros(2, dtype=torch.long), masks, seed=0)
    assert curves.levels == NOISE_LEVELS
    assert curves.stability.tolist() == [[1.0] * 11] * 2  # constant vs constant
    assert curves.background_error.flatten().tolist() == pytest.approx([0.3] * 22)


def test_noise_curves_without_masks_and_what_the_explainer_receives(masked_images):
    images, _ = masked_images
    targets = torch.tensor([4, 2])
    calls = []

    def recording(batch, given_targets):
        calls.append((batch.clone(), given_targets.clone()))
        return identity_maps(batch, given_targets)

    curves = noise_curves(recording, images, targets, None, levels=(0.0, 0.2, 0.4), seed=1)
    assert curves.background_error is None and curves.stability.shape == (2, 3)
    # one clean call (reused at level 0) plus one per non-zero level, always with the clean targets
    assert len(calls) == 3
    assert torch.equal(calls[0][0], images)
    for (batch, given), (i, level) in zip(calls[1:], [(1, 0.2), (2, 0.4)]):
        assert torch.equal(given, targets)
        assert torch.equal(batch, salt_and_pepper(images, level, 1000 + i))
    # the same seed repeats exactly
    again = noise_curves(identity_maps, images, targets, None, levels=(0.0, 0.2, 0.4), seed=1)
    assert torch.equal(again.stability, curves.stability)
