"""Synthetic augmentation runs both conditions per seed; the bias audit compares distributions; the
explainability score is the documented weighted mean and its GAN parts are exact on a linear generator."""

import pytest
import torch
from torch import nn

from xai_core import load_model
from xai_core.generative.dcgan import DCGANGenerator
from xai_core.metrics.augmentation import (
    AUDIT_METRICS,
    AugmentationSettings,
    bias_audit,
    run_augmentation,
    summarise_augmentation,
    synthetic_training_set,
)
from xai_core.metrics.explainability_score import ScoreRow, explainability_score, sensitivity_parts, summarise_scores


@pytest.fixture(scope="module")
def tiny_conditional_gan():
    torch.manual_seed(0)
    return DCGANGenerator(latent_dim=8, channels=1, image_size=28, num_classes=10, width=8).eval()


def test_synthetic_training_set_is_balanced_and_seeded(tiny_conditional_gan):
    images, labels = synthetic_training_set(tiny_conditional_gan, 30, seed=4)
    assert images.shape == (30, 1, 28, 28) and torch.bincount(labels).tolist() == [3] * 10
    torch.testing.assert_close(images, synthetic_training_set(tiny_conditional_gan, 30, seed=4)[0])
    with pytest.raises(ValueError, match="class-conditional"):
        synthetic_training_set(DCGANGenerator(latent_dim=8, image_size=28, width=8), 10, seed=0)


def test_augmentation_trains_both_conditions_on_the_same_real_subset(tiny_conditional_gan, one_torch_thread):
    steps = []
    rows = run_augmentation(
        AugmentationSettings("mnist", "tiny", seeds=(0,), real_images=120, synthetic_images=40, epochs=1),
        tiny_conditional_gan,
        progress=lambda f, m: steps.append(f),
    )
    assert [(r["condition"], r["n_real"], r["n_synthetic"]) for r in rows] == [("real", 120, 0), ("real + GAN", 120, 40)]
    assert all(0 <= r["test_accuracy"] <= 1 for r in rows) and steps[-1] == 1.0


def test_summary_gives_mean_and_sample_std_per_condition():
    rows = [{"condition": "real", "seed": s, "test_accuracy": a} for s, a in enumerate((0.9, 0.8, 0.7))]
    rows.append({"condition": "real + GAN", "seed": 0, "test_accuracy": 0.5})
    summary = summarise_augmentation(rows)
    assert summary[0]["condition"] == "real" and summary[0]["accuracy_mean"] == pytest.approx(0.8)
    assert summary[0]["accuracy_std"] == pytest.approx(0.1)  # sqrt((0.01 + 0 + 0.01) / (3 - 1))
    assert summary[1] == {"condition": "real + GAN", "accuracy_mean": 0.5, "accuracy_std": 0.0, "seeds": 1}


def test_bias_audit_reports_every_metric_for_every_class(tiny_conditional_gan, one_torch_thread):
    rows = bias_audit(load_model("vgg-mnist"), tiny_conditional_gan, "mnist", per_class=6)
    assert len(rows) == 10 * len(AUDIT_METRICS)
    confidence = [r for r in rows if r["metric"] == "confidence"]
    # the real test digits are classified confidently; an untrained generator's blobs are not
    assert sum(r["real_mean"] > r["synthetic_mean"] for r in confidence) >= 8
    assert all(0 <= r["p_value"] <= 1 and 0 <= r["ks_statistic"] <= 1 for r in rows)


def test_score_is_the_documented_weighted_mean():
    parts = {"fidelity": 1.0, "localisation": 0.5, "robustness": 0.0}
    assert explainability_score(parts) == pytest.approx(100 * (0.4 + 0.15) / 1.0)
    assert explainability_score(parts, human_preference=1.0) == pytest.approx(100 * (0.4 + 0.15 + 0.25) / 1.25)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        explainability_score({"fidelity": 1.2, "localisation": 0.5, "robustness": 0.5})


def test_summarise_scores_per_system():
    rows = [ScoreRow("CNN only", s, {"fidelity": f, "localisation": 0.5, "robustness": 0.5}) for s, f in ((0, 1.0), (1, 0.0))]
    (summary,) = summarise_scores(rows)
    assert summary["score_mean"] == pytest.approx(50.0) and summary["score_std"] == pytest.approx(
        20 * 2**0.5
    )  # scores 70 and 30: sqrt(2 * 20**2 / (2 - 1))
    assert summary["fidelity_mean"] == 0.5 and summary["localisation_std"] == 0.0


class LinearGenerator(nn.Module):
    """G(z) = 0.01 W z + b as one 2x2 image: exact first-order predictions; pixels 0 and 2 stay bright
    (foreground) and carry every latent's effect, pixels 1 and 3 stay dark."""

    latent_dim, num_classes, conditional = 3, 0, False

    def forward(self, latents, labels=None):
        weight = torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [3.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
        return 0.01 * (latents @ weight.T).view(-1, 1, 2, 2) + torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2)


def test_gan_parts_of_a_linear_generator_are_exact():
    parts = sensitivity_parts(LinearGenerator(), samples=16, top_k=2)
    assert parts["fidelity"] == pytest.approx(1.0, abs=1e-5)  # float32 round-off only
    assert parts["robustness"] == pytest.approx(1.0)
    assert parts["localisation"] == pytest.approx(1.0)
