"""Hooks never outlive a call, after success or failure; repeated calls do not grow memory."""

import pytest
import torch
from torch import nn

from xai_core.attribution import layer_gradcams, record_activations
from xai_core.explainers import EXPLAINERS
from xai_core.models import build_model


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


class Exploding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        self.conv(x)
        raise RuntimeError("boom")


@pytest.mark.parametrize("method", list(EXPLAINERS))
def test_no_hook_left_after_each_method(method):
    model = build_model("vgg", 1, 10).eval()
    EXPLAINERS[method](model).attribute(torch.rand(2, 1, 32, 32), target=[1, 2])
    assert _hook_count(model) == 0


def test_no_hook_left_after_an_exception():
    model = Exploding()
    with pytest.raises(RuntimeError, match="boom"):
        layer_gradcams(model, torch.rand(1, 1, 8, 8))
    assert _hook_count(model) == 0
    for method in ("grad_cam", "score_cam"):  # the CAM family shares layer_gradcams' hooked pass
        with pytest.raises(RuntimeError, match="boom"):
            EXPLAINERS[method](model, "conv").attribute(torch.rand(1, 1, 8, 8), target=0)
        assert _hook_count(model) == 0
    with pytest.raises(RuntimeError, match="boom"), record_activations([model.conv]):
        model(torch.rand(1, 1, 8, 8))
    assert _hook_count(model) == 0


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 2**20


def test_memory_is_flat_over_200_calls():
    model = build_model("vgg", 1, 10).eval()
    x = torch.rand(2, 1, 32, 32)
    for _ in range(20):
        layer_gradcams(model, x)
    before = _rss_mb()
    for _ in range(200):
        layer_gradcams(model, x)
    assert _rss_mb() - before < 30
    assert _hook_count(model) == 0


def test_inplace_activations_do_not_change_the_maps_and_are_restored():
    torch.manual_seed(0)
    inplace = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(inplace=True),
        nn.Conv2d(4, 4, 3),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).eval()
    plain = nn.Sequential(*[nn.ReLU() if isinstance(m, nn.ReLU) else m for m in inplace]).eval()
    x = torch.randn(2, 1, 9, 9)
    torch.testing.assert_close(layer_gradcams(inplace, x, 1).maps, layer_gradcams(plain, x, 1).maps)
    for method in ("grad_cam", "guided_backprop"):
        torch.testing.assert_close(EXPLAINERS[method](inplace).attribute(x, 1), EXPLAINERS[method](plain).attribute(x, 1))
    assert inplace[1].inplace and inplace[3].inplace


def test_guided_backprop_refuses_models_without_relu():
    from xai_core.attribution import NotApplicable

    model = build_model("mobilenet", 1, 10).eval()  # ReLU6 only
    with pytest.raises(NotApplicable, match="nn.ReLU"):
        EXPLAINERS["guided_backprop"](model).attribute(torch.rand(1, 1, 32, 32))
