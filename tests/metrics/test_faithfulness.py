"""Faithfulness metrics on a constructed model whose confidence is known exactly.

``RegionModel`` returns logits [log m, log(1 - m)] with m = mean of the top-left quadrant (over
channels too), clamped to [EPS, 1 - EPS]; its softmax is exactly [m, 1 - m]. So the target-0
probability of any (energy / perturbed) image is the mean of what is left in the quadrant, and every
value below can be computed by hand. Images are 4x4: the quadrant ("region") is the 2x2 top-left block.
"""

import pytest
import torch
from torch import nn

from xai_core.metrics import (
    average_drop,
    deletion_auc,
    energy_confidences,
    energy_maps,
    increase_in_confidence,
    insertion_auc,
    perturbation_curves,
    target_probabilities,
    win_rate,
)
from xai_core.metrics.faithfulness import curve_auc, drop_percentages, maps_like, relevance_order
from xai_core.models.card import ModelCard

EPS = 1e-6


class RegionModel(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = x[:, :, : h // 2, : w // 2].mean(dim=(1, 2, 3)).clamp(EPS, 1 - EPS)
        return torch.stack([m.log(), (1 - m).log()], dim=1)


def region_map(values=(1.0, 1.0, 1.0, 1.0), rest: float = 0.0) -> torch.Tensor:
    """A 4x4 map: ``values`` on the region pixels (0,0), (0,1), (1,0), (1,1), ``rest`` elsewhere."""
    m = torch.full((4, 4), rest)
    m[0, 0], m[0, 1], m[1, 0], m[1, 1] = values
    return m[None]  # [1, 4, 4]


PERFECT = region_map()  # 1 on the region
EMPTY = torch.zeros(1, 4, 4)  # all 0
INVERTED = region_map((0.0, 0.0, 0.0, 0.0), rest=1.0)  # 1 off the region
HALF = region_map((1.0, 0.0, 1.0, 0.0))  # left half of the region: keeps half of the quadrant's mass


@pytest.fixture
def model():
    return RegionModel()


@pytest.fixture
def images():
    """Three 1-channel 4x4 images with quadrant means Y = 0.75, 0.5, 0.25 (exact binary fractions)."""
    third = torch.ones(4, 4)
    third[:2, :2] = 0.25  # 0.25 on the region, 1 elsewhere: the rest of the image does not matter
    return torch.stack([torch.full((4, 4), 0.75), torch.full((4, 4), 0.5), third])[:, None]


def stack(*maps):
    return torch.stack(maps)  # [N, 1, 4, 4]


TARGET_0 = torch.zeros(3, dtype=torch.long)
TARGET_1 = torch.ones(3, dtype=torch.long)


# --- target probabilities, energy maps ----------------------------------------------------------


def test_target_probabilities_are_the_region_mean_and_its_complement(model, images):
    p0 = target_probabilities(model, images, TARGET_0)
    assert p0.dtype == torch.float64 and p0.shape == (3,)
    assert p0.tolist() == pytest.approx([0.75, 0.5, 0.25], abs=1e-7)
    assert target_probabilities(model, images, TARGET_1).tolist() == pytest.approx([0.25, 0.5, 0.75], abs=1e-7)
    mixed = target_probabilities(model, images, torch.tensor([1, 0, 1]))
    assert mixed.tolist() == pytest.approx([0.25, 0.5, 0.75], abs=1e-7)
    # batching does not change anything; a plain callable works like a module
    assert torch.equal(target_probabilities(model, images, TARGET_0, batch_size=1), p0)
    assert torch.equal(target_probabilities(lambda x: model(x), images, TARGET_0), p0)
    # targets as a list
    assert torch.equal(target_probabilities(model, images, [0, 0, 0]), p0)


def test_target_probabilities_checks_the_target_count(model, images):
    with pytest.raises(ValueError, match="2 targets for 3 images"):
        target_probabilities(model, images, torch.tensor([0, 1]))
    empty = target_probabilities(model, images[:0], torch.zeros(0, dtype=torch.long))
    assert empty.shape == (0,)


def test_model_card_preprocesses_images_before_the_model(model, images):
    # mean 0, std 2: the model sees x / 2, so the quadrant means halve: 0.375, 0.25, 0.125
    card = ModelCard(id="region", arch="test", model=model, classes=["a", "b"], in_channels=1, input_size=(4, 4), mean=(0.0,), std=(2.0,))
    assert target_probabilities(card, images, TARGET_0).tolist() == pytest.approx([0.375, 0.25, 0.125], abs=1e-7)
    # the card also resizes: constant 8x8 images stay constant when resized to 4x4
    big = torch.stack([torch.full((1, 8, 8), 0.75), torch.full((1, 8, 8), 0.5)])
    assert target_probabilities(card, big, torch.tensor([0, 1])).tolist() == pytest.approx([0.375, 0.75], abs=1e-6)
    # metrics run through the card: keeping half the region halves the confidence -> 50 % drop
    assert average_drop(card, images, stack(HALF, HALF, HALF), TARGET_0) == pytest.approx(50.0, abs=1e-4)
    # deletion to black happens in [0, 1] space, before preprocessing: 0.375 -> EPS after the region goes
    curve = perturbation_curves(card, images[:1], stack(PERFECT), TARGET_0[:1], "deletion", steps=4)
    assert curve[0].tolist() == pytest.approx([0.375, EPS, EPS, EPS, EPS], abs=1e-7)


def test_energy_maps_multiply_every_channel_by_the_map():
    rgb = torch.stack([torch.full((4, 4), 0.2), torch.full((4, 4), 0.4), torch.full((4, 4), 0.8)])[None]  # [1,3,4,4]
    energy = energy_maps(rgb, stack(HALF))
    assert energy.shape == (1, 3, 4, 4)
    for channel, value in enumerate([0.2, 0.4, 0.8]):
        expected = HALF[0] * value
        assert torch.equal(energy[0, channel], expected)
    assert energy[0, :, 0, 0].tolist() == pytest.approx([0.2, 0.4, 0.8])
    assert energy[0, :, 0, 1].tolist() == [0.0, 0.0, 0.0]


def test_energy_confidences_are_the_kept_share_of_the_region(model, images):
    confidences = energy_confidences(model, images, stack(PERFECT, HALF, EMPTY), TARGET_0)
    # perfect keeps Y = 0.75, half keeps 0.5 / 2, empty keeps nothing -> EPS
    assert confidences.tolist() == pytest.approx([0.75, 0.25, EPS], abs=1e-7)


# --- average drop, increase in confidence, win rate -------------------------------------------


def test_drop_percentages_clamp_at_zero():
    original = torch.tensor([0.5, 0.5, 0.8, 0.4], dtype=torch.float64)
    energy = torch.tensor([0.25, 0.75, 0.0, 0.4], dtype=torch.float64)
    # (0.5-0.25)/0.5 = 50 %; an energy map more confident than the image drops 0 (not -50); all lost = 100 %
    assert drop_percentages(original, energy).tolist() == pytest.approx([50.0, 0.0, 100.0, 0.0])


def test_average_drop_of_perfect_empty_inverted_and_half_maps(model, images):
    maps = {name: stack(m, m, m) for name, m in {"perfect": PERFECT, "empty": EMPTY, "inverted": INVERTED, "half": HALF}.items()}
    # perfect map: O = Y for every image -> no drop
    assert average_drop(model, images, maps["perfect"], TARGET_0) == 0.0
    # empty or inverted map: O = EPS -> drop (Y - EPS) / Y * 100 per image, ~100 %
    y = torch.tensor([0.75, 0.5, 0.25], dtype=torch.float64)
    expected = float(((y - EPS) / y * 100).mean())  # = 100 - 1e-4 * (4/3 + 2 + 4) / 3
    assert average_drop(model, images, maps["empty"], TARGET_0) == pytest.approx(expected, abs=1e-5)
    assert average_drop(model, images, maps["inverted"], TARGET_0) == pytest.approx(expected, abs=1e-5)
    assert expected == pytest.approx(100 - 1e-4 * (4 / 3 + 2 + 4) / 3)
    # half map: O = Y / 2 -> 50 % for every image
    assert average_drop(model, images, maps["half"], TARGET_0) == pytest.approx(50.0, abs=1e-4)
    # mixed per image: 0 %, 50 %, ~100 % -> mean 50 %
    assert average_drop(model, images, stack(PERFECT, HALF, EMPTY), TARGET_0) == pytest.approx(
        (0 + 50 + (0.25 - EPS) / 0.25 * 100) / 3, abs=1e-4
    )


def test_average_drop_is_zero_when_the_energy_map_is_more_confident(model, images):
    # target 1 has confidence 1 - m: removing the region raises it to 1 - EPS > Y, and the drop clamps at 0
    assert average_drop(model, images, stack(EMPTY, EMPTY, EMPTY), TARGET_1) == 0.0


def test_increase_in_confidence(model, images):
    # target 0: an energy map never keeps more than the image -> 0 %; a perfect map ties (O == Y is not an increase)
    for m in (PERFECT, EMPTY, INVERTED, HALF):
        assert increase_in_confidence(model, images, stack(m, m, m), TARGET_0) == 0.0
    # target 1 (confidence 1 - m): empty -> 1 - EPS > 1 - Y for all images -> 100 %
    assert increase_in_confidence(model, images, stack(EMPTY, EMPTY, EMPTY), TARGET_1) == 100.0
    # perfect keeps 1 - Y exactly (no increase); half gives 1 - Y/2 > 1 - Y; empty increases: 2 of 3
    assert increase_in_confidence(model, images, stack(PERFECT, HALF, EMPTY), TARGET_1) == pytest.approx(200 / 3)


def test_win_rate_between_two_methods(model, images):
    perfect, empty, half = stack(PERFECT, PERFECT, PERFECT), stack(EMPTY, EMPTY, EMPTY), stack(HALF, HALF, HALF)
    assert win_rate(model, images, perfect, empty, TARGET_0) == 100.0  # Y > EPS everywhere
    assert win_rate(model, images, empty, perfect, TARGET_0) == 0.0
    assert win_rate(model, images, perfect, half, TARGET_0) == 100.0  # Y > Y / 2
    assert win_rate(model, images, half, perfect, TARGET_0) == 0.0
    # per image: A = perfect, empty, half  (O_A = 0.75, EPS, 0.125)
    #            B = half, perfect, empty  (O_B = 0.375, 0.5, EPS)   -> A wins on images 0 and 2
    assert win_rate(model, images, stack(PERFECT, EMPTY, HALF), stack(HALF, PERFECT, EMPTY), TARGET_0) == pytest.approx(200 / 3)


def test_win_rate_of_a_map_against_itself_is_zero(model, images):
    torch.manual_seed(3)
    maps = torch.rand(3, 1, 4, 4)
    assert win_rate(model, images, maps, maps, TARGET_0) == 0.0
    assert win_rate(model, images, maps, maps.clone(), TARGET_1) == 0.0


# --- deletion / insertion ---------------------------------------------------------------------


@pytest.fixture
def flat_image():
    return torch.full((1, 1, 4, 4), 0.75)


def test_relevance_order_is_descending_with_ties_by_position():
    maps = torch.tensor([[[[0.1, 0.9], [0.9, 0.5]]]])
    assert relevance_order(maps).tolist() == [[1, 2, 3, 0]]


def test_curve_auc_is_the_trapezoid_rule():
    curves = torch.tensor([[0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    assert curve_auc(curves).tolist() == [0.5, 1.0]
    assert curve_auc(torch.tensor([[0.0, 0.5, 1.0]])).tolist() == [0.5]
    # dx = 1/4: 0.25 * (1/2 + 0 + 0 + 0 + 1/2) = 0.25
    assert curve_auc(torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0]])).tolist() == [0.25]
    # dx = 1/4: 0.25 * (0.8/2 + 0.6 + 0.4 + 0.2 + 0/2) = 0.4
    assert curve_auc(torch.tensor([[0.8, 0.6, 0.4, 0.2, 0.0]], dtype=torch.float64)).tolist() == pytest.approx([0.4])


@pytest.mark.parametrize("channels", [1, 3])
def test_deletion_curve_with_region_first_and_region_last_maps(model, channels):
    image = torch.full((1, channels, 4, 4), 0.75)
    target = torch.zeros(1, dtype=torch.long)
    # steps 4 -> 0, 4, 8, 12, 16 pixels deleted. Region first: the 4 region pixels go at once.
    first = perturbation_curves(model, image, stack(PERFECT), target, "deletion", steps=4)
    assert first.shape == (1, 5) and first.dtype == torch.float64
    assert first[0].tolist() == pytest.approx([0.75, EPS, EPS, EPS, EPS], abs=1e-7)
    # region last: the 12 other pixels go first and change nothing
    last = perturbation_curves(model, image, stack(INVERTED), target, "deletion", steps=4)
    assert last[0].tolist() == pytest.approx([0.75, 0.75, 0.75, 0.75, EPS], abs=1e-7)
    # AUCs: 0.25 * (0.75/2 + 3 EPS + EPS/2) = 0.09375 + 0.875 EPS; 0.25 * (0.375 + 2.25 + EPS/2) = 0.65625 + EPS/8
    aucs = deletion_auc(model, image.expand(2, -1, -1, -1), stack(PERFECT, INVERTED), target.expand(2), steps=4)
    assert aucs.shape == (2,)
    assert aucs.tolist() == pytest.approx([0.09375 + 0.875 * EPS, 0.65625 + EPS / 8], abs=1e-7)
    assert aucs[0] < aucs[1]  # the good map makes the curve fall fastest


def test_deletion_curve_with_16_steps_follows_the_pixel_ranking(model, flat_image):
    target = torch.zeros(1, dtype=torch.long)
    # one pixel per step; region pixels ranked 1st..4th: the quadrant mean falls by 0.75/4 each step
    graded = region_map((1.0, 0.9, 0.8, 0.7), rest=0.0)
    curve = perturbation_curves(model, flat_image, stack(graded), target, "deletion", steps=16)
    assert curve.shape == (1, 17)
    assert curve[0].tolist() == pytest.approx([0.75, 0.5625, 0.375, 0.1875] + [EPS] * 13, abs=1e-7)
    # AUC = (1/16) * (0.75/2 + 0.5625 + 0.375 + 0.1875 + 12 EPS + EPS/2) = 0.09375 + 12.5 EPS / 16
    assert deletion_auc(model, flat_image, stack(graded), target, steps=16).tolist() == pytest.approx([0.09375 + 12.5 * EPS / 16], abs=1e-7)
    # region ranked 13th..16th: 12 flat steps first
    worst = region_map((0.4, 0.3, 0.2, 0.1), rest=1.0)
    curve = perturbation_curves(model, flat_image, stack(worst), target, "deletion", steps=16)
    assert curve[0].tolist() == pytest.approx([0.75] * 13 + [0.5625, 0.375, 0.1875, EPS], abs=1e-7)
    # AUC = (1/16) * (0.75/2 + 12 * 0.75 + 0.5625 + 0.375 + 0.1875 + EPS/2) = 10.5 / 16 + EPS / 32 = 0.65625 + EPS / 32
    assert deletion_auc(model, flat_image, stack(worst), target, steps=16).tolist() == pytest.approx([0.65625 + EPS / 32], abs=1e-7)


def test_deletion_with_uneven_steps_rounds_the_pixel_counts(model, flat_image):
    # steps 3 -> round(16 * k / 3) = 0, 5, 11, 16 pixels; the graded map deletes the region within the first 5
    curve = perturbation_curves(
        model, flat_image, stack(region_map((1.0, 0.9, 0.8, 0.7))), torch.zeros(1, dtype=torch.long), "deletion", steps=3
    )
    assert curve[0].tolist() == pytest.approx([0.75, EPS, EPS, EPS], abs=1e-7)
    # steps 8 on the region-last map: 0, 2, 4, ..., 16 pixels; region pixels are ranks 12..15
    curve = perturbation_curves(
        model, flat_image, stack(region_map((0.4, 0.3, 0.2, 0.1), rest=1.0)), torch.zeros(1, dtype=torch.long), "deletion", steps=8
    )
    assert curve[0].tolist() == pytest.approx([0.75] * 7 + [0.375, EPS], abs=1e-7)


def test_insertion_on_a_constant_image_is_flat(model, flat_image):
    # blurring a constant image (reflect padding) leaves it unchanged: every point is Y, AUC = Y
    target = torch.zeros(1, dtype=torch.long)
    curve = perturbation_curves(model, flat_image, stack(PERFECT), target, "insertion", steps=4)
    assert curve[0].tolist() == pytest.approx([0.75] * 5, abs=1e-6)
    assert insertion_auc(model, flat_image, stack(PERFECT), target, steps=4).tolist() == pytest.approx([0.75], abs=1e-6)


def test_insertion_restores_the_region_first_for_a_good_map(model):
    image = torch.zeros(1, 1, 4, 4)
    image[..., :2, :2] = 0.75  # the region on black: blurring spreads it out, so the blurred quadrant mean < 0.75
    target = torch.zeros(1, dtype=torch.long)
    good = perturbation_curves(model, image, stack(PERFECT), target, "insertion", steps=4)[0]
    blurred = good[0].item()
    assert EPS < blurred < 0.75 - 0.05
    # the region comes back at the first step; the rest of the image does not matter to the model
    assert good[1:].tolist() == pytest.approx([0.75] * 4, abs=1e-7)
    bad = perturbation_curves(model, image, stack(INVERTED), target, "insertion", steps=4)[0]
    assert bad[:4].tolist() == pytest.approx([blurred] * 4, abs=1e-7) and bad[4].item() == pytest.approx(0.75, abs=1e-7)
    aucs = insertion_auc(model, image.expand(2, -1, -1, -1), stack(PERFECT, INVERTED), target.expand(2), steps=4)
    # 0.25 * (b/2 + 3 * 0.75 + 0.75/2) and 0.25 * (b/2 + 3b + 0.75/2)
    assert aucs.tolist() == pytest.approx([0.25 * (blurred / 2 + 2.625), 0.25 * (3.5 * blurred + 0.375)], abs=1e-7)
    assert aucs[0] > aucs[1]


def test_perturbation_curves_are_the_same_in_any_chunking(model, images):
    torch.manual_seed(0)
    maps = torch.rand(3, 1, 4, 4)
    targets = torch.tensor([0, 1, 0])
    for mode in ("deletion", "insertion"):
        whole = perturbation_curves(model, images, maps, targets, mode, steps=4)
        chunked = perturbation_curves(model, images, maps, targets, mode, steps=4, batch_size=3)  # one image per chunk
        assert torch.equal(whole, chunked)
        # the curve ends on the fully perturbed image: all black (deletion) or the image itself (insertion)
        final = target_probabilities(model, torch.zeros_like(images) if mode == "deletion" else images, targets)
        torch.testing.assert_close(whole[:, -1], final)


def test_perturbation_curves_validate_mode_and_steps(model, flat_image):
    target = torch.zeros(1, dtype=torch.long)
    with pytest.raises(ValueError, match="mode must be 'deletion' or 'insertion'"):
        perturbation_curves(model, flat_image, stack(PERFECT), target, "blur")
    with pytest.raises(ValueError, match="steps must be >= 1"):
        perturbation_curves(model, flat_image, stack(PERFECT), target, "deletion", steps=0)


def test_maps_of_another_size_are_resized_to_the_images(model, flat_image):
    small = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])  # 2x2, relevant top-left
    # bilinear x2, align_corners=False: per axis [1, 0] -> [1, 0.75, 0.25, 0]; the 2D map is the outer product
    axis = torch.tensor([1.0, 0.75, 0.25, 0.0])
    resized = maps_like(flat_image, small)
    assert resized.shape == (1, 1, 4, 4)
    torch.testing.assert_close(resized[0, 0], axis[:, None] * axis[None, :])
    # the 4 largest values are the region: deletion equals the region-first curve
    target = torch.zeros(1, dtype=torch.long)
    torch.testing.assert_close(
        perturbation_curves(model, flat_image, small, target, "deletion", steps=4),
        perturbation_curves(model, flat_image, stack(PERFECT), target, "deletion", steps=4),
    )
    # the energy map is image * resized map: the region keeps 0.75 * (1 + 0.75 + 0.75 + 0.5625) / 4
    assert energy_confidences(model, flat_image, small, target).tolist() == pytest.approx([0.75 * 3.0625 / 4], abs=1e-7)
    # a map of the right size is returned as is
    assert torch.equal(maps_like(flat_image, stack(HALF)), stack(HALF))


def test_maps_must_be_one_channel_and_one_per_image(flat_image):
    with pytest.raises(ValueError, match="maps must be"):
        maps_like(flat_image, torch.zeros(1, 4, 4))  # no channel dim
    with pytest.raises(ValueError, match="maps must be"):
        maps_like(flat_image, torch.zeros(2, 1, 4, 4))  # two maps for one image
    with pytest.raises(ValueError, match="maps must be"):
        maps_like(flat_image, torch.zeros(1, 3, 4, 4))  # three channels
