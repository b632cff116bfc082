"""Per-image badges: exact values on a hand-made linear classifier, and agreement with the suite's rows."""

import math

import pytest
import torch
from torch import nn

from xai_core import explain, load_dataset, load_model
from xai_core.metrics.badges import image_badges, mask_like, sanity_badge
from xai_core.metrics.suite import run_evaluation
from xai_core.models import ModelCard


class PixelSum(nn.Module):
    """logits = [sum of the pixels, 0]: class 0's probability is sigmoid(sum)."""

    def forward(self, x):
        total = x.flatten(start_dim=1).sum(dim=1)
        return torch.stack([total, torch.zeros_like(total)], dim=1)


def _card(side: int = 4) -> ModelCard:
    return ModelCard("pixel-sum", "sum", PixelSum(), ["bright", "dark"], 1, (side, side), (0.0,), (1.0,))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# a 4x4 image of quarters (exact in float32) and a map that ranks pixels by brightness
IMAGE = torch.tensor([[1.0, 0.75, 0.25, 0.25], [1.0, 0.75, 0.25, 0.25], [0.0, 0.0, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0]])[None]
MAP = IMAGE.clone()[None]  # [1,1,4,4], maximum 1 at (0,0) and (1,0); binarised (> 127/255): the 1s and 0.75s


def test_drop_and_deletion_auc_match_hand_computation():
    badges = image_badges(_card(), IMAGE, {"bright": MAP}, target=0)
    total = float(IMAGE.sum())  # 5.0
    energy = float((IMAGE * MAP).sum())
    expected_drop = (_sigmoid(total) - _sigmoid(energy)) / _sigmoid(total) * 100
    # deletion blacks out the k most relevant pixels (brightest first, ties by position) at step k of 16
    ordered = sorted(IMAGE.flatten().tolist(), reverse=True)
    curve = [_sigmoid(total - sum(ordered[:k])) for k in range(17)]
    expected_auc = sum((a + b) / 2 for a, b in zip(curve, curve[1:])) / 16
    assert badges["bright"]["average_drop"] == pytest.approx(expected_drop, rel=1e-6)
    assert badges["bright"]["deletion_auc"] == pytest.approx(expected_auc, rel=1e-6)
    assert set(badges["bright"]) == {"average_drop", "deletion_auc"}  # no mask, no reference


def test_under_center_crop_the_mask_is_cut_to_the_models_field_of_view():
    """A 4x8 image seen through a 4x4 centre crop: the mask's outer columns (outside the crop) do not count."""
    card = ModelCard("pixel-sum", "sum", PixelSum(), ["bright", "dark"], 1, (4, 4), (0.0,), (1.0,), resize_policy="center_crop")
    wide = torch.cat([torch.zeros(1, 4, 2), IMAGE, torch.zeros(1, 4, 2)], dim=2)  # [1,4,8], IMAGE in the centre
    centre = (MAP[0] * 255).round() > 127
    mask = torch.cat([torch.ones(1, 4, 2), centre.float(), torch.ones(1, 4, 2)], dim=2)  # margins marked foreground
    badges = image_badges(card, wide, {"bright": MAP}, target=0, mask=mask)
    assert badges["bright"]["mask_dice"] == 1.0


def test_a_map_of_ones_keeps_the_image_and_drops_nothing():
    badges = image_badges(_card(), IMAGE, {"all": torch.ones(1, 1, 4, 4)}, target=0)
    assert badges["all"]["average_drop"] == 0.0


def test_mask_equal_to_the_binarised_map_gives_dice_one_and_a_pointing_hit():
    mask = (MAP[0] * 255).round() > 127  # [1,4,4]: the pixels above 0.5
    badges = image_badges(_card(), IMAGE, {"bright": MAP}, target=0, mask=mask.float())
    assert badges["bright"]["mask_dice"] == 1.0
    assert badges["bright"]["pointing_game"] == 1.0
    assert int(mask.sum()) == 4
    assert badges["bright"]["energy_pointing_game"] == pytest.approx((1 + 0.75) * 2 / 5.0, rel=1e-12)


