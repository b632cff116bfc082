"""Binarisation at 127 on a 0-255 scale, the Dice coefficient and the Spearman rank correlation (DESIGN.md, Methods pinned)."""

import pytest
import torch
from scipy.stats import rankdata, spearmanr

from xai_core.attribution.agreement import BINARY_THRESHOLD, average_ranks, binarise, dice, extra_region_shares, rank_correlation, top_share


def test_binarise_at_127_of_255():
    assert BINARY_THRESHOLD == 127
    maps = torch.tensor([0.0, 126 / 255, 127 / 255, 127.4 / 255, 127.6 / 255, 128 / 255, 1.0])
    assert binarise(maps).tolist() == [False, False, False, False, True, True, True]
    assert binarise(maps).dtype == torch.bool and binarise(maps).shape == maps.shape
    assert binarise(torch.tensor([0.3, 0.6]), threshold=200).tolist() == [False, False]
    assert binarise(torch.tensor([0.8, 0.79]), threshold=200).tolist() == [True, True]  # 204 and 201.45 -> 201


def mask(shape, pixels) -> torch.Tensor:
    maps = torch.zeros(shape)
    for row, column in pixels:
        maps[row, column] = 1.0
    return maps


def test_dice_exact_values():
    a = mask((4, 4), [(0, 0), (0, 1), (1, 0), (1, 1)])  # 4 pixels
    b = mask((4, 4), [(0, 0), (0, 1)])  # 2 pixels, both inside a
    c = mask((4, 4), [(0, 0), (3, 3), (3, 2)])  # 3 pixels, 1 inside a
    empty = torch.zeros(4, 4)
    maps = torch.stack([a, a, a, empty, empty, a, b])[:, None]
    references = torch.stack([a, b, c, empty, a, empty, c])[:, None]
    result = dice(maps, references)
    assert result.shape == (7,)
    assert result.tolist() == pytest.approx([1.0, 2 * 2 / 6, 2 * 1 / 7, 1.0, 0.0, 0.0, 2 * 1 / 5])
    assert result[3] == 1.0 and result[4] == 0.0


def test_dice_binarises_soft_maps_and_is_symmetric():
    soft = torch.tensor([[[[0.9, 0.51, 0.49, 0.0]]]])  # -> 1 1 0 0 (0.51*255 = 130, 0.49*255 = 125)
    reference = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    assert dice(soft, reference).tolist() == pytest.approx([2 * 1 / 4])
    assert torch.equal(dice(soft, reference), dice(reference, soft))
    torch.manual_seed(0)
    x, y = torch.rand(5, 1, 8, 8), torch.rand(5, 1, 8, 8)
    assert torch.equal(dice(x, x), torch.ones(5, dtype=dice(x, x).dtype))
    values = dice(x, y)
    assert values.shape == (5,) and ((values > 0) & (values < 1)).all()
    a, b = binarise(x).flatten(1), binarise(y).flatten(1)
    expected = 2 * (a & b).sum(1).double() / (a.sum(1) + b.sum(1)).double()
    torch.testing.assert_close(values, expected)


# --- threshold edges, empty maps, bool maps -----------------------------------------------------


def test_dice_threshold_edge_127_is_off_128_is_on():
    at_127 = torch.full((1, 1, 2, 2), 127 / 255)
    at_128 = torch.full((1, 1, 2, 2), 128 / 255)
    ones = torch.ones(1, 1, 2, 2)
    assert dice(at_127, ones).tolist() == [0.0]  # 127 is not above 127: empty vs full
    assert dice(at_128, ones).tolist() == [1.0]
    assert dice(at_127, torch.zeros(1, 1, 2, 2)).tolist() == [1.0]  # both empty
    # a custom threshold moves the edge: 128/255 is off at 128
    assert dice(at_128, ones, threshold=128).tolist() == [0.0]
    # half the pixels at 128/255, half at 127/255 -> |A| = 2 of 4, all inside B -> 2 * 2 / (2 + 4)
    mixed = torch.tensor([[[[127 / 255, 128 / 255], [128 / 255, 127 / 255]]]])
    assert dice(mixed, ones).tolist() == pytest.approx([2 / 3])


def test_dice_of_two_empty_maps_is_one_and_accepts_bool_maps():
    empty = torch.zeros(3, 1, 5, 5)
    assert dice(empty, empty).tolist() == [1.0, 1.0, 1.0]
    assert dice(empty, empty).dtype == torch.float64
    a = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    a[..., 0, :] = True  # 3 pixels
    b = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    b[..., :, 0] = True  # 3 pixels, overlap (0, 0)
    assert dice(a, b).tolist() == pytest.approx([2 * 1 / 6])
    assert dice(a, b.float()).tolist() == pytest.approx([2 * 1 / 6])  # bool and float maps mix
    assert dice(a, ~a).tolist() == [0.0]


