"""The unified explanation layer: normalisation of each explanation kind (exact values), the bundle's JSON round
trip, its builders for a real image and a GAN sample, and the provenance they record."""

import dataclasses

import pytest
import torch

from tests.conftest import train_tiny_gan
from xai_core import explain, explainers, load_dataset, load_model
from xai_core.attribution.base import NotApplicable
from xai_core.attribution.tcav import ConceptScore, TCAVResult
from xai_core.generative import dcgan
from xai_core.generative.dcgan import gan_info, load_gan, sample_latents
from xai_core.generative.latent import latent_sensitivity
from xai_core.metrics.badges import image_badges
from xai_core.models import model_info, sha256_of
from xai_core.models.checkpoints import DEFAULT_CHECKPOINT_DIR
from xai_core.reports.bundle import (
    ExplanationBundle,
    bundle_for_generated,
    bundle_for_image,
    normalise_concept_scores,
    normalise_latent_sensitivity,
    normalise_map,
    tensor_sha256,
)
from xai_core.reports.charts import top_k_figure

GAN_ID = "test-bundle-cdcgan"


@pytest.fixture(scope="module")
def tiny_gan(tmp_path_factory, one_torch_thread):
    """A class-conditional MNIST DCGAN trained for one epoch into a temporary checkpoint directory."""
    directory = tmp_path_factory.mktemp("gan")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(directory))
        dcgan.load_gan.cache_clear()
        train_tiny_gan(directory, GAN_ID)
        yield directory
    dcgan.load_gan.cache_clear()


@pytest.fixture(scope="module")
def card():
    return load_model("vgg-mnist")


@pytest.fixture(scope="module")
def digit():
    image, label, mask = load_dataset("mnist", "test")[3]
    return image, label, mask


# ---------------------------------------------------------------- normalisation


def test_a_map_is_min_max_scaled_and_a_constant_map_becomes_zero():
    assert torch.equal(normalise_map(torch.tensor([[0.0, 2.0], [4.0, 8.0]])), torch.tensor([[0.0, 0.25], [0.5, 1.0]]))
    assert torch.equal(normalise_map(torch.tensor([[-1.0, 1.0], [0.0, 3.0]])), torch.tensor([[0.0, 0.5], [0.25, 1.0]]))
    assert torch.equal(normalise_map(torch.zeros(3, 3)), torch.zeros(3, 3))
    assert torch.equal(normalise_map(torch.full((2, 2), 3.0)), torch.zeros(2, 2))


def test_maps_are_normalised_one_by_one_and_resized_to_the_common_size():
    batch = torch.stack([torch.tensor([[0.0, 4.0]]), torch.tensor([[10.0, 20.0]])])[:, None]  # [2,1,1,2]
    out = normalise_map(batch, size=(1, 4))
    # bilinear, align_corners=False: samples at x = 0, 0.25, 0.75, 1 of the two pixels
    assert out.shape == (2, 1, 1, 4)
    assert torch.allclose(out[:, 0, 0], torch.tensor([[0.0, 0.25, 0.75, 1.0], [0.0, 0.25, 0.75, 1.0]]), atol=1e-7)
    with pytest.raises(ValueError, match="NaN"):
        normalise_map(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"\[N,1,H,W\] or \[H,W\]"):
        normalise_map(torch.zeros(2, 3, 4))


def test_concept_scores_are_centred_on_the_random_concepts():
    scores = normalise_concept_scores({"thick": 0.9, "slanted": 0.3}, [0.4, 0.5, 0.6], {"thick": 0.001}, layer="conv3", target="7")
    assert [s.concept for s in scores] == ["thick", "slanted"]
    assert scores[0].score == 0.9 and scores[0].random_mean == pytest.approx(0.5, abs=1e-15)
    assert scores[0].centred == pytest.approx(0.4, abs=1e-15) and scores[1].centred == pytest.approx(-0.2, abs=1e-15)
    assert scores[0].significant() is True and scores[1].significant() is None
    assert scores[0].layer == "conv3" and scores[0].target == "7"
    with pytest.raises(ValueError, match="share in"):
        normalise_concept_scores({"big": 1.5}, [0.5])
    with pytest.raises(ValueError, match="random concept"):
        normalise_concept_scores({"big": 0.5}, [])


