"""Latent sensitivity equals the column norms of a linear generator; jvp agrees with finite differences;
SeFa returns a known matrix's eigenvectors in descending order; GANSpace PCA recovers planted latent
directions; the stability of a linear generator's ranking is perfect."""

import pytest
import torch
from torch import nn

from xai_core.generative.latent import latent_deletion, latent_sensitivity, latent_stability, pca_directions, sefa_directions


def test_sensitivity_of_a_linear_generator_is_its_column_norms():
    torch.manual_seed(0)
    layer = nn.Linear(5, 12, bias=True)
    generator = lambda z: layer(z).view(-1, 3, 2, 2)  # noqa: E731
    result = latent_sensitivity(generator, torch.randn(7, 5))
    torch.testing.assert_close(result.sensitivity, layer.weight.detach().norm(dim=0))
    torch.testing.assert_close(result.pixel_maps, layer.weight.detach().abs().T.reshape(5, 3, 2, 2))
    assert result.ranking.tolist() == torch.argsort(layer.weight.detach().norm(dim=0), descending=True).tolist()


def test_jvp_matches_finite_differences_on_a_nonlinear_generator():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 9)).double()
    generator = lambda z: net(z).view(-1, 1, 3, 3)  # noqa: E731
    latents = torch.randn(6, 4, dtype=torch.float64)
    exact = latent_sensitivity(generator, latents, dimensions=[2, 0])
    step = 1e-6
    expected = []
    for i in (2, 0):
        shift = torch.zeros_like(latents)
        shift[:, i] = step
        derivative = (generator(latents + shift) - generator(latents - shift)) / (2 * step)
        expected.append(derivative.flatten(start_dim=1).norm(dim=1).mean())
    torch.testing.assert_close(exact.sensitivity, torch.stack(expected).detach(), rtol=1e-6, atol=1e-8)


def test_sefa_returns_the_eigenvectors_of_wtw_sorted_descending():
    # W = U diag(s) V^T with V the identity permuted: W^T W = V diag(s^2) V^T
    v = torch.eye(3)[[2, 0, 1]]  # columns are the eigenvectors
    weight = torch.diag(torch.tensor([1.0, 3.0, 2.0])) @ v.T
    eigenvalues, directions = sefa_directions(weight)
    torch.testing.assert_close(eigenvalues, torch.tensor([9.0, 4.0, 1.0], dtype=torch.float64))
    for k, column in enumerate((1, 2, 0)):
        assert torch.allclose(directions[k].abs(), v[:, column].double().abs())


def test_pca_directions_recover_the_latent_axes_of_a_scaled_feature_map():
    # features = z * (5, 3, 1): variances 25, 9, 1 -> components along e0, e1, e2 in that order
    latents = torch.randn(4000, 3, generator=torch.Generator().manual_seed(2))
    scale = torch.tensor([3.0, 5.0, 1.0])
    ratios, directions = pca_directions(lambda z: z * scale, latents)
    torch.testing.assert_close(ratios, torch.tensor([25.0, 9.0, 1.0], dtype=torch.float64) / 35, atol=0.01, rtol=0)
    for k, axis in enumerate((1, 0, 2)):
        assert directions[k].abs().argmax().item() == axis
        assert directions[k].abs()[axis].item() > 0.999
    torch.testing.assert_close(directions.norm(dim=1), torch.ones(3, dtype=torch.float64))


def test_a_linear_generator_has_a_perfectly_stable_ranking():
    torch.manual_seed(3)
    layer = nn.Linear(6, 10)
    stability = latent_stability(lambda z: layer(z).view(-1, 1, 2, 5), latent_dim=6, samples=8, k=3)
    assert stability.rank_correlation == 1.0
    assert stability.top_k_overlap == 1.0


def test_latent_deletion_measures_the_image_and_the_prediction_exactly():
    # G(z) = z as a 1x2x2 image; the classifier's logits are (x0 + x1, x2 + x3): class 0 "left column", class 1 "right"
    def generator(z):
        return z.view(-1, 1, 2, 2)

    def classify(images):
        flat = images.flatten(start_dim=1)
        return torch.stack([flat[:, 0] + flat[:, 1], flat[:, 2] + flat[:, 3]], dim=1)

    latents = torch.tensor([[2.0, 1.0, 0.5, 0.5], [0.0, 0.0, 1.0, -1.0]])
    result = latent_deletion(generator, classify, latents, torch.tensor([0, 1]))
    assert result.image_change.tolist() == pytest.approx([(2 + 1) / 4, 0.0])
    # sample 0: logits (3, 1) -> (0, 1): class 0's probability falls from sigmoid(2) to sigmoid(-1) and the class flips
    assert result.probability_drop.tolist() == pytest.approx(
        [torch.sigmoid(torch.tensor(2.0)).item() - torch.sigmoid(torch.tensor(-1.0)).item(), 0.0]
    )
    assert result.flipped.tolist() == [1.0, 0.0]
    assert latents[0, 0] == 2.0  # the caller's latents are left alone
