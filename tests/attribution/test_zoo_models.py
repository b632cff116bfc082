"""Every explainer on every zoo architecture, through the public API, including the ImageNet model."""

import pytest
import torch

from xai_core import EXPLAINERS, cumulative_gradcam_averages, explain, layer_gradcams, load_dataset, load_model
from xai_core.attribution import NotApplicable
from xai_core.models import EFFICIENTNET_LITE0_ID
from xai_core.sftgan.explainer import SFTGANExplainer


@pytest.mark.parametrize("model_id,n_layers", [("vgg-mnist", 7), ("resnet-mnist", 20), ("mobilenet-mnist", 34)])
def test_every_method_and_every_layer_on_small_models(model_id, n_layers):
    card = load_model(model_id)
    images = load_dataset("mnist", "test").float_images(torch.arange(3))
    for method in EXPLAINERS:
        try:
            maps = explain(card, images, [method])[method]
        except NotApplicable:
            assert method == "guided_backprop" and model_id.startswith("mobilenet")
            continue
        assert maps.shape == (3, 1, 32, 32) and maps.min() >= 0 and maps.max() <= 1, method
        peaks = maps.flatten(1).max(1).values
        if issubclass(EXPLAINERS[method], SFTGANExplainer):  # the generator's sigmoid output, not rescaled
            assert (peaks - maps.flatten(1).min(1).values > 0.3).all(), method
        else:
            assert (peaks == 1).all(), method  # a real map per image, not all zeros
    layers = layer_gradcams(card.model, card.preprocess(images))
    assert len(layers) == n_layers and layers.maps.shape == (3, n_layers, 32, 32)
    assert cumulative_gradcam_averages(layers).shape == (3, min(8, n_layers), 32, 32)


def test_efficientnet_lite0_grad_cam_and_all_layers_on_a_photo():
    card = load_model(EFFICIENTNET_LITE0_ID)
    photos = load_dataset("photos")
    image = photos[photos.classes.index("chelsea")][0]
    layers = layer_gradcams(card.model, card.preprocess(image))
    assert len(layers) == 49 and layers.maps.shape == (1, 49, 224, 224)
    grad_cam = explain(card, image, ["grad_cam"])["grad_cam"]
    torch.testing.assert_close(grad_cam, layers.maps[:, -1:], atol=1e-5, rtol=0)
    assert cumulative_gradcam_averages(layers).shape == (1, 8, 224, 224)
