"""Binarisation at 127 on a 0-255 scale and the Dice coefficient (DESIGN.md, Methods pinned)."""

import pytest
import torch

from xai_core.metrics.agreement import BINARY_THRESHOLD, binarise, dice


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