def test_latent_sensitivities_become_shares_and_ranks():
    shares, ranks = normalise_latent_sensitivity(torch.tensor([1.0, 3.0, 0.0, 4.0]))
    assert torch.equal(shares, torch.tensor([0.125, 0.375, 0.0, 0.5], dtype=torch.float64))
    assert torch.equal(ranks, torch.tensor([3, 2, 4, 1]))
    _, tied = normalise_latent_sensitivity(torch.tensor([2.0, 2.0, 1.0]))
    assert torch.equal(tied, torch.tensor([1, 2, 3]))  # ties: lower dimension first
    zero_shares, zero_ranks = normalise_latent_sensitivity(torch.zeros(3))
    assert torch.equal(zero_shares, torch.zeros(3, dtype=torch.float64)) and torch.equal(zero_ranks, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="non-negative"):
        normalise_latent_sensitivity(torch.tensor([1.0, -1.0]))


# ---------------------------------------------------------------- bundle


def test_add_map_normalises_to_the_bundle_size_and_scores_carry_their_direction():
    bundle = ExplanationBundle(map_size=(2, 2))
    kept = bundle.add_map("grad_cam", torch.tensor([[[[0.0, 2.0], [4.0, 8.0]]]]))
    assert torch.equal(kept, torch.tensor([[0.0, 0.25], [0.5, 1.0]]))
    assert bundle.add_map("saliency", torch.zeros(1, 4, 4)).shape == (2, 2)
    (drop,) = bundle.add_scores({"average_drop": 12.5}, method="grad_cam")
    assert (drop.key, drop.label, drop.family, drop.higher_is_better, drop.unit) == (
        "original/grad_cam/average_drop",
        "Average drop",
        "faithfulness",
        False,
        "%",
    )
    assert bundle.add_scores({"mask_dice": 0.5}, method="grad_cam")[0].higher_is_better is True
    with pytest.raises(KeyError, match="add_score"):
        bundle.add_scores({"made_up": 1.0})
    with pytest.raises(ValueError, match="subject"):
        bundle.add_map("grad_cam", torch.zeros(2, 2), subject="other")


def test_a_tcav_result_enters_with_its_adjusted_p_values():
    result = TCAVResult(
        model_id="vgg-glyphs",
        layer="features.7",
        target=2,
        target_class="C",
        concepts=[
            ConceptScore("thick", [0.8, 1.0], [0.1, 0.1], [0.9, 0.9], 0.001, 0.002, True),
            ConceptScore("slanted", [0.5, 0.5], [0.0, 0.0], [0.6, 0.6], 0.4, 0.8, False),
        ],
        random_run_scores=[0.5, 0.3],
        random_run_magnitudes=[0.0, 0.0],
        alpha=0.05,
        bonferroni=True,
        seed=0,
        n_class_images=20,
        concept_set_sizes={"thick": 20, "slanted": 20},
        random_set_size=20,
    )
    bundle = ExplanationBundle()
    thick, slanted = bundle.add_tcav_result(result)
    assert (thick.concept, thick.score, thick.random_mean, thick.p_value, thick.layer, thick.target) == (
        "thick",
        pytest.approx(0.9),
        pytest.approx(0.4),
        0.002,
        "features.7",
        "C",
    )
    assert thick.centred == pytest.approx(0.5) and slanted.centred == pytest.approx(0.1) and slanted.significant() is False
    assert bundle.provenance["config"]["tcav"][0]["random_sets"] == 2