def test_pointing_misses_when_the_peak_is_off_the_mask_and_dice_counts_overlap():
    mask = torch.zeros(1, 4, 4)
    mask[0, 2:, 2:] = 1  # bottom-right quarter; the map peaks top-left
    badges = image_badges(_card(), IMAGE, {"bright": MAP}, target=0, mask=mask)["bright"]
    assert badges["pointing_game"] == 0.0
    # binarised map: 4 pixels (values 1 and .75); mask: 4 pixels; no overlap
    assert badges["mask_dice"] == 0.0
    assert badges["energy_pointing_game"] == pytest.approx(0.5 / 5.0, rel=1e-12)


def test_dice_against_the_reference_map_for_the_other_methods():
    half = torch.zeros(1, 1, 4, 4)
    half[..., :2, :] = 1  # top half: 8 pixels, overlapping the map's 4 binarised pixels fully
    badges = image_badges(_card(), IMAGE, {"grad_cam": half, "bright": MAP}, target=0)
    assert "dice" not in badges["grad_cam"]
    assert badges["bright"]["dice"] == pytest.approx(2 * 4 / (4 + 8))


def test_image_and_mask_are_resized_to_the_model_and_map():
    card = _card(4)
    big_image = IMAGE.repeat_interleave(2, dim=1).repeat_interleave(2, dim=2)  # [1,8,8]
    big_mask = torch.zeros(1, 8, 8)
    big_mask[0, :4, :2] = 1  # -> the first column of the top half at 4x4
    expected_mask = mask_like(big_mask, (4, 4))
    assert expected_mask[0, 0, :2, 0].all() and int(expected_mask.sum()) == 2
    small = image_badges(card, card.resize(big_image)[0], {"bright": MAP}, 0, expected_mask[0].float())
    big = image_badges(card, big_image, {"bright": MAP}, 0, big_mask)
    assert big == small
    assert big["bright"]["pointing_game"] == 1.0


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="one map"):
        image_badges(_card(), IMAGE, {"bright": MAP.repeat(2, 1, 1, 1)}, target=0)
    assert image_badges(_card(), IMAGE, {}, target=0) == {}


def test_badges_equal_the_suites_per_image_values():
    metrics = ["average_drop", "deletion_auc", "pointing_game", "energy_pointing_game"]
    result = run_evaluation(["vgg-mnist"], ["grad_cam", "lsft"], metrics, n=2, seeds=[0])
    card, dataset = load_model("vgg-mnist"), load_dataset("mnist", "test")
    for index in {row["image"] for row in result.rows}:
        image, label, mask = dataset[index]
        badges = image_badges(card, image, explain(card, image, ["grad_cam", "lsft"], label), label, mask)
        for row in (r for r in result.rows if r["image"] == index):
            assert badges[row["method"]][row["metric"]] == pytest.approx(row["value"], rel=1e-5, abs=1e-6), row


def test_sanity_badge_texts():
    verdicts = {
        ("vgg-mnist", "grad_cam"): {"passed": True, "final_correlation": 0.1234},
        ("vgg-mnist", "saliency"): {"passed": False, "final_correlation": 0.91},
    }
    assert sanity_badge({}, "vgg-mnist", "grad_cam") == ("none_recorded", "sanity check not run yet")
    assert sanity_badge(verdicts, "vgg-mnist", "grad_cam") == ("passed", "sanity: passed (rank corr 0.12 after full randomisation)")
    status, text = sanity_badge(verdicts, "vgg-mnist", "saliency")
    assert status == "failed" and text.startswith("sanity: FAILED — map barely changes when the model is randomised")
    assert sanity_badge(verdicts, "resnet-mnist", "grad_cam") == ("not_run", "sanity: not run for this model")
