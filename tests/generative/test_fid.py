"""FID in float64: 0 for identical sets, the closed form for Gaussians, agreement with scipy's sqrtm and
with torchmetrics' FrechetInceptionDistance under the same feature network."""

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

from xai_core import load_model
from xai_core.generative.fid import PenultimateFeatures, fid_score, fid_with_baseline, frechet_distance, gaussian_fit


def test_identical_feature_sets_have_zero_distance():
    features = torch.randn(300, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert frechet_distance(*gaussian_fit(features), *gaussian_fit(features.clone())) == pytest.approx(0.0, abs=1e-9)


def test_diagonal_gaussians_match_the_closed_form():
    # FID of N(mu_a, diag(a)) and N(mu_b, diag(b)) = ||mu_a - mu_b||^2 + sum (sqrt(a) - sqrt(b))^2
    mean_a, mean_b = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([3.0, 1.0, 0.0])
    var_a, var_b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    expected = 9 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0
    assert frechet_distance(mean_a, torch.diag(var_a), mean_b, torch.diag(var_b)) == pytest.approx(expected, rel=1e-12)


def test_shifted_gaussian_samples_approach_the_closed_form():
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(200_000, 2, generator=generator, dtype=torch.float64)
    b = torch.randn(200_000, 2, generator=generator, dtype=torch.float64) * 2 + torch.tensor([1.0, -1.0], dtype=torch.float64)
    # closed form: ||(1,-1)||^2 + 2 * (1 - 2)^2 = 4
    assert frechet_distance(*gaussian_fit(a), *gaussian_fit(b)) == pytest.approx(4.0, abs=0.03)


def test_full_covariances_agree_with_an_independent_scipy_computation():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(400, 8)), rng.normal(size=(500, 8)) @ rng.normal(size=(8, 8)) + 0.5
    mu_x, mu_y, cov_x, cov_y = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(cov_x @ cov_y).real
    expected = float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x + cov_y - 2 * root))
    mine = frechet_distance(*gaussian_fit(torch.from_numpy(x)), *gaussian_fit(torch.from_numpy(y)))
    assert mine == pytest.approx(expected, rel=1e-9)


def test_agrees_with_torchmetrics_under_the_same_feature_network():
    torchmetrics_fid = pytest.importorskip("torchmetrics.image.fid")
    torch.manual_seed(3)
    network = PenultimateFeatures(load_model("vgg-mnist"))
    real = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    fake = (real + 0.3 * torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(5))).clamp(0, 1)
    metric = torchmetrics_fid.FrechetInceptionDistance(feature=network, normalize=True)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    theirs = float(metric.compute())
    mine = fid_score(real, fake, network).fid
    assert mine > 1.0
    assert mine == pytest.approx(theirs, rel=1e-4)


def test_baseline_uses_a_real_subset_of_the_generated_size():
    class Mean(nn.Module):
        num_features = 2

        def forward(self, images):
            return torch.stack([images.mean(dim=(1, 2, 3)), images.amax(dim=(1, 2, 3))], dim=1)

    generator = torch.Generator().manual_seed(6)
    reference, other = torch.rand(50, 1, 4, 4, generator=generator), torch.rand(200, 1, 4, 4, generator=generator)
    generated = torch.zeros(40, 1, 4, 4)
    generated[:20] = 1.0
    scores = fid_with_baseline(reference, other, generated, Mean(), "mean")
    assert scores["real_vs_real"].n_generated == 40 and scores["generated"].n_generated == 40
    assert scores["real_vs_real"].fid < scores["generated"].fid
    assert scores["generated"].feature_network == "mean"


def test_penultimate_features_are_the_input_of_the_last_linear_layer():
    card = load_model("vgg-mnist")
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(7))
    features = PenultimateFeatures(card)(images)
    with torch.inference_mode():
        logits = card.model(card.preprocess(images))
        from_features = card.model.classifier[-1](features)
    torch.testing.assert_close(from_features, logits)
    assert features.shape == (3, 128)