def test_an_image_bundle_holds_maps_badges_and_the_manifest_provenance(card, digit):
    image, label, mask = digit
    bundle = bundle_for_image(card, image, None, ["grad_cam", "saliency"], seed=0, mask=mask, dataset="mnist", index=3, command="pytest")
    predicted = card.predict(image)[0].label
    assert bundle.targets == {"original": predicted} and predicted == label
    assert bundle.map_size == (32, 32) and set(bundle.maps["original"]) == {"grad_cam", "saliency"}
    maps = explain(card, image, ["grad_cam", "saliency"], predicted)
    for method, kept in bundle.maps["original"].items():
        assert kept.shape == (32, 32) and kept.min() == 0.0 and kept.max() == 1.0
        assert torch.allclose(kept, normalise_map(maps[method][0, 0]), atol=1e-6)
    badges = image_badges(card, image, maps, predicted, mask)
    for method, values in badges.items():
        for name, value in values.items():
            assert bundle.scores[f"original/{method}/{name}"].value == pytest.approx(value, abs=1e-6)
    assert bundle.scores["original/grad_cam/deletion_auc"].higher_is_better is False
    assert bundle.scores["original/target_probability"].value == pytest.approx(bundle.predictions["original"][0]["probability"])

    provenance = bundle.provenance
    checkpoint_sha = sha256_of(DEFAULT_CHECKPOINT_DIR / model_info("vgg-mnist")["file"])
    assert provenance["model"]["id"] == "vgg-mnist" and provenance["model"]["sha256"] == checkpoint_sha == model_info("vgg-mnist")["sha256"]
    assert provenance["data"]["image_sha256"] == tensor_sha256(image.float())
    assert provenance["data"]["dataset_sha256"] == tensor_sha256(load_dataset("mnist", "test").images)
    assert (provenance["data"]["dataset"], provenance["data"]["index"], provenance["data"]["source"]) == ("mnist", 3, "mnist test #3")
    assert provenance["seed"] == 0 and provenance["command"] == "pytest"
    assert provenance["versions"]["torch"] == torch.__version__ and "captum" in provenance["versions"]
    assert provenance["config"]["methods"] == ["grad_cam", "saliency"] and "gan" not in provenance


def test_a_center_crop_model_is_reported_over_the_part_of_the_image_it_sees(card, digit):
    """The report draws the maps over the original: under center_crop that is the centre crop, and the mask is
    scored over the same region; the provenance still names the whole image."""
    image, _, mask = digit
    wide, wide_mask = torch.nn.functional.pad(image, (8, 8), value=0.5), torch.nn.functional.pad(mask, (8, 8))  # [1, 28, 44]
    cropping = dataclasses.replace(card, resize_policy="center_crop")
    bundle = bundle_for_image(cropping, wide, None, ["grad_cam"], mask=wide_mask)
    assert torch.equal(bundle.images["original"], image)  # the 28x28 centre of the 28x44 image
    target = bundle.targets["original"]
    expected = image_badges(cropping, wide, explain(cropping, wide, ["grad_cam"], target), target, mask)
    assert bundle.scores["original/grad_cam/mask_dice"].value == pytest.approx(expected["grad_cam"]["mask_dice"], abs=1e-6)
    assert bundle.provenance["data"]["image_sha256"] == tensor_sha256(wide.float())


def test_a_method_undefined_on_the_model_is_recorded_not_raised(card, digit, monkeypatch):
    original = explainers.build_explainer

    class WithoutReLU:
        def attribute(self, inputs, target):
            raise NotApplicable("the model has no ReLU")

    def explainer_without_guided_backprop(method, card, on_progress=None):
        return WithoutReLU() if method == "guided_backprop" else original(method, card, on_progress)

    monkeypatch.setattr(explainers, "build_explainer", explainer_without_guided_backprop)
    bundle = bundle_for_image(card, digit[0], 1, ["grad_cam", "guided_backprop"])
    assert list(bundle.maps["original"]) == ["grad_cam"] and bundle.targets["original"] == 1
    assert bundle.not_applicable == {"original": {"guided_backprop": "the model has no ReLU"}}
    assert "original/guided_backprop/average_drop" not in bundle.scores


