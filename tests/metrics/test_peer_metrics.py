"""Our energy-map faithfulness agrees with pytorch-grad-cam's confidence-change metrics on a random model."""

import numpy as np
import pytest
import torch
from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence, IncreaseInConfidence
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget
from torch import nn

from xai_core.metrics import drop_percentages, energy_confidences, target_probabilities


@pytest.fixture
def random_case():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5)).eval()
    images = torch.rand(12, 3, 16, 16)
    maps = torch.rand(12, 1, 16, 16)
    targets = torch.randint(0, 5, (12,))
    return model, images, maps, targets


def test_drop_matches_pytorch_grad_cam_relative_to_the_original_confidence(random_case):
    model, images, maps, targets = random_case
    original = target_probabilities(model, images, targets)
    ours = drop_percentages(original, energy_confidences(model, images, maps, targets)).numpy()
    peer = DropInConfidence()(images, maps[:, 0].numpy(), [ClassifierOutputSoftmaxTarget(int(t)) for t in targets], model)
    np.testing.assert_allclose(ours, peer / original.numpy() * 100, rtol=1e-4, atol=1e-4)
    assert (ours > 0).any()


def test_increase_matches_pytorch_grad_cam(random_case):
    model, images, maps, targets = random_case
    maps = maps.clamp(min=0.6)  # some energy maps gain confidence
    original = target_probabilities(model, images, targets)
    ours = (energy_confidences(model, images, maps, targets) > original).numpy()
    peer = IncreaseInConfidence()(images, maps[:, 0].numpy(), [ClassifierOutputSoftmaxTarget(int(t)) for t in targets], model)
    np.testing.assert_array_equal(ours, peer.astype(bool))
