"""The cascading model-randomisation sanity check (Adebayo et al. 2018) on small seeded CNNs."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xai_core.attribution.cam import GradCAM
from xai_core.attribution.gradient import VanillaSaliency
from xai_core.metrics.sanity import SANITY_THRESHOLD, SanityResult, cascading_randomisation, layers_in_execution_order


def small_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(8 * 8 * 8, 3),
    ).eval()


class OutOfOrder(nn.Module):
    """Modules registered in another order than they run; ``conv_b`` runs twice, ``unused`` never."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4 * 4 * 4, 3)
        self.unused = nn.Conv2d(4, 4, 1)
        self.conv_b = nn.Conv2d(4, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.conv_a = nn.Conv2d(1, 4, 3, padding=1)
        self.block = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 1), nn.Linear(4, 4))

    def forward(self, x):
        x = F.relu(self.norm(self.conv_a(x)))
        x = self.conv_b(F.relu(self.conv_b(x)))
        x = self.block[1](x)
        x = self.block[2](x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # a Linear over channels
        return self.head(x.flatten(1))


def images_and_targets(n: int = 4, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=generator), torch.tensor([0, 1, 2, 0, 1, 2][:n])


def image_itself(model: nn.Module):
    """An 'explainer' that ignores the model: the map is the image."""
    return lambda images, targets: images.clone()


def sobel_edges(model: nn.Module):
    """Another model-independent explainer: the Sobel edge magnitude of the image."""
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]]).view(1, 1, 3, 3)

    def maps(images, targets):
        gx = F.conv2d(images, kx, padding=1)
        gy = F.conv2d(images, kx.transpose(2, 3), padding=1)
        return (gx**2 + gy**2).sqrt()

    return maps


def saliency(model: nn.Module):
    return lambda images, targets: VanillaSaliency(model).attribute(images, targets)


def grad_cam(model: nn.Module):
    return lambda images, targets: GradCAM(model).attribute(images, targets)


def test_layers_in_execution_order_follow_the_forward_pass():
    model = OutOfOrder().eval()
    layers = layers_in_execution_order(model, torch.rand(1, 1, 4, 4))
    # call order, each layer once (conv_b runs twice), no BatchNorm/ReLU, no unused layer
    assert [name for name, _ in layers] == ["conv_a", "conv_b", "block.1", "block.2", "head"]
    assert [module for _, module in layers] == [model.conv_a, model.conv_b, model.block[1], model.block[2], model.head]
    # no hooks are left behind
    assert all(not module._forward_hooks for module in model.modules())
    sequential = small_cnn()
    assert [name for name, _ in layers_in_execution_order(sequential, torch.rand(1, 1, 8, 8))] == ["0", "2", "5"]


@pytest.mark.parametrize("build", [image_itself, sobel_edges], ids=["image", "sobel"])
def test_a_model_independent_explainer_fails_the_check(build):
    model = small_cnn()
    images, targets = images_and_targets()
    result = cascading_randomisation(model, build, images, targets, seed=0)
    assert isinstance(result, SanityResult)
    assert result.layers == ["5", "2", "0"]  # output side first
    assert result.correlations.shape == (4, 3)
    assert torch.allclose(result.correlations, torch.ones(4, 3, dtype=torch.float64))
    assert result.final_correlation == pytest.approx(1.0)
    assert result.threshold == SANITY_THRESHOLD == 0.5
    assert result.passed is False


def test_input_gradient_saliency_passes_the_check():
    model = small_cnn(seed=0)
    images, targets = images_and_targets(seed=0)
    result = cascading_randomisation(model, saliency, images, targets, seed=0)
    assert result.layers == ["5", "2", "0"]
    # with this seed the fully random model's saliency is nearly unrelated to the trained one (~0.12)
    assert result.final_correlation < 0.3
    assert result.passed is True
    # every map changed as soon as the last layer was re-initialised
    assert (result.correlations < 0.9).all()


def test_grad_cam_passes_the_check():
    model = small_cnn(seed=1)
    images, targets = images_and_targets(seed=1)
    result = cascading_randomisation(model, grad_cam, images, targets, seed=1)
    assert result.final_correlation < 0.3 and result.passed is True


def test_the_original_model_and_the_global_rng_are_left_untouched():
    model = small_cnn()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    images, targets = images_and_targets()
    torch.manual_seed(123)
    rng_before = torch.get_rng_state()
    first = cascading_randomisation(model, saliency, images, targets, seed=7)
    assert torch.equal(torch.get_rng_state(), rng_before)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[name], after[name]) for name in before)
    # the same seed repeats exactly; another seed re-initialises differently
    assert torch.equal(cascading_randomisation(model, saliency, images, targets, seed=7).correlations, first.correlations)
    assert not torch.equal(cascading_randomisation(model, saliency, images, targets, seed=8).correlations, first.correlations)


def test_model_inputs_turns_images_into_what_the_model_takes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3)).eval()
    to_rgb = lambda images: images.expand(-1, 3, -1, -1)  # noqa: E731
    images, targets = images_and_targets()
    with pytest.raises(RuntimeError):  # the 1-channel images do not fit the model by themselves
        cascading_randomisation(model, lambda m: lambda x, t: x, images, targets)
    result = cascading_randomisation(model, lambda m: lambda x, t: x, images, targets, model_inputs=to_rgb)
    assert result.layers == ["3", "0"]


def five_layer_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 16),
        nn.ReLU(),
        nn.Linear(16, 3),
    ).eval()


def test_max_steps_picks_evenly_spaced_steps_ending_at_the_fully_random_model():
    model = five_layer_cnn()
    images, targets = images_and_targets()
    full = cascading_randomisation(model, saliency, images, targets, seed=0)
    cascade = ["9", "7", "4", "2", "0"]  # output side first
    assert full.layers == cascade and full.correlations.shape == (4, 5)
    # the re-initialisation does not depend on which steps are compared, so the columns are a subset
    for max_steps, steps in [(3, [0, 2, 4]), (2, [0, 4]), (5, [0, 1, 2, 3, 4]), (9, [0, 1, 2, 3, 4])]:
        result = cascading_randomisation(model, saliency, images, targets, seed=0, max_steps=max_steps)
        assert result.layers == [cascade[i] for i in steps]
        assert torch.equal(result.correlations, full.correlations[:, steps])
        assert result.final_correlation == full.final_correlation


def test_one_step_is_the_fully_random_model():
    model = five_layer_cnn()
    images, targets = images_and_targets()
    full = cascading_randomisation(model, saliency, images, targets, seed=0)
    single = cascading_randomisation(model, saliency, images, targets, seed=0, max_steps=1)
    assert single.layers == ["0"]
    assert torch.equal(single.correlations, full.correlations[:, -1:])
    with pytest.raises(ValueError, match="max_steps"):
        cascading_randomisation(model, saliency, images, targets, max_steps=0)


def test_a_model_without_conv_or_linear_layers_is_refused():
    images, targets = images_and_targets()
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        cascading_randomisation(nn.Identity(), image_itself, images, targets)


def test_sanity_result_verdict_from_the_last_step():
    correlations = torch.tensor([[0.9, 0.2], [0.7, 0.6]], dtype=torch.float64)
    result = SanityResult(["head", "conv"], correlations)
    assert result.final_correlation == pytest.approx(0.4)  # mean of the last column
    assert result.passed is True
    assert SanityResult(["head", "conv"], correlations, threshold=0.3).passed is False
    assert SanityResult(["head"], torch.tensor([[0.5]])).passed is False  # not below the threshold
