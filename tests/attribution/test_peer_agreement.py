"""Agreement with peer libraries on seeded random torchvision models, after min-max normalisation.

Tolerances: CAM maps agree with pytorch-grad-cam to 1e-4 absolute (float32 rounding; the
peer resizes with OpenCV after normalising, we normalise after resizing, which gives the same
values for bilinear upsampling of a ReLU'd map to within that). Saliency and IG agree with
captum's raw attributions to 1e-5 after the same channel reduction and normalisation.
"""

import numpy as np
import pytest
import torch
import torchvision
from captum.attr import IntegratedGradients, Saliency
from pytorch_grad_cam import GradCAM as PeerGradCAM
from pytorch_grad_cam import GradCAMPlusPlus as PeerGradCAMPlusPlus
from pytorch_grad_cam import LayerCAM as PeerLayerCAM
from pytorch_grad_cam import ScoreCAM as PeerScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from xai_core.attribution import (
    GradCAM,
    GradCAMPlusPlus,
    IntegratedGradientsExplainer,
    LayerCAM,
    ScoreCAM,
    VanillaSaliency,
    layer_gradcams,
)
from xai_core.attribution.base import normalise_maps
from xai_core.models.registry import disable_inplace_activations

TARGETS = [3, 5]


def _random_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    builder = {"resnet18": torchvision.models.resnet18, "mobilenet_v3_small": torchvision.models.mobilenet_v3_small}[name]
    return disable_inplace_activations(builder(num_classes=10)).eval()


def _peer_normalised(maps: np.ndarray) -> torch.Tensor:
    return normalise_maps(torch.from_numpy(maps).unsqueeze(1).double()).float()


@pytest.fixture(scope="module")
def resnet():
    return _random_model("resnet18")


@pytest.mark.parametrize(
    "ours,peer",
    [(GradCAM, PeerGradCAM), (GradCAMPlusPlus, PeerGradCAMPlusPlus), (LayerCAM, PeerLayerCAM), (ScoreCAM, PeerScoreCAM)],
    ids=["grad_cam", "grad_cam_pp", "layer_cam", "score_cam"],
)
def test_cam_family_matches_pytorch_grad_cam(resnet, ours, peer):
    torch.manual_seed(1)
    x = torch.randn(2, 3, 64, 64)
    layer = resnet.layer4[-1].conv2
    our_maps = ours(resnet, layer).attribute(x, TARGETS)
    with peer(model=resnet, target_layers=[layer]) as reference:
        reference.batch_size = 128
        peer_maps = reference(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in TARGETS])
    torch.testing.assert_close(our_maps, _peer_normalised(peer_maps), atol=1e-4, rtol=0)


def test_default_layer_is_the_last_conv_in_execution_order():
    model = _random_model("mobilenet_v3_small")
    x = torch.randn(1, 3, 64, 64)
    last = model.features[-1][0]
    torch.testing.assert_close(GradCAM(model).attribute(x, 1), GradCAM(model, last).attribute(x, 1))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_all_layers_equal_a_loop_of_single_layer_gradcams(name):
    model = _random_model(name)
    torch.manual_seed(2)
    x = torch.randn(2, 3, 64, 64)
    result = layer_gradcams(model, x, TARGETS)
    assert len(result) == {"resnet18": 20, "mobilenet_v3_small": 52}[name]
    for index, layer_name in enumerate(result.names):
        single = GradCAM(model, layer_name).attribute(x, TARGETS)
        torch.testing.assert_close(result.maps[:, index : index + 1], single, atol=1e-6, rtol=0, msg=layer_name)
    # the one-layer case of the same engine and maths: the last layer's map is bit-identical
    assert torch.equal(GradCAM(model, result.names[-1]).attribute(x, TARGETS), result.maps[:, -1:])


def test_saliency_and_integrated_gradients_match_captum(resnet):
    torch.manual_seed(3)
    x = torch.randn(2, 3, 32, 32)
    targets = torch.tensor(TARGETS)
    captum_saliency = Saliency(resnet).attribute(x.clone().requires_grad_(True), target=targets, abs=True)
    torch.testing.assert_close(
        VanillaSaliency(resnet).attribute(x, TARGETS), normalise_maps(captum_saliency.amax(dim=1, keepdim=True)), atol=1e-5, rtol=0
    )
    captum_ig = IntegratedGradients(resnet).attribute(x.clone().requires_grad_(True), baselines=0.0, target=targets, n_steps=16)
    ours = IntegratedGradientsExplainer(resnet, steps=16, batch_size=8).attribute(x, TARGETS)
    torch.testing.assert_close(ours, normalise_maps(captum_ig.sum(dim=1, keepdim=True).abs()), atol=1e-5, rtol=0)
