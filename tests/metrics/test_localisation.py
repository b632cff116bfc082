"""Localisation against ground-truth masks on hand-made 4x4 maps.

The mask's foreground is the 2x2 top-left block (4 pixels); the background is the other 12 pixels.
"""

import pytest
import torch

from xai_core.metrics import background_error, energy_pointing_game, localisation_rates, pointing_game


def grid(pixels, value: float = 1.0, rest: float = 0.0) -> torch.Tensor:
    """A [1, 4, 4] map with ``value`` at the (row, column) ``pixels`` and ``rest`` elsewhere."""
    m = torch.full((4, 4), rest)
    for row, column in pixels:
        m[row, column] = value
    return m[None]


FOREGROUND = [(0, 0), (0, 1), (1, 0), (1, 1)]
MASK = grid(FOREGROUND).bool()


def masks(n: int) -> torch.Tensor:
    return MASK.expand(n, 1, 4, 4).clone()


def test_localisation_rates_with_known_overlaps():
    partial = grid([(0, 0), (0, 1), (0, 2), (3, 3)])  # 2 of 4 foreground pixels, 2 of 12 background pixels
    maps = torch.stack([partial, torch.ones(1, 4, 4), torch.zeros(1, 4, 4), grid(FOREGROUND)])
    rates = localisation_rates(maps, masks(4))
    assert set(rates) == {"tp_rate", "tn_rate", "fp_rate", "fn_rate"}
    assert rates["tp_rate"].tolist() == pytest.approx([2 / 4, 1.0, 0.0, 1.0])
    assert rates["fn_rate"].tolist() == pytest.approx([2 / 4, 0.0, 1.0, 0.0])
    assert rates["fp_rate"].tolist() == pytest.approx([2 / 12, 1.0, 0.0, 0.0])
    assert rates["tn_rate"].tolist() == pytest.approx([10 / 12, 0.0, 1.0, 1.0])
    for value in rates.values():
        assert value.dtype == torch.float64 and value.shape == (4,)


def test_localisation_rates_binarise_soft_maps_at_127():
    # 0.5 -> 127.5 -> rounds to 128 > 127 (on); 0.498 -> 127 (off); 0.9 on; 0.1 off
    soft = grid([], rest=0.0)
    soft[0, 0, 0], soft[0, 0, 1], soft[0, 1, 0], soft[0, 1, 1] = 0.5, 0.498, 0.9, 0.1  # foreground
    soft[0, 3, 0], soft[0, 3, 1], soft[0, 3, 2] = 0.6, 0.45, 127 / 255  # background: only 0.6 is on
    rates = localisation_rates(soft[None], masks(1))
    assert rates["tp_rate"].tolist() == pytest.approx([2 / 4])
    assert rates["fp_rate"].tolist() == pytest.approx([1 / 12])
    # a higher threshold turns 0.5 and 0.6 off (153 <= 200) and keeps 0.9 (230)
    rates = localisation_rates(soft[None], masks(1), threshold=200)
    assert rates["tp_rate"].tolist() == pytest.approx([1 / 4])
    assert rates["fp_rate"].tolist() == [0.0]


def test_localisation_rates_accept_float_masks_and_handle_missing_classes():
    partial = grid([(0, 0), (3, 3)])
    float_rates = localisation_rates(partial[None], MASK.float()[None])
    bool_rates = localisation_rates(partial[None], MASK[None])
    for name in float_rates:
        assert torch.equal(float_rates[name], bool_rates[name])
    # no foreground: TP and FN are 0 (undefined), TN/FP from the 16 background pixels
    rates = localisation_rates(partial[None], torch.zeros(1, 1, 4, 4, dtype=torch.bool))
    assert [rates[k].item() for k in ("tp_rate", "fn_rate", "fp_rate", "tn_rate")] == pytest.approx([0, 0, 2 / 16, 14 / 16])
    # no background: TN and FP are 0
    rates = localisation_rates(partial[None], torch.ones(1, 1, 4, 4, dtype=torch.bool))
    assert [rates[k].item() for k in ("tp_rate", "fn_rate", "fp_rate", "tn_rate")] == pytest.approx([2 / 16, 14 / 16, 0, 0])


def test_pointing_game_hits_misses_and_all_zero_maps():
    hit = grid([(1, 1)], value=0.9, rest=0.2)
    miss = grid([(3, 3)], value=0.9, rest=0.2)
    zero = torch.zeros(1, 4, 4)
    tie = grid([(0, 3), (1, 1)])  # equal maxima: the first in row-major order, (0, 3), is background -> miss
    tie_hit = grid([(0, 1), (2, 3)])  # first maximum (0, 1) is foreground -> hit
    result = pointing_game(torch.stack([hit, miss, zero, tie, tie_hit]), masks(5))
    assert result.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert result.dtype == torch.float64


def test_energy_pointing_game_is_the_share_of_mass_on_the_foreground():
    fg_and_some_bg = grid(FOREGROUND)
    fg_and_some_bg[0, 3, :] = 0.5  # 4 background pixels at 0.5: mass 4 on fg, 2 on bg -> 4 / 6
    maps = torch.stack([fg_and_some_bg, torch.ones(1, 4, 4), torch.zeros(1, 4, 4), grid(FOREGROUND, 0.3), grid([(3, 3)])])
    # uniform map: 4 of 16; all-zero map: 0; inside the mask only: 1; outside only: 0
    assert energy_pointing_game(maps, masks(5)).tolist() == pytest.approx([4 / 6, 4 / 16, 0.0, 1.0, 0.0])


def test_background_error_exact_values():
    background_pixels = [(r, c) for r in range(4) for c in range(4) if (r, c) not in FOREGROUND]
    on_background = grid(background_pixels)  # 1 on every background pixel
    inside = grid(FOREGROUND)  # inside the mask only
    half = grid(background_pixels[:6])  # 1 on 6 of the 12 background pixels
    everywhere = torch.full((1, 4, 4), 0.3)  # mean map value on the background
    graded = grid(FOREGROUND)
    graded[0, 3, :] = torch.tensor([0.2, 0.4, 0.6, 0.8])  # background sum 2.0 over 12 pixels
    maps = torch.stack([on_background, inside, half, everywhere, graded])
    assert background_error(maps, masks(5)).tolist() == pytest.approx([1.0, 0.0, 0.5, 0.3, 2.0 / 12])
    # no background at all -> 0
    assert background_error(on_background[None], torch.ones(1, 1, 4, 4)).tolist() == [0.0]


@pytest.mark.parametrize("metric", [localisation_rates, pointing_game, energy_pointing_game, background_error])
def test_mask_metrics_refuse_missing_or_mismatched_masks(metric):
    maps = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="ground-truth masks"):
        metric(maps, None)
    with pytest.raises(ValueError, match="same count and size"):
        metric(maps, torch.ones(2, 1, 8, 8, dtype=torch.bool))  # other size
    with pytest.raises(ValueError, match="same count and size"):
        metric(maps, torch.ones(3, 1, 4, 4, dtype=torch.bool))  # other count


def test_energy_share_of_a_map_with_little_total_mass():
    maps = torch.tensor([[[[0.03, 0.0], [0.04, 0.0]]]])
    masks = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    assert energy_pointing_game(maps, masks).item() == pytest.approx(1.0)
