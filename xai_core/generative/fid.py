"""Frechet distance between Gaussian fits of features (FID; Heusel et al., NeurIPS 2017), in float64.

FID = ||mu_r - mu_g||^2 + tr(S_r + S_g - 2 (S_r S_g)^(1/2)). The trace of the matrix square root is
computed from the eigenvalues of the symmetric PSD matrix S_r^(1/2) S_g S_r^(1/2), which has the
same spectrum as S_r S_g and avoids the complex round-off of a general ``sqrtm``.

Inception weights cannot be downloaded here, so the default feature network is the domain CNN's
penultimate layer (the input of its last Linear layer); any ``nn.Module`` mapping images in [0, 1]
to Tensor[N, F] can be passed instead (unified XAI framework paper §4.1, DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..attribution.hooks import record_input
from ..models.card import ModelCard


class PenultimateFeatures(nn.Module):
    """images Tensor[N, C, H, W] in [0, 1] -> the classifier's penultimate features Tensor[N, F]
    (the input of its last ``nn.Linear``), after the card's own preprocessing."""

    def __init__(self, card: ModelCard):
        super().__init__()
        self.card = card
        linears = [m for m in card.model.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError(f"{card.id} has no Linear layer to read penultimate features from")
        self.last_linear = linears[-1]
        self.num_features = self.last_linear.in_features

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        with record_input(self.last_linear) as inputs:
            self.card.model(self.card.preprocess(images))
        return inputs[-1].flatten(start_dim=1)


@torch.inference_mode()
def extract_features(network: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Features Tensor[N, F] float64 of images Tensor[N, C, H, W] in [0, 1], batch by batch."""
    was_training = network.training
    network.eval()
    try:
        chunks = [network(images[start : start + batch_size]).double() for start in range(0, len(images), batch_size)]
    finally:
        network.train(was_training)
    return torch.cat(chunks)


def gaussian_fit(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean Tensor[F], unbiased covariance Tensor[F, F]) of features Tensor[N, F], in float64."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need features [N >= 2, F], got {tuple(features.shape)}")
    features = features.double()
    return features.mean(dim=0), torch.cov(features.T).reshape(features.shape[1], features.shape[1])


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def frechet_distance(mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)) in float64."""
    mean_a, cov_a, mean_b, cov_b = (t.double() for t in (mean_a, cov_a, mean_b, cov_b))
    root_a = _psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    distance = (mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return float(distance.clamp(min=0))


@dataclass
class FIDResult:
    fid: float
    n_real: int
    n_generated: int
    feature_dim: int
    feature_network: str

    def as_dict(self) -> dict:
        return {
            "fid": round(self.fid, 4),
            "n_real": self.n_real,
            "n_generated": self.n_generated,
            "feature_dim": self.feature_dim,
            "feature_network": self.feature_network,
        }


def fid_score(real: torch.Tensor, generated: torch.Tensor, network: nn.Module, network_name: str = "") -> FIDResult:
    """FID between two image sets Tensor[N, C, H, W] in [0, 1] under the feature ``network``."""
    real_features, generated_features = extract_features(network, real), extract_features(network, generated)
    distance = frechet_distance(*gaussian_fit(real_features), *gaussian_fit(generated_features))
    name = network_name or getattr(getattr(network, "card", None), "id", type(network).__name__)
    return FIDResult(distance, len(real), len(generated), int(real_features.shape[1]), name)


def seeded_subset(size: int, count: int, seed: int) -> torch.Tensor:
    """Indices Tensor[min(count, size)] of a seeded random subset of ``range(size)``: how FID draws its real images."""
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:count]


def fid_with_baseline(
    reference: torch.Tensor, other_real: torch.Tensor, generated: torch.Tensor, network: nn.Module, network_name: str = "", seed: int = 0
) -> dict[str, FIDResult]:
    """``generated`` vs the ``reference`` real set, and beside it the real-vs-real baseline: another real
    set (e.g. training images, randomly subsampled to ``len(generated)``) vs the same reference.
    Equal sample sizes keep the two figures comparable (FID is biased by n)."""
    order = seeded_subset(len(other_real), len(generated), seed)
    return {
        "generated": fid_score(reference, generated, network, network_name),
        "real_vs_real": fid_score(reference, other_real[order], network, network_name),
    }
