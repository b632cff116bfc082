"""explain_image: the one call behind the Explain page, the explanation bundle and ``python -m xai_core explain``."""

import pytest
import torch

from xai_core import explainers, load_dataset, load_model
from xai_core.attribution.base import NotApplicable
from xai_core.explainers import explain, explain_image
from xai_core.metrics.badges import image_badges
from xai_core.models.checkpoints import CheckpointError


@pytest.fixture(scope="module")
def card():
    return load_model("vgg-mnist")


@pytest.fixture(scope="module")
def digit():
    image, label, _ = load_dataset("mnist", "test")[0]
    return image, label


def test_predictions_target_and_maps_are_those_of_the_parts(card, digit):
    image, _ = digit
    result = explain_image(card, image, ["grad_cam", "saliency"])
    assert result.predictions == card.predict(image, k=5)
    assert result.target == result.predictions[0].label
    assert result.target_probability == pytest.approx(result.predictions[0].probability, abs=1e-7)
    for method in ("grad_cam", "saliency"):
        assert torch.equal(result.maps[method], explain(card, image, [method], result.target)[method])
    assert result.not_applicable == {} and result.badges == {}


def test_a_chosen_target_is_explained_and_a_bad_one_refused(card, digit):
    image, _ = digit
    result = explain_image(card, image, ["grad_cam"], target=3)
    assert result.target == 3
    assert result.target_probability == pytest.approx(float(card.probabilities(image)[0, 3]), abs=1e-7)
    assert torch.equal(result.maps["grad_cam"], explain(card, image, ["grad_cam"], 3)["grad_cam"])
    with pytest.raises(ValueError, match=r"target must be in 0\.\.9, got 10"):
        explain_image(card, image, ["grad_cam"], target=10)


def test_inapplicable_methods_and_missing_weights_become_reasons(card, digit, monkeypatch):
    image, _ = digit
    original = explainers.build_explainer

    class Inapplicable:
        def attribute(self, inputs, target):
            raise NotApplicable("the model has no ReLU")

    def failing(method, card, on_progress=None):
        if method == "guided_backprop":
            return Inapplicable()
        if method == "lsft":
            raise CheckpointError("lsft-symbols.safetensors is missing")
        return original(method, card, on_progress)

    monkeypatch.setattr(explainers, "build_explainer", failing)
    result = explain_image(card, image, ["guided_backprop", "grad_cam", "lsft"])
    assert list(result.maps) == ["grad_cam"]
    assert result.not_applicable == {
        "guided_backprop": "the model has no ReLU",
        "lsft": "its weights cannot be loaded (lsft-symbols.safetensors is missing)",
    }


def test_badges_score_the_maps_with_the_mask_and_progress_reaches_one(card, digit):
    image, _ = digit
    mask = (image > 0.5).float()
    steps = []
    result = explain_image(
        card,
        image,
        ["grad_cam", "saliency"],
        mask=mask,
        badges=image_badges,
        on_progress=lambda fraction, message: steps.append((round(fraction, 4), message)),
    )
    assert steps == [(round(1 / 3, 4), "grad_cam"), (round(2 / 3, 4), "saliency"), (1.0, "scores")]
    assert result.badges == image_badges(card, image, result.maps, result.target, mask)
    assert {"average_drop", "deletion_auc", "mask_dice"} <= set(result.badges["grad_cam"])


def test_a_seed_makes_smoothgrad_repeatable(card, digit):
    image, _ = digit
    first = explain_image(card, image, ["smoothgrad"], seed=3).maps["smoothgrad"]
    assert torch.equal(first, explain_image(card, image, ["smoothgrad"], seed=3).maps["smoothgrad"])
    assert not torch.equal(first, explain_image(card, image, ["smoothgrad"], seed=4).maps["smoothgrad"])


def test_passes_order_the_methods_and_flag_score_cam_on_a_wide_layer(card):
    passes = explainers.method_passes(card, list(explainers.EXPLAINERS))
    last_conv_channels = [m for m in card.model.modules() if isinstance(m, torch.nn.Conv2d)][-1].out_channels
    assert passes == {
        "saliency": 1,
        "smoothgrad": 25,
        "integrated_gradients": 32,
        "guided_backprop": 1,
        "grad_cam": 1,
        "grad_cam_pp": 1,
        "score_cam": last_conv_channels + 1,
        "layer_cam": 1,
        "lsft": 2,
        "gsft": 2,
    }
    wide = torch.nn.Sequential(torch.nn.Conv2d(1, 300, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(300, 2))
    assert explainers.ScoreCAM(wide).passes(torch.zeros(1, 1, 8, 8)) == 301


def test_score_cam_reports_progress_within_its_method_and_keeps_its_map(card, digit):
    digit, _ = digit
    reported = []
    with_progress = explain_image(card, digit, ["grad_cam", "score_cam"], on_progress=lambda f, m: reported.append((round(f, 6), m)))
    plain = explain(card, digit, ["score_cam"])["score_cam"]
    assert torch.equal(with_progress.maps["score_cam"], plain)
    fractions = [f for f, _ in reported]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    within = [f for f, m in reported if m == "score_cam" and 0.5 < f < 1.0]
    channels = explainers.method_passes(card, ["score_cam"])["score_cam"] - 1
    batch = explainers.SCORE_CAM_BATCH
    assert len(within) == -(-channels // batch) - 1  # one report per batch of masks; the last one is the method's end


def test_seconds_per_pass_is_the_fastest_of_three_batched_passes_per_image(card, digit, monkeypatch):
    digit, _ = digit
    clock = iter([0.0, 3.2, 10.0, 12.0, 20.0, 21.6])  # three timed passes: 3.2, 2.0 and 1.6 s
    monkeypatch.setattr(explainers.time, "perf_counter", lambda: next(clock))
    assert explainers.seconds_per_pass(card, digit, batch=16) == pytest.approx(1.6 / 16)
