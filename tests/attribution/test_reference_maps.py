"""Exact maps from tiny hand-weighted CNNs, worked out by hand in the comments."""

import pytest
import torch
from torch import nn

from xai_core.attribution import (
    GradCAM,
    VanillaSaliency,
    cumulative_gradcam_averages,
    layer_gradcams,
    layer_positions,
)
from xai_core.attribution.base import normalise_maps


def one_conv_net() -> nn.Module:
    """conv 1x1 (1->2, weights 1 and 2) -> global average pool -> linear [[1, 0], [0, -1]].

    logit0 = mean(x), logit1 = -2 mean(x).
    """
    conv = nn.Conv2d(1, 2, 1, bias=False)
    conv.weight.data = torch.tensor([1.0, 2.0]).view(2, 1, 1, 1)
    linear = nn.Linear(2, 2, bias=False)
    linear.weight.data = torch.tensor([[1.0, 0.0], [0.0, -1.0]])
    return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear).eval()


X = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)


def test_gradcam_by_hand():
    # class 0: dS/dA0 = 1/4 everywhere, dS/dA1 = 0 -> cam = relu(x / 4) = [.25 .5 .75 1] -> min-max
    cam = GradCAM(one_conv_net()).attribute(X, target=0)
    torch.testing.assert_close(cam, torch.tensor([[0.0, 1 / 3], [2 / 3, 1.0]]).view(1, 1, 2, 2))
    # class 1: w = [0, -1/2] -> cam = relu(-x) = 0: an all-zero map stays zero
    assert torch.equal(GradCAM(one_conv_net()).attribute(X, target=1), torch.zeros(1, 1, 2, 2))


def test_saliency_by_hand():
    # logit = sum(w * x) with w = [[1, -2], [3, 0]] -> |dS/dx| = [1 2 3 0] -> [1/3 2/3 1 0]
    conv = nn.Conv2d(1, 1, 2, bias=False)
    conv.weight.data = torch.tensor([[1.0, -2.0], [3.0, 0.0]]).view(1, 1, 2, 2)
    model = nn.Sequential(conv, nn.Flatten()).eval()
    saliency = VanillaSaliency(model).attribute(torch.rand(1, 1, 2, 2), target=0)
    torch.testing.assert_close(saliency, torch.tensor([[1 / 3, 2 / 3], [1.0, 0.0]]).view(1, 1, 2, 2))


def two_conv_net() -> nn.Module:
    """conv1 1x1 (1->2, weights 1, -1) -> ReLU -> conv2 1x1 (2->1, weights 2, 1) -> GAP -> logit.

    A2 = 2 relu(x) + relu(-x); logit = mean(A2).
    """
    conv1 = nn.Conv2d(1, 2, 1, bias=False)
    conv1.weight.data = torch.tensor([1.0, -1.0]).view(2, 1, 1, 1)
    conv2 = nn.Conv2d(2, 1, 1, bias=False)
    conv2.weight.data = torch.tensor([2.0, 1.0]).view(1, 2, 1, 1)
    return nn.Sequential(conv1, nn.ReLU(), conv2, nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def test_every_layer_in_one_pass_by_hand():
    x = torch.tensor([[-1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    result = layer_gradcams(two_conv_net(), x, target=0)
    assert result.names == ["0", "2"]
    # layer 0: w = [mean(0.5*[0 1 1 1]), mean(0.25*[1 0 0 0])] = [0.375, 0.0625]
    #          cam = relu(0.3125 x) = [0 .625 .9375 1.25] -> [0 .5 .75 1]
    # layer 2: cam = relu(A2 / 4), A2 = [1 4 6 8] -> [0 3/7 5/7 1]
    expected = torch.tensor([[[0.0, 0.5], [0.75, 1.0]], [[0.0, 3 / 7], [5 / 7, 1.0]]]).unsqueeze(0)
    torch.testing.assert_close(result.maps, expected)
    cgmas = cumulative_gradcam_averages(result, eta=8)  # N = 2 < eta: both layers
    torch.testing.assert_close(cgmas, torch.stack([expected[0, 0], expected[0].mean(0)]).unsqueeze(0))


@pytest.mark.parametrize(
    "n,eta,expected",
    [
        (13, 8, [0, 2, 4, 6, 7, 9, 11, 12]),
        (8, 8, list(range(8))),
        (5, 8, [0, 1, 2, 3, 4]),
        (20, 8, [0, 3, 6, 9, 11, 14, 17, 19]),
        (52, 8, [0, 8, 15, 22, 30, 37, 44, 51]),
        (1, 8, [0]),
        (9, 2, [0, 8]),
    ],
)
def test_layer_positions(n, eta, expected):
    assert layer_positions(n, eta) == expected


def test_layer_positions_rejects_nonsense():
    with pytest.raises(ValueError, match="eta"):
        layer_positions(5, 0)
    with pytest.raises(ValueError, match="at least one layer"):
        layer_positions(0, 8)


def test_cgma_is_the_running_mean_at_the_positions():
    maps = torch.arange(13, dtype=torch.float32).view(1, 13, 1, 1).expand(2, 13, 3, 3)
    cgmas = cumulative_gradcam_averages(maps, eta=8)
    # layer l holds the constant l: the mean of 0..p is p/2
    expected = torch.tensor([0, 2, 4, 6, 7, 9, 11, 12], dtype=torch.float32) / 2
    torch.testing.assert_close(cgmas[:, :, 0, 0], expected.expand(2, 8))
    assert cgmas.shape == (2, 8, 3, 3)


def test_normalise_maps():
    maps = torch.tensor([[[[2.0, 4.0], [6.0, 10.0]]], [[[3.0, 3.0], [3.0, 3.0]]]])
    torch.testing.assert_close(normalise_maps(maps), torch.tensor([[[[0.0, 0.25], [0.5, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]]))


def test_targets_out_of_range_are_refused():
    with pytest.raises(ValueError, match="target class must be in 0..1"):
        GradCAM(one_conv_net()).attribute(X, target=5)
    with pytest.raises(ValueError, match="2 targets for 1 inputs"):
        layer_gradcams(one_conv_net(), X, target=[0, 1])