def test_a_generated_sample_adds_its_maps_sensitivities_and_gan_provenance(card, digit, tiny_gan, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tiny_gan))
    bundle = bundle_for_image(card, digit[0], None, ["grad_cam"], dataset="mnist", index=3)
    bundle = bundle_for_generated(card, GAN_ID, None, 4, ["grad_cam"], gan_seed=5, bundle=bundle)
    generator = load_gan(GAN_ID)
    latent = sample_latents(1, 8, 5)
    assert torch.equal(bundle.latent, latent[0]) and bundle.generated_label == 4
    with torch.no_grad():
        expected = generator(latent, torch.tensor([4]))[0]
    assert torch.equal(bundle.images["generated"], expected)
    assert bundle.targets == {"original": bundle.targets["original"], "generated": 4}  # the GAN shares the model's classes
    assert set(bundle.maps) == {"original", "generated"} and list(bundle.maps["generated"]) == ["grad_cam"]
    assert "generated/grad_cam/average_drop" in bundle.scores

    exact = latent_sensitivity(lambda z: generator(z, torch.tensor([4])), latent)
    shares = bundle.latent_sensitivity
    assert torch.allclose(shares.sensitivity, exact.sensitivity.double())
    assert shares.shares.sum().item() == pytest.approx(1.0) and sorted(shares.ranks.tolist()) == list(range(1, 9))
    assert list(shares.pixel_maps) == shares.top(4) and all(m.shape == (28, 28) for m in shares.pixel_maps.values())

    gan = bundle.provenance["gan"]
    assert gan["id"] == GAN_ID and gan["sha256"] == gan_info(GAN_ID)["sha256"] == sha256_of(tiny_gan / f"{GAN_ID}.safetensors")
    assert bundle.provenance["config"]["gan_seed"] == 5 and bundle.provenance["config"]["label"] == 4
    assert bundle.captions["generated"] == f"{GAN_ID}, seed 5, class 4"


def test_a_generated_sample_checks_its_class_and_model(card, tiny_gan, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tiny_gan))
    with pytest.raises(ValueError, match="class-conditional"):
        bundle_for_generated(card, GAN_ID, None, None)
    with pytest.raises(ValueError, match=r"class must be in 0..9"):
        bundle_for_generated(card, GAN_ID, None, 10)
    with pytest.raises(ValueError, match="8 values"):
        bundle_for_generated(card, GAN_ID, torch.zeros(5), 1)
    other = bundle_for_generated(card, GAN_ID, None, 1, [])
    with pytest.raises(ValueError, match="explains vgg-mnist, not resnet-mnist"):
        bundle_for_generated(load_model("resnet-mnist"), GAN_ID, None, 1, [], bundle=other)


def test_json_round_trip_is_exact(card, digit, tiny_gan, monkeypatch):
    monkeypatch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(tiny_gan))
    bundle = bundle_for_image(card, digit[0], None, ["grad_cam"], mask=digit[2], dataset="mnist", index=3)
    bundle_for_generated(card, GAN_ID, None, 2, ["grad_cam"], bundle=bundle)
    bundle.add_concept_scores({"thick": 0.75}, [0.5, 0.25], {"thick": 0.01}, "features.3", "2")
    bundle.add_chart("Top predictions", top_k_figure([]))
    text = bundle.to_json()
    restored = ExplanationBundle.from_json(text)
    assert restored.to_json() == text
    assert torch.equal(restored.images["original"], bundle.images["original"])
    assert torch.equal(restored.maps["generated"]["grad_cam"], bundle.maps["generated"]["grad_cam"])
    assert torch.equal(restored.latent_sensitivity.ranks, bundle.latent_sensitivity.ranks)
    assert restored.latent_sensitivity.ranks.dtype == torch.int64 and restored.map_size == (32, 32)
    assert restored.scores == bundle.scores and restored.concept_scores == bundle.concept_scores
    assert restored.provenance == bundle.provenance and restored.charts["Top predictions"].layout.title.text == "Top predictions"
    with pytest.raises(ValueError, match="not an explanation bundle"):
        ExplanationBundle.from_json('{"format": "something else"}')