# --- average ranks and rank correlation ---------------------------------------------------------


def test_average_ranks_by_hand():
    values = torch.tensor([[3.0, 1.0, 3.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    # row 0: 1 -> 1, 2 -> 2, the three 3s share ranks 3, 4, 5 -> 4; row 1: all tie -> 3
    assert average_ranks(values).tolist() == [[4.0, 1.0, 4.0, 2.0, 4.0], [3.0] * 5]
    assert average_ranks(values).dtype == torch.float64


def test_average_ranks_match_scipy_rankdata_with_ties():
    generator = torch.Generator().manual_seed(11)
    values = torch.randint(0, 7, (20, 50), generator=generator).float()  # many ties
    expected = rankdata(values.numpy(), method="average", axis=1)
    assert average_ranks(values).numpy() == pytest.approx(expected)
    continuous = torch.rand(5, 64, generator=generator)
    assert average_ranks(continuous).numpy() == pytest.approx(rankdata(continuous.numpy(), axis=1))


def test_rank_correlation_matches_scipy_spearmanr_with_ties():
    generator = torch.Generator().manual_seed(12)
    a = torch.randint(0, 5, (8, 1, 6, 6), generator=generator).float() / 4  # maps in [0, 1] with ties
    b = (a + 0.3 * torch.rand(8, 1, 6, 6, generator=generator)).clamp(0, 1).mul(8).round() / 8
    result = rank_correlation(a, b)
    assert result.shape == (8,) and result.dtype == torch.float64
    expected = [spearmanr(x.flatten().numpy(), y.flatten().numpy()).statistic for x, y in zip(a, b)]
    assert result.tolist() == pytest.approx(expected, abs=1e-12)
    assert all(0.2 < value < 1 for value in expected)  # a meaningful, non-trivial check
    c = torch.rand(8, 1, 6, 6, generator=generator)
    expected = [spearmanr(x.flatten().numpy(), y.flatten().numpy()).statistic for x, y in zip(a, c)]
    assert rank_correlation(a, c).tolist() == pytest.approx(expected, abs=1e-12)


def test_rank_correlation_identical_reversed_and_constant_maps():
    torch.manual_seed(0)
    maps = torch.rand(4, 1, 5, 5)
    assert rank_correlation(maps, maps).tolist() == pytest.approx([1.0] * 4)
    # any strictly increasing transform keeps the ranking
    assert rank_correlation(maps, maps.pow(3) * 0.5).tolist() == pytest.approx([1.0] * 4)
    assert rank_correlation(maps, 1 - maps).tolist() == pytest.approx([-1.0] * 4)
    constant, other_constant = torch.full((1, 1, 5, 5), 0.3), torch.zeros(1, 1, 5, 5)
    assert rank_correlation(constant, other_constant).tolist() == [1.0]
    assert rank_correlation(constant, maps[:1]).tolist() == [0.0]
    assert rank_correlation(maps[:1], constant).tolist() == [0.0]
    # per map in a batch: identical, reversed, constant-vs-constant, constant-vs-varying
    batch_a = torch.stack([maps[0], maps[1], constant[0], constant[0]])
    batch_b = torch.stack([maps[0], 1 - maps[1], other_constant[0], maps[3]])
    assert rank_correlation(batch_a, batch_b).tolist() == pytest.approx([1.0, -1.0, 1.0, 0.0])


def test_extra_region_shares_on_a_hand_made_case():
    # 1x1x2x4 maps (8 pixels). Reference on at pixels 0-1; the map on at 0-3, so its extra region is pixels 2-3.
    reference = torch.tensor([[[[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]])
    maps = torch.tensor([[[[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])
    # the witness's top 25 % (2 pixels): pixels 2 and 5 -> one of the 2 extra pixels, 2 of the 6 outside the reference
    witness = torch.tensor([[[[0.1, 0.2, 0.9, 0.3], [0.0, 0.8, 0.0, 0.0]]]])
    extra, marked, baseline = extra_region_shares(maps, reference, witness, share=0.25)
    assert extra.tolist() == [2 / 8] and marked.tolist() == [1 / 2] and baseline.tolist() == pytest.approx([2 / 6])
    none_extra = extra_region_shares(reference, reference, witness, share=0.25)
    assert none_extra[0].tolist() == [0.0] and torch.isnan(none_extra[1]).all() and torch.isnan(none_extra[2]).all()


def test_top_share_marks_exactly_the_share_with_ties_by_position():
    maps = torch.tensor([[0.5, 0.5, 0.5, 0.1]])
    assert top_share(maps, 0.5).tolist() == [[True, True, False, False]]
